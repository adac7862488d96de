namespace EdgeInfer.Device;

/// <summary>
/// device.json: what to load, what to read, how to window and normalize it, and where results go. Property names
/// are snake_case; unknown properties are errors (a misspelt key must not silently fall back to a default).
/// Paths are relative to the directory of the config file. Read by <see cref="DeviceConfigJson"/> (a hand-written
/// Utf8JsonReader walk: the reflection-free JsonSerializer source generator still costs ~0.5 MB of NativeAOT binary).
/// </summary>
public sealed class DeviceConfig
{
    /// <summary>The .eim model.</summary>
    public string? Model { get; set; }

    public SensorConfig? Sensor { get; set; }

    /// <summary>Samples per second the loop paces itself to (and the sensor is configured for).</summary>
    public double SampleRateHz { get; set; }

    /// <summary>Samples per window.</summary>
    public int Window { get; set; }

    /// <summary>Samples from one window's start to the next.</summary>
    public int Hop { get; set; }

    /// <summary>"auto" (from the input shape), "channel_major" ([1,C,W]) or "sample_major" ([1,W,C]).</summary>
    public string? Layout { get; set; }

    public PreprocessingConfig? Preprocessing { get; set; }

    /// <summary>Class names by output index, for the "label" field and class-driven GPIO outputs.</summary>
    public string[]? Classes { get; set; }

    public OutputsConfig? Outputs { get; set; }

    public FaultConfig? Faults { get; set; }

    /// <summary>Seconds between status lines on stderr; 0 for none.</summary>
    public double StatusIntervalS { get; set; } = 10;

    /// <summary>
    /// Public keys (PEM) a model must be signed by, relative to the config; absent: unsigned models run too. Loaded by
    /// <see cref="DeviceConfigLoader.LoadTrust"/>.
    /// </summary>
    public string[]? TrustedKeys { get; set; }
}

public sealed class SensorConfig
{
    /// <summary>"mpu6050" or "bme280".</summary>
    public string? Type { get; set; }

    /// <summary>I2C bus number: /dev/i2c-N.</summary>
    public int Bus { get; set; } = 1;

    /// <summary>7-bit address, as a number or a "0x68" string.</summary>
    public int Address { get; set; } = -1;

    /// <summary>Source channels that feed the model, in the model's channel order (e.g. ["ax","ay","az"]).</summary>
    public string[]? Channels { get; set; }

    /// <summary>MPU-6050 accelerometer full scale, g.</summary>
    public int? AccelRangeG { get; set; }

    /// <summary>MPU-6050 gyroscope full scale, °/s.</summary>
    public int? GyroRangeDps { get; set; }

    /// <summary>BME280 oversampling.</summary>
    public int? Oversampling { get; set; }

    /// <summary>Identical consecutive raw readings that mean the sensor is stuck.</summary>
    public int? StuckLimit { get; set; }

    /// <summary>Optional plausible range per model channel.</summary>
    public float[]? Min { get; set; }

    public float[]? Max { get; set; }
}

/// <summary>Either mean/std (standardization) or scale/offset (x·scale + offset), one value per model channel.</summary>
public sealed class PreprocessingConfig
{
    public float[]? Mean { get; set; }
    public float[]? Std { get; set; }
    public float[]? Scale { get; set; }
    public float[]? Offset { get; set; }
}

public sealed class OutputsConfig
{
    /// <summary>JSON lines on stdout (default true).</summary>
    public bool Stdout { get; set; } = true;

    public GpioOutputConfig[]? Gpio { get; set; }
}

/// <summary>A pin driven by a class ("class": "shake") or by a score threshold ("score": 1, "threshold": 2.5).</summary>
public sealed class GpioOutputConfig
{
    /// <summary>GPIO line number on the chip (BCM numbering on a Raspberry Pi).</summary>
    public int Pin { get; set; } = -1;

    /// <summary>/dev/gpiochipN; 0 on a Pi 4, 4 on a Pi 5 with older kernels, 0 on newer.</summary>
    public int Chip { get; set; }

    /// <summary>Class name (or index as text) that drives the pin active.</summary>
    public string? Class { get; set; }

    /// <summary>Output index compared with <see cref="Threshold"/>.</summary>
    public int? Score { get; set; }

    public float? Threshold { get; set; }

    public bool ActiveLow { get; set; }
}

public sealed class FaultConfig
{
    /// <summary>Retries of a failed bus transfer within one sample period.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First back-off in milliseconds; doubles each retry.</summary>
    public double RetryBackoffMs { get; set; } = 1;

    /// <summary>How late a sample may be, as a fraction of the period, before it is a timeout.</summary>
    public double LatenessTolerance { get; set; } = 0.5;
}

