using System.Buffers.Binary;

namespace EdgeInfer.Sensors.Tests.Simulation;

/// <summary>
/// A BME280 register map: chip id, soft reset, the calibration block the binding reads at construction, ctrl_hum /
/// ctrl_meas / config, STATUS.measuring, and the burst data registers. A write of forced mode to ctrl_meas starts a
/// conversion that stays "measuring" for <see cref="ConversionStatusReads"/> STATUS reads, then latches the next raw
/// ADC triple from <see cref="Adc"/> and returns to sleep, as the chip does. The calibration is the worked example of
/// the Bosch BMP280 datasheet (section 8.2) for T and P, with typical humidity trims; its raw example
/// adc_T = 519888, adc_P = 415148 gives 25.08 °C and 100653 Pa.
/// </summary>
public sealed class SimulatedBme280 : SimulatedI2cDevice
{
    public const byte ChipId = 0xD0, Reset = 0xE0, CtrlHum = 0xF2, Status = 0xF3, CtrlMeas = 0xF4, ConfigRegister = 0xF5, PressMsb = 0xF7;

    private int _measuringReads;

    public SimulatedBme280(int address = 0x76)
        : base(address)
    {
        WriteCalibration();
        PowerOnReset();
    }

    /// <summary>Conversion n → raw 20-bit temperature, 20-bit pressure, 16-bit humidity.</summary>
    public Func<long, (int Temperature, int Pressure, int Humidity)> Adc { get; set; } = n => (519888 + (int)(n % 13 * 16), 415148 - (int)(n % 7 * 32), 30000 + (int)(n % 5 * 8));

    /// <summary>STATUS reads that still see "measuring" after a conversion starts.</summary>
    public int ConversionStatusReads { get; set; }

    /// <summary>Conversions keep returning the same raw values (a frozen chip).</summary>
    public bool Frozen { get; set; }

    public long Conversions { get; private set; }

    public byte Mode => (byte)(Registers[CtrlMeas] & 3);

    /// <summary>A brown-out: registers back to their reset values, calibration (NVM) kept.</summary>
    public void PowerOnReset()
    {
        Registers[CtrlHum] = 0;
        Registers[CtrlMeas] = 0;
        Registers[ConfigRegister] = 0;
        Registers[Status] = 0;
        Registers[PressMsb] = 0x80;
        Registers[PressMsb + 1] = 0;
        Registers[PressMsb + 2] = 0;
        Registers[PressMsb + 3] = 0x80;
        Registers[PressMsb + 4] = 0;
        Registers[PressMsb + 5] = 0;
        Registers[PressMsb + 6] = 0x80;
        Registers[PressMsb + 7] = 0;
        _measuringReads = 0;
    }

    protected override byte OnRead(byte register)
    {
        if (register == ChipId)
        {
            return 0x60;
        }

        if (register == Status)
        {
            if (_measuringReads > 0)
            {
                _measuringReads--;
                if (_measuringReads == 0)
                {
                    Complete();
                }

                return 0x08;
            }

            return 0x00;
        }

        return Registers[register];
    }

    protected override void OnWrite(byte register, byte value)
    {
        if (register == Reset)
        {
            if (value == 0xB6)
            {
                PowerOnReset();
            }

            return;
        }

        if (register is ChipId or Status || register is >= PressMsb and <= 0xFE || register is >= 0x88 and <= 0xA1 || register is >= 0xE1 and <= 0xE7)
        {
            return; // read-only
        }

        Registers[register] = value;
        if (register == CtrlMeas && (value & 3) is 1 or 2)
        {
            if (ConversionStatusReads > 0)
            {
                _measuringReads = ConversionStatusReads;
            }
            else
            {
                Complete();
            }
        }
    }

    private void Complete()
    {
        if (!Frozen)
        {
            var (t, p, h) = Adc(Conversions);
            Store20(PressMsb, p);
            Store20(PressMsb + 3, t);
            Registers[PressMsb + 6] = (byte)(h >> 8);
            Registers[PressMsb + 7] = (byte)h;
        }

        Conversions++;
        Registers[CtrlMeas] = (byte)(Registers[CtrlMeas] & ~3); // back to sleep
    }

    private void Store20(int register, int value)
    {
        Registers[register] = (byte)(value >> 12);
        Registers[register + 1] = (byte)(value >> 4);
        Registers[register + 2] = (byte)((value & 0xF) << 4);
    }

    private void WriteCalibration()
    {
        // dig_T1 (u16), dig_T2, dig_T3, dig_P1 (u16), dig_P2..dig_P9: little-endian 16-bit words from 0x88.
        int[] words = [27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000];
        for (int i = 0; i < words.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(Registers.AsSpan(0x88 + (2 * i)), (ushort)words[i]);
        }

        Registers[0xA1] = 75; // dig_H1
        BinaryPrimitives.WriteInt16LittleEndian(Registers.AsSpan(0xE1), 362); // dig_H2
        Registers[0xE3] = 0; // dig_H3
        // dig_H4 = 313 (0xE4 << 4 | 0xE5 & 0xF), dig_H5 = 50 (0xE6 << 4 | 0xE5 >> 4), dig_H6 = 30
        Registers[0xE4] = 313 >> 4;
        Registers[0xE5] = (byte)((313 & 0xF) | ((50 & 0xF) << 4));
        Registers[0xE6] = 50 >> 4;
        Registers[0xE7] = 30;
    }
}
