using System.Device.I2c;
using EdgeInfer.Sensors;
using EdgeInfer.Sensors.Drivers;

namespace EdgeInfer.Device;

/// <summary>
/// Opens the configured sensor. Each driver sits behind its feature switch: in a build that does not name it, the
/// trimmer folds the check to false and removes the driver, its binding and whatever only they use.
/// </summary>
public static class SensorFactory
{
    /// <summary>Driver names this build carries, for messages.</summary>
    public static string Supported
    {
        get
        {
            string list = (SensorFeatures.IsMpu6050Supported ? "mpu6050 " : string.Empty) + (SensorFeatures.IsBme280Supported ? "bme280" : string.Empty);
            return list.Trim().Length == 0 ? "none" : list.Trim();
        }
    }

    /// <summary>Checks that this build has a driver for the configured type, before any I/O.</summary>
    public static void CheckSupported(SensorConfig sensor, string source)
    {
        ArgumentNullException.ThrowIfNull(sensor);
        string type = sensor.Type?.ToLowerInvariant() ?? string.Empty;
        bool known = type is "mpu6050" or "bme280";
        bool present = type switch
        {
            "mpu6050" => SensorFeatures.IsMpu6050Supported,
            "bme280" => SensorFeatures.IsBme280Supported,
            _ => false,
        };
        if (!known)
        {
            throw new ConfigException($"{source}: sensor.type '{sensor.Type}' is not a known sensor (mpu6050, bme280)");
        }

        if (!present)
        {
            throw new ConfigException($"{source}: this build of edgeinfer-device carries no {type} driver (it has: {Supported}); rebuild with -p:EdgeInferSensors={type}");
        }
    }

    /// <summary>Opens the sensor on its bus. Throws IOException when it is absent, ConfigException when the config is impossible.</summary>
    public static ISampleSource Open(SensorConfig sensor, double sampleRateHz, string source)
    {
        CheckSupported(sensor, source);
        string type = sensor.Type!.ToLowerInvariant();
        if (type == "mpu6050")
        {
            if (!SensorFeatures.IsMpu6050Supported)
            {
                throw new ConfigException($"{source}: no mpu6050 driver in this build");
            }

            int address = sensor.Address >= 0 ? sensor.Address : 0x68;
            var settings = new Mpu6050Settings
            {
                AccelerometerRangeG = sensor.AccelRangeG ?? 4,
                GyroscopeRangeDps = sensor.GyroRangeDps ?? 500,
                SampleRateHz = (int)Math.Round(sampleRateHz),
                StuckLimit = sensor.StuckLimit ?? 1,
            };
            return Create(sensor.Bus, address, source, device => new Mpu6050Source(device, shouldDispose: true, settings));
        }

        if (!SensorFeatures.IsBme280Supported)
        {
            throw new ConfigException($"{source}: no bme280 driver in this build");
        }

        int bmeAddress = sensor.Address >= 0 ? sensor.Address : 0x76;
        var bmeSettings = new Bme280Settings
        {
            Oversampling = sensor.Oversampling ?? 4,
            StuckLimit = sensor.StuckLimit ?? 10,
        };
        return Create(sensor.Bus, bmeAddress, source, device => new Bme280Source(device, shouldDispose: true, bmeSettings));
    }

    private static ISampleSource Create(int bus, int address, string source, Func<I2cDevice, ISampleSource> open)
    {
        if (address is < 0x03 or > 0x77)
        {
            throw new ConfigException($"{source}: I2C address 0x{address:x2} is outside the 7-bit range 0x03..0x77");
        }

        I2cDevice device = I2cDevice.Create(new I2cConnectionSettings(bus, address));
        try
        {
            return open(device);
        }
        catch (ArgumentException e)
        {
            device.Dispose();
            throw new ConfigException($"{source}: sensor: {e.Message}", e);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }
}
