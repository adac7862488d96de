using System.Buffers.Binary;
using System.Device.I2c;
using Iot.Device.Imu;

namespace EdgeInfer.Sensors.Drivers;

/// <summary>Set-up of an <see cref="Mpu6050Source"/>; applied once, at construction.</summary>
public sealed class Mpu6050Settings
{
    /// <summary>Full scale of the accelerometer in g: 2, 4, 8 or 16.</summary>
    public int AccelerometerRangeG { get; init; } = 4;

    /// <summary>Full scale of the gyroscope in °/s: 250, 500, 1000 or 2000.</summary>
    public int GyroscopeRangeDps { get; init; } = 500;

    /// <summary>
    /// Output data rate in Hz. The digital low-pass filter is switched on (1 kHz internal rate), so the rate is
    /// 1000 / (1 + SMPLRT_DIV) and must divide 1000 into a whole divider between 1 and 256.
    /// </summary>
    public int SampleRateHz { get; init; } = 50;

    /// <summary>Consecutive identical raw snapshots that count as a stuck sensor. Real MEMS noise makes even one exact repeat of all six axes implausible.</summary>
    public int StuckLimit { get; init; } = 1;
}

/// <summary>
/// An MPU-6050 accelerometer/gyroscope on an I2C bus: six channels ax, ay, az (g) and gx, gy, gz (°/s).
/// <para>The dotnet/iot <see cref="Mpu6050"/> binding does the set-up (reset, power-on, WHO_AM_I check, ranges and
/// low-pass filter, each verified by reading back). Samples are NOT read through the binding's GetAccelerometer /
/// GetGyroscopeReading: its scale getter reads SMPLRT_DIV over the bus on every call (and divides the scale by it),
/// and accelerometer and gyroscope come from two transfers that can straddle a sensor update. Instead one burst read
/// from INT_STATUS (0x3A) through GYRO_ZOUT_L (0x48) returns the data-ready flag and all six axes of the same
/// sample; the flag clears on read, so a sample is never returned twice (a read before the next sample is
/// <see cref="SensorFault.NotReady"/>, not stale data).</para>
/// <para>Ownership: the source owns the binding, and the <see cref="I2cDevice"/> when <c>shouldDispose</c> is true.</para>
/// </summary>
public sealed class Mpu6050Source : ISampleSource
{
    private const byte IntEnableRegister = 0x38;
    private const byte IntStatusRegister = 0x3A;
    private const byte DataReadyEnable = 0x01;
    private const int BurstLength = 15; // INT_STATUS, 6 accel, 2 temperature, 6 gyro
    private const int InternalRateHz = 1000;

    private static readonly string[] s_channels = ["ax", "ay", "az", "gx", "gy", "gz"];

    private readonly I2cDevice _device;
    private readonly bool _shouldDispose;
    private readonly Mpu6050 _binding;
    private readonly byte[] _register = [IntStatusRegister];
    private readonly byte[] _burst = new byte[BurstLength];
    private readonly byte[] _previous = new byte[12];
    private readonly float _gPerLsb;
    private readonly float _dpsPerLsb;
    private readonly int _stuckLimit;
    private bool _hasPrevious;
    private int _repeats;
    private bool _disposed;

    public Mpu6050Source(I2cDevice device, bool shouldDispose = true, Mpu6050Settings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        settings ??= new Mpu6050Settings();
        AccelerometerRange accelRange = settings.AccelerometerRangeG switch
        {
            2 => AccelerometerRange.Range02G,
            4 => AccelerometerRange.Range04G,
            8 => AccelerometerRange.Range08G,
            16 => AccelerometerRange.Range16G,
            _ => throw new ArgumentException($"accelerometer range {settings.AccelerometerRangeG} g is not one of 2, 4, 8, 16", nameof(settings)),
        };
        GyroscopeRange gyroRange = settings.GyroscopeRangeDps switch
        {
            250 => GyroscopeRange.Range0250Dps,
            500 => GyroscopeRange.Range0500Dps,
            1000 => GyroscopeRange.Range1000Dps,
            2000 => GyroscopeRange.Range2000Dps,
            _ => throw new ArgumentException($"gyroscope range {settings.GyroscopeRangeDps} °/s is not one of 250, 500, 1000, 2000", nameof(settings)),
        };
        int divider = settings.SampleRateHz > 0 ? InternalRateHz / settings.SampleRateHz : 0;
        if (divider < 1 || divider > 256 || divider * settings.SampleRateHz != InternalRateHz)
        {
            throw new ArgumentException($"sample rate {settings.SampleRateHz} Hz is not 1000 Hz divided by a whole number from 1 to 256", nameof(settings));
        }

        if (settings.StuckLimit < 1)
        {
            throw new ArgumentException("the stuck limit must be at least 1", nameof(settings));
        }

        _device = device;
        _shouldDispose = shouldDispose;
        _stuckLimit = settings.StuckLimit;

        // The binding's constructor resets the chip and checks WHO_AM_I (IOException when absent or wrong).
        _binding = new Mpu6050(device);

        // Bandwidth first: its setter rewrites GYRO_CONFIG from the range it caches, which would clobber a range set before it.
        // 20 Hz (DLPF_CFG 4) keeps the 1 kHz internal rate and removes what a 50 Hz stream would alias.
        _binding.GyroscopeBandwidth = GyroscopeBandwidth.Bandwidth0020Hz;
        _binding.AccelerometerRange = accelRange;
        _binding.GyroscopeRange = gyroRange;
        _binding.SampleRateDivider = (byte)(divider - 1);
        Span<byte> enable = [IntEnableRegister, DataReadyEnable];
        device.Write(enable);

        // The binding caches the ranges it verified; these getters do no I/O.
        _gPerLsb = RangeG(_binding.AccelerometerRange) / 32768f;
        _dpsPerLsb = RangeDps(_binding.GyroscopeRange) / 32768f;
    }

    public IReadOnlyList<string> ChannelNames => s_channels;

    public bool ProvidesTimestamps => false;

    public SensorFault LastFault { get; private set; }

    /// <summary>Samples read since construction (successful reads only).</summary>
    public long SamplesRead { get; private set; }

    public bool TryRead(out Reading reading)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        reading = default;
        try
        {
            _device.WriteRead(_register, _burst);
        }
        catch (TimeoutException)
        {
            return Fail(SensorFault.Timeout);
        }
        catch (IOException)
        {
            return Fail(SensorFault.BusError);
        }

        if ((_burst[0] & DataReadyEnable) == 0)
        {
            return Fail(SensorFault.NotReady);
        }

        ReadOnlySpan<byte> accel = _burst.AsSpan(1, 6);
        ReadOnlySpan<byte> gyro = _burst.AsSpan(9, 6);
        if (IsRepeat(accel, gyro))
        {
            return Fail(SensorFault.Stuck);
        }

        for (int axis = 0; axis < 3; axis++)
        {
            short a = BinaryPrimitives.ReadInt16BigEndian(accel[(2 * axis)..]);
            short g = BinaryPrimitives.ReadInt16BigEndian(gyro[(2 * axis)..]);

            // A value on the ADC rail is clipped: the true acceleration or rate lies somewhere beyond it.
            if (IsRail(a) || IsRail(g))
            {
                return Fail(SensorFault.OutOfRange);
            }

            reading.Set(axis, a * _gPerLsb);
            reading.Set(axis + 3, g * _dpsPerLsb);
        }

        SamplesRead++;
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

        // The binding disposes the device it was given; only let it when this source owns the device.
        if (_shouldDispose)
        {
            _binding.Dispose();
        }
    }

    private static bool IsRail(short value) => value is short.MinValue or short.MaxValue;

    private bool IsRepeat(ReadOnlySpan<byte> accel, ReadOnlySpan<byte> gyro)
    {
        Span<byte> previous = _previous;
        bool same = _hasPrevious && accel.SequenceEqual(previous[..6]) && gyro.SequenceEqual(previous[6..]);
        accel.CopyTo(previous);
        gyro.CopyTo(previous[6..]);
        _hasPrevious = true;
        _repeats = same ? _repeats + 1 : 0;
        return _repeats >= _stuckLimit;
    }

    private bool Fail(SensorFault fault)
    {
        LastFault = fault;
        return false;
    }

    private static float RangeG(AccelerometerRange range) => range switch
    {
        AccelerometerRange.Range02G => 2f,
        AccelerometerRange.Range04G => 4f,
        AccelerometerRange.Range08G => 8f,
        _ => 16f,
    };

    private static float RangeDps(GyroscopeRange range) => range switch
    {
        GyroscopeRange.Range0250Dps => 250f,
        GyroscopeRange.Range0500Dps => 500f,
        GyroscopeRange.Range1000Dps => 1000f,
        _ => 2000f,
    };
}
