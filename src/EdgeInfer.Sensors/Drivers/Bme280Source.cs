using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.FilteringMode;
using Iot.Device.Bmxx80.PowerMode;
using UnitsNet;

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
/// (chip id, calibration, oversampling) and the compensation; its Read() is not used because it sleeps for the
/// conversion and allocates a result object per call.</para>
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

            if (!_binding.TryReadTemperature(out Temperature temperature)
                || !_binding.TryReadPressure(out Pressure pressure)
                || !_binding.TryReadHumidity(out RelativeHumidity humidity))
            {
                return Fail(SensorFault.OutOfRange);
            }

            float t = (float)temperature.DegreesCelsius;
            float p = (float)pressure.Hectopascals;
            float h = (float)humidity.Percent;

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
}
