using EdgeInfer.Format;
using EdgeInfer.Sensors.Windowing;

namespace EdgeInfer.Device;

/// <summary>Reads and checks device.json. Every problem is a <see cref="ConfigException"/> naming the file.</summary>
public static class DeviceConfigLoader
{
    public static DeviceConfig Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read the config: {e.Message}", e);
        }

        return Parse(json, path);
    }

    public static DeviceConfig Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        DeviceConfig config = DeviceConfigJson.Parse(json, source);
        Validate(config, source);
        return config;
    }

    /// <summary>The model path, resolved against the config file's directory.</summary>
    public static string ResolvePath(string configPath, string path)
        => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath)) ?? ".", path));

    /// <summary>
    /// The load options for the config's "trusted_keys" (resolved against the config's directory) and the
    /// --trusted-key files. A key that cannot be read or used is a <see cref="ConfigException"/> naming it: the
    /// device's trust, not the model, is what is wrong.
    /// </summary>
    public static ModelLoadOptions LoadTrust(string? configPath, DeviceConfig? config, IReadOnlyList<string> commandLineKeys)
    {
        ArgumentNullException.ThrowIfNull(commandLineKeys);
        var paths = new List<string>();
        foreach (string key in configPath is null ? [] : config?.TrustedKeys ?? [])
        {
            paths.Add(ResolvePath(configPath!, key));
        }

        paths.AddRange(commandLineKeys);
        if (paths.Count == 0)
        {
            return ModelLoadOptions.Default;
        }

        var keys = new List<ModelPublicKey>(paths.Count);
        foreach (string path in paths)
        {
            try
            {
                keys.Add(ModelPublicKey.Load(path));
            }
            catch (EdgeInferModelException e)
            {
                throw new ConfigException($"trusted key {e.Message}", e);
            }
        }

        return new ModelLoadOptions { TrustedKeys = keys };
    }

    public static InputLayout ParseLayout(string? layout, string source) => layout?.ToLowerInvariant() switch
    {
        null or "" or "auto" => InputLayout.Auto,
        "channel_major" or "channels_first" => InputLayout.ChannelMajor,
        "sample_major" or "channels_last" => InputLayout.SampleMajor,
        _ => throw new ConfigException($"{source}: layout '{layout}' is not auto, channel_major or sample_major"),
    };

    /// <summary>The normalization for <paramref name="channels"/> model channels.</summary>
    public static Normalization BuildNormalization(PreprocessingConfig? p, int channels, string source)
    {
        if (p is null || (p.Mean is null && p.Std is null && p.Scale is null && p.Offset is null))
        {
            return Normalization.Identity(channels);
        }

        bool standardize = p.Mean is not null || p.Std is not null;
        bool affine = p.Scale is not null || p.Offset is not null;
        if (standardize && affine)
        {
            throw new ConfigException($"{source}: preprocessing gives both mean/std and scale/offset; use one pair");
        }

        try
        {
            Normalization n = standardize
                ? Normalization.Standardize(p.Mean ?? [], p.Std ?? [])
                : Normalization.Affine(p.Scale ?? Filled(channels, 1f), p.Offset ?? new float[channels]);
            if (n.Channels != channels)
            {
                throw new ConfigException($"{source}: preprocessing has {n.Channels} values per list; the model is fed {channels} channels");
            }

            return n;
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"{source}: preprocessing: {e.Message}", e);
        }
    }

    private static void Validate(DeviceConfig c, string source)
    {
        if (string.IsNullOrWhiteSpace(c.Model))
        {
            throw new ConfigException($"{source}: \"model\" (the .eim file) is required");
        }

        if (c.Sensor is null)
        {
            throw new ConfigException($"{source}: \"sensor\" is required");
        }

        if (!(c.SampleRateHz > 0) || c.SampleRateHz > 10_000)
        {
            throw new ConfigException($"{source}: sample_rate_hz must be between 0 and 10000, got {c.SampleRateHz}");
        }

        if (c.Window < 1 || c.Window > 1 << 20)
        {
            throw new ConfigException($"{source}: window must be at least 1 sample, got {c.Window}");
        }

        if (c.Hop < 1)
        {
            throw new ConfigException($"{source}: hop must be at least 1 sample, got {c.Hop}");
        }

        if (!(c.StatusIntervalS >= 0))
        {
            throw new ConfigException($"{source}: status_interval_s must be 0 or more, got {c.StatusIntervalS}");
        }

        ParseLayout(c.Layout, source);
        if (c.Faults is { } f && (f.MaxRetries < 0 || !(f.RetryBackoffMs >= 0) || !(f.LatenessTolerance > 0) || f.LatenessTolerance >= 1))
        {
            throw new ConfigException($"{source}: faults: max_retries ≥ 0, retry_backoff_ms ≥ 0 and 0 < lateness_tolerance < 1 are required");
        }

        if (c.TrustedKeys is { Length: 0 })
        {
            throw new ConfigException($"{source}: trusted_keys is empty, which would trust nothing; list the public keys, or remove it to run unsigned models");
        }

        if (c.Sensor.Channels is { Length: 0 })
        {
            throw new ConfigException($"{source}: sensor.channels is empty");
        }

        foreach (GpioOutputConfig g in c.Outputs?.Gpio ?? [])
        {
            if (g.Pin < 0)
            {
                throw new ConfigException($"{source}: every outputs.gpio entry needs a \"pin\"");
            }

            bool byClass = g.Class is not null;
            bool byThreshold = g.Score is not null || g.Threshold is not null;
            if (byClass == byThreshold || (byThreshold && (g.Score is null || g.Threshold is null)))
            {
                throw new ConfigException($"{source}: gpio pin {g.Pin} needs either \"class\" or both \"score\" and \"threshold\"");
            }
        }
    }

    private static float[] Filled(int n, float v)
    {
        var a = new float[n];
        Array.Fill(a, v);
        return a;
    }
}
