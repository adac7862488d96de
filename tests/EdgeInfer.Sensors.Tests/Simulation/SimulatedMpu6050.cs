using System.Buffers.Binary;

namespace EdgeInfer.Sensors.Tests.Simulation;

/// <summary>
/// An MPU-6050 register map, enough for the dotnet/iot binding's set-up (reset, power management, WHO_AM_I, range
/// and filter registers read back) and for burst reads of INT_STATUS + data. Motion comes from
/// <see cref="Motion"/>: sample n → ax, ay, az (g), gx, gy, gz (°/s), converted to raw counts with the ranges the
/// driver configured (clipped to the int16 rails, as the ADC does).
/// <para>Each read of INT_STATUS with <see cref="AutoSample"/> latches a new sample first (a sensor always one period
/// ahead), unless <see cref="NotReadyReads"/> says the next reads find none. DATA_RDY clears on read.
/// <see cref="Frozen"/> keeps DATA_RDY asserting over unchanged data registers: the stuck-chip failure.</para>
/// </summary>
public sealed class SimulatedMpu6050 : SimulatedI2cDevice
{
    public const byte SmplrtDiv = 0x19, Config = 0x1A, GyroConfig = 0x1B, AccelConfig = 0x1C, IntEnable = 0x38,
        IntStatus = 0x3A, AccelXoutH = 0x3B, GyroXoutH = 0x43, PwrMgmt1 = 0x6B, WhoAmI = 0x75;

    private bool _dataReady;

    public SimulatedMpu6050(int address = 0x68, byte whoAmI = 0x68)
        : base(address)
    {
        WhoAmIValue = whoAmI;
        PowerOnReset();
    }

    public byte WhoAmIValue { get; }

    /// <summary>Sample index → six axis values in g and °/s.</summary>
    public Func<long, (float Ax, float Ay, float Az, float Gx, float Gy, float Gz)> Motion { get; set; } = DefaultMotion;

    public bool AutoSample { get; set; } = true;

    /// <summary>The next this many INT_STATUS reads find no new sample.</summary>
    public int NotReadyReads { get; set; }

    public bool Frozen { get; set; }

    /// <summary>Samples latched into the data registers so far.</summary>
    public long SamplesProduced { get; private set; }

    public float AccelRangeG => 2 << ((Registers[AccelConfig] >> 3) & 3);

    public float GyroRangeDps => 250 << ((Registers[GyroConfig] >> 3) & 3);

    public static (float, float, float, float, float, float) DefaultMotion(long n)
        => (0.01f * MathF.Sin(n * 0.3f), -0.02f + (0.001f * (n % 7)), 1f + (0.002f * (n % 5)), 0.5f * MathF.Cos(n * 0.2f), (n % 11) * 0.1f, -1.5f + (n % 3));

    /// <summary>Latches the next sample into the data registers and raises DATA_RDY.</summary>
    public void ProduceSample()
    {
        if (!Frozen)
        {
            var (ax, ay, az, gx, gy, gz) = Motion(SamplesProduced);
            float accel = 32768f / AccelRangeG;
            float gyro = 32768f / GyroRangeDps;
            Store(AccelXoutH, ax * accel);
            Store(AccelXoutH + 2, ay * accel);
            Store(AccelXoutH + 4, az * accel);
            Store(GyroXoutH, gx * gyro);
            Store(GyroXoutH + 2, gy * gyro);
            Store(GyroXoutH + 4, gz * gyro);
            SamplesProduced++;
        }

        _dataReady = true;
    }

    protected override byte OnRead(byte register)
    {
        if (register == IntStatus)
        {
            if (NotReadyReads > 0)
            {
                NotReadyReads--;
            }
            else if (AutoSample)
            {
                ProduceSample();
            }

            byte status = (byte)(_dataReady ? 0x01 : 0x00);
            _dataReady = false;
            return status;
        }

        return register == WhoAmI ? WhoAmIValue : Registers[register];
    }

    protected override void OnWrite(byte register, byte value)
    {
        if (register == PwrMgmt1 && (value & 0x80) != 0)
        {
            PowerOnReset();
            return;
        }

        if (register is IntStatus or WhoAmI || register is >= AccelXoutH and <= 0x48)
        {
            return; // read-only
        }

        Registers[register] = value;
    }

    private void PowerOnReset()
    {
        Array.Clear(Registers);
        Registers[PwrMgmt1] = 0x40; // SLEEP
        _dataReady = false;
    }

    private void Store(int register, float counts)
    {
        short raw = (short)Math.Clamp(MathF.Round(counts), short.MinValue, short.MaxValue);
        BinaryPrimitives.WriteInt16BigEndian(Registers.AsSpan(register, 2), raw);
    }
}
