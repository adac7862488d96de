using System.Buffers.Binary;
using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.FilteringMode;
using Iot.Device.Bmxx80.PowerMode;

namespace EdgeInfer.Sensors.Drivers;

/// <summary>Set-up of a <see cref="Bme280Source"/>; applied once, at construction.</summary>
public sealed class Bme280Settings
{
    /// <summary>Oversampling of each measurement: 1, 2, 4, 8 or 16.</summary>
    public int Oversampling { get; init; } = 4;

    /// <summary>Consecutive identical raw triples (pressure, temperature, humidity) that count as a stuck sensor.</summary>
    public int StuckLimit { get; init; } = 10;
}

/// <summary>
/// A BME280 on an I2C bus: three channels temperature (°C), pressure (hPa), humidity (%RH).
/// <para>The sensor runs in forced mode, one conversion per sample, and this source keeps the protocol that makes
/// stale data impossible: a conversion is started after each read, and the next read first checks that a
/// conversion was started and has finished (STATUS.measuring clear). A failed start, a read during a conversion,
/// or a chip that lost its configuration (a brown-out reset leaves the data registers at their 0x80000 "skipped"
/// value) is reported as a fault, never as a value. The dotnet/iot <see cref="Bme280"/> binding does the set-up
/// (chip id, reset configuration, oversampling, forced mode, status); the compensation is the integer one of the
/// Bosch BME280 datasheet (section 4.2.3), applied to the one burst read, so the three channels come from the same
/// conversion. The binding's TryRead* methods are not used: each re-reads registers (the temperature three times
/// per sample), and they return UnitsNet quantities, whose static tables cost 5 MB of NativeAOT binary.</para>
/// <para>Ownership: the source owns the binding, and the <see cref="I2cDevice"/> when <c>shouldDispose</c> is true.</para>
/// </summary>
public sealed class Bme280Source : ISampleSource
{
    private const byte PressureMsbRegister = 0xF7;
    private const int RawLength = 8; // press[3], temp[3], hum[2]
    private const int SkippedValue20 = 0x80000;
    private const int SkippedValue16 = 0x8000;

    private static readonly string[] s_channels = ["temperature", "pressure", "humidity"];

    private readonly I2cDevice _device;
    private readonly bool _shouldDispose;
    private readonly Bme280 _binding;
    private readonly byte[] _register = [PressureMsbRegister];
    private readonly byte[] _raw = new byte[RawLength];
    private readonly byte[] _previous = new byte[RawLength];
    private readonly int _stuckLimit;
    private readonly Sampling _sampling;
    private readonly Calibration _calibration;
    private bool _hasPrevious;
    private int _repeats;
    private bool _conversionStarted;
    private bool _disposed;

    public Bme280Source(I2cDevice device, bool shouldDispose = true, Bme280Settings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        settings ??= new Bme280Settings();
        Sampling sampling = settings.Oversampling switch
        {
            1 => Sampling.UltraLowPower,
            2 => Sampling.LowPower,
            4 => Sampling.Standard,
            8 => Sampling.HighResolution,
            16 => Sampling.UltraHighResolution,
            _ => throw new ArgumentException($"oversampling {settings.Oversampling} is not one of 1, 2, 4, 8, 16", nameof(settings)),
        };
        if (settings.StuckLimit < 1)
        {
            throw new ArgumentException("the stuck limit must be at least 1", nameof(settings));
        }

        _device = device;
        _shouldDispose = shouldDispose;
        _stuckLimit = settings.StuckLimit;
        _sampling = sampling;

        // Checks the chip id (IOException when absent), reads the calibration, writes the default configuration.
        _binding = new Bme280(device);
        _calibration = Calibration.Read(device);
        Configure();
        StartConversion();
    }

    public IReadOnlyList<string> ChannelNames => s_channels;

    public bool ProvidesTimestamps => false;

    public SensorFault LastFault { get; private set; }

    /// <summary>Worst-case conversion time in milliseconds for the configured oversampling (from the binding's table).</summary>
    public int ConversionMilliseconds => _binding.GetMeasurementDuration();

    public bool TryRead(out Reading reading)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        reading = default;
        if (!_conversionStarted)
        {
            // The last start failed: whatever the data registers hold is an old conversion.
            return StartConversion() ? Fail(SensorFault.NotReady) : Fail(SensorFault.BusError);
        }

        try
        {
            if (_binding.ReadStatus().Measuring)
            {
                return Fail(SensorFault.NotReady);
            }

            _device.WriteRead(_register, _raw);
            SensorFault rawFault = CheckRaw();
            if (rawFault != SensorFault.None)
            {
                if (rawFault == SensorFault.OutOfRange)
                {
                    // Data registers at their reset value: the chip was reset and forgot its oversampling.
                    Configure();
                }

                _conversionStarted = false;
                StartConversion();
                return Fail(rawFault);
            }

            int adcP = (_raw[0] << 12) | (_raw[1] << 4) | (_raw[2] >> 4);
            int adcT = (_raw[3] << 12) | (_raw[4] << 4) | (_raw[5] >> 4);
            int adcH = (_raw[6] << 8) | _raw[7];
            int centiCelsius = _calibration.Temperature(adcT, out int tFine);
            long pressureQ24_8 = _calibration.Pressure(adcP, tFine);
            if (pressureQ24_8 == 0)
            {
                return Fail(SensorFault.OutOfRange);
            }

            float t = centiCelsius / 100f;
            float p = pressureQ24_8 / 25600f;
            float h = _calibration.Humidity(adcH, tFine) / 1024f;

            // The chip's specified operating range; anything outside is a failed conversion or a bad calibration.
            if (!(t is >= -40f and <= 85f) || !(p is >= 300f and <= 1100f) || !(h is >= 0f and <= 100f))
            {
                _conversionStarted = false;
                StartConversion();
                return Fail(SensorFault.OutOfRange);
            }

            reading.Set(0, t);
            reading.Set(1, p);
            reading.Set(2, h);
        }
        catch (TimeoutException)
        {
            return Fail(SensorFault.Timeout);
        }
        catch (IOException)
        {
            return Fail(SensorFault.BusError);
        }

        // This sample is good whether or not the next conversion starts; a failed start shows at the next read.
        _conversionStarted = false;
        StartConversion();
        LastFault = SensorFault.None;
        return true;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_shouldDispose)
        {
            _binding.Dispose();
        }
    }

    private SensorFault CheckRaw()
    {
        int pressure = (_raw[0] << 12) | (_raw[1] << 4) | (_raw[2] >> 4);
        int temperature = (_raw[3] << 12) | (_raw[4] << 4) | (_raw[5] >> 4);
        int humidity = (_raw[6] << 8) | _raw[7];
        if (pressure == SkippedValue20 || temperature == SkippedValue20 || humidity == SkippedValue16)
        {
            // The reset value of the data registers: the chip measured nothing (it was reset and lost its oversampling).
            return SensorFault.OutOfRange;
        }

        bool same = _hasPrevious && _raw.AsSpan().SequenceEqual(_previous);
        _raw.CopyTo(_previous, 0);
        _hasPrevious = true;
        _repeats = same ? _repeats + 1 : 0;
        return _repeats >= _stuckLimit ? SensorFault.Stuck : SensorFault.None;
    }

    /// <summary>Writes the oversampling (ctrl_hum before ctrl_meas, as the chip requires) through the binding's setters.</summary>
    private void Configure()
    {
        _binding.HumiditySampling = _sampling;
        _binding.TemperatureSampling = _sampling;
        _binding.PressureSampling = _sampling;
        _binding.FilterMode = Bmx280FilteringMode.Off;
    }

    private bool StartConversion()
    {
        try
        {
            _binding.SetPowerMode(Bmx280PowerMode.Forced);
            _conversionStarted = true;
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            _conversionStarted = false;
        }

        return _conversionStarted;
    }

    private bool Fail(SensorFault fault)
    {
        LastFault = fault;
        return false;
    }

    /// <summary>The factory trimming words (NVM registers 0x88–0xA1 and 0xE1–0xE7) and the datasheet's integer compensation.</summary>
    private readonly struct Calibration
    {
        private readonly ushort _t1;
        private readonly short _t2, _t3;
        private readonly ushort _p1;
        private readonly short _p2, _p3, _p4, _p5, _p6, _p7, _p8, _p9;
        private readonly byte _h1, _h3;
        private readonly short _h2, _h4, _h5;
        private readonly sbyte _h6;

        private Calibration(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            _t1 = BinaryPrimitives.ReadUInt16LittleEndian(a);
            _t2 = BinaryPrimitives.ReadInt16LittleEndian(a[2..]);
            _t3 = BinaryPrimitives.ReadInt16LittleEndian(a[4..]);
            _p1 = BinaryPrimitives.ReadUInt16LittleEndian(a[6..]);
            _p2 = BinaryPrimitives.ReadInt16LittleEndian(a[8..]);
            _p3 = BinaryPrimitives.ReadInt16LittleEndian(a[10..]);
            _p4 = BinaryPrimitives.ReadInt16LittleEndian(a[12..]);
            _p5 = BinaryPrimitives.ReadInt16LittleEndian(a[14..]);
            _p6 = BinaryPrimitives.ReadInt16LittleEndian(a[16..]);
            _p7 = BinaryPrimitives.ReadInt16LittleEndian(a[18..]);
            _p8 = BinaryPrimitives.ReadInt16LittleEndian(a[20..]);
            _p9 = BinaryPrimitives.ReadInt16LittleEndian(a[22..]);
            _h1 = a[25];
            _h2 = BinaryPrimitives.ReadInt16LittleEndian(b);
            _h3 = b[2];
            _h4 = (short)(((sbyte)b[3] << 4) | (b[4] & 0x0F));
            _h5 = (short)(((sbyte)b[5] << 4) | (b[4] >> 4));
            _h6 = (sbyte)b[6];
        }

        public static Calibration Read(I2cDevice device)
        {
            Span<byte> a = stackalloc byte[26];
            Span<byte> b = stackalloc byte[7];
            device.WriteRead([0x88], a);
            device.WriteRead([0xE1], b);
            return new Calibration(a, b);
        }

        /// <summary>Temperature in 0.01 °C; <paramref name="tFine"/> carries it to the other two.</summary>
        public int Temperature(int adc, out int tFine)
        {
            int var1 = (((adc >> 3) - (_t1 << 1)) * _t2) >> 11;
            int d = (adc >> 4) - _t1;
            int var2 = (((d * d) >> 12) * _t3) >> 14;
            tFine = var1 + var2;
            return ((tFine * 5) + 128) >> 8;
        }

        /// <summary>Pressure in Pa as Q24.8 (64-bit formula); 0 when the calibration would divide by zero.</summary>
        public long Pressure(int adc, int tFine)
        {
            long var1 = tFine - 128000L;
            long var2 = var1 * var1 * _p6;
            var2 += (var1 * _p5) << 17;
            var2 += (long)_p4 << 35;
            var1 = ((var1 * var1 * _p3) >> 8) + ((var1 * _p2) << 12);
            var1 = (((1L << 47) + var1) * _p1) >> 33;
            if (var1 == 0)
            {
                return 0;
            }

            long p = 1048576 - adc;
            p = (((p << 31) - var2) * 3125) / var1;
            var1 = (_p9 * (p >> 13) * (p >> 13)) >> 25;
            var2 = (_p8 * p) >> 19;
            return ((p + var1 + var2) >> 8) + ((long)_p7 << 4);
        }

        /// <summary>Relative humidity in %RH as Q22.10.</summary>
        public int Humidity(int adc, int tFine)
        {
            int v = tFine - 76800;
            int a = (((adc << 14) - (_h4 << 20) - (_h5 * v)) + 16384) >> 15;
            int c = (v * _h6) >> 10;
            int d = ((v * _h3) >> 11) + 32768;
            int e = ((c * d) >> 10) + 2097152;
            int b = ((e * _h2) + 8192) >> 14;
            v = a * b;
            v -= ((((v >> 15) * (v >> 15)) >> 7) * _h1) >> 4;
            v = Math.Clamp(v, 0, 419430400);
            return v >> 12;
        }
    }
}
