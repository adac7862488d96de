using System.Text;
using EdgeInfer.Device;

namespace EdgeInfer.Sensors.Tests;

public sealed class DeviceConfigLoaderTests
{
    private const string Valid = """
        {
          // comments and trailing commas are fine
          "model": "m.eim",
          "sensor": { "type": "mpu6050", "bus": 1, "address": "0x68", "channels": ["ax", "ay", "az"] },
          "sample_rate_hz": 50, "window": 64, "hop": 32,
          "preprocessing": { "mean": [0, 0, 1], "std": [1, 1, 0.5] },
          "classes": ["idle", "shake"],
          "outputs": { "stdout": true, "gpio": [ { "pin": 17, "class": "shake" }, { "pin": 27, "score": 1, "threshold": 2.5, "active_low": true } ] },
          "faults": { "max_retries": 2, "retry_backoff_ms": 0.5, "lateness_tolerance": 0.4 },
          "status_interval_s": 5,
        }
        """;

    [Fact]
    public void Parse_ValidConfig_ReadsEveryField()
    {
        DeviceConfig c = DeviceConfigLoader.Parse(Valid, "device.json");
        Assert.Equal("m.eim", c.Model);
        Assert.Equal(("mpu6050", 1, 0x68), (c.Sensor!.Type, c.Sensor.Bus, c.Sensor.Address));
        Assert.Equal(["ax", "ay", "az"], c.Sensor.Channels!);
        Assert.Equal((50.0, 64, 32), (c.SampleRateHz, c.Window, c.Hop));
        Assert.Equal([0.5f], c.Preprocessing!.Std![2..]);
        Assert.Equal(2, c.Outputs!.Gpio!.Length);
        Assert.True(c.Outputs.Gpio[1].ActiveLow);
        Assert.Equal(2.5f, c.Outputs.Gpio[1].Threshold);
        Assert.Equal((2, 0.5, 0.4), (c.Faults!.MaxRetries, c.Faults.RetryBackoffMs, c.Faults.LatenessTolerance));
        Assert.Equal(5, c.StatusIntervalS);
    }

    [Theory]
    [InlineData("{ \"model\": \"m.eim\", \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 32, \"windw\": 1 }", "device.json:1: unknown key \"windw\" in the config")]
    [InlineData("{ \"model\": \"m.eim\",\n \"sensor\": { \"type\": \"mpu6050\", \"adress\": 1 } }", "device.json:2: unknown key \"adress\" in sensor")]
    [InlineData("{ \"model\": 5 }", "device.json:1: \"model\" must be a string, found the number 5")]
    [InlineData("{ \"model\": \"m.eim\",\n\n \"window\": \"64\" }", "device.json:3: \"window\" must be a whole number, found the string \"64\"")]
    [InlineData("{ \"model\": \"m.eim\", \"window\": 6.5 }", "device.json:1: \"window\" must be a whole number")]
    [InlineData("{ \"model\": \"m.eim\",\n \"sensor\": { \"address\": \"sixty\" } }", "device.json:2: \"address\" is a number or a \"0x..\" string")]
    [InlineData("{ \"model\": \"m.eim\",\n \"sensor\": {", "device.json:")]
    [InlineData("", "device.json: the config is empty")]
    [InlineData("null", "device.json:1: the config is empty (null)")]
    [InlineData("[1]", "device.json:1: the config must be an object")]
    [InlineData("{ \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 32 }", "device.json: \"model\" (the .eim file) is required")]
    [InlineData("{ \"model\": \"m.eim\", \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 32 }", "device.json: \"sensor\" is required")]
    [InlineData("{ \"model\": \"m.eim\", \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 0, \"window\": 64, \"hop\": 32 }", "device.json: sample_rate_hz must be between 0 and 10000")]
    [InlineData("{ \"model\": \"m.eim\", \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 0 }", "device.json: hop must be at least 1")]
    [InlineData("{ \"model\": \"m.eim\", \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 32, \"layout\": \"rows\" }", "device.json: layout 'rows' is not auto")]
    [InlineData("{ \"model\": \"m.eim\", \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 32, \"outputs\": { \"gpio\": [ { \"pin\": 4 } ] } }", "device.json: gpio pin 4 needs either \"class\" or both \"score\" and \"threshold\"")]
    [InlineData("{ \"model\": \"m.eim\", \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 32, \"faults\": { \"lateness_tolerance\": 1.5 } }", "device.json: faults:")]
    public void Parse_BadConfig_NamesTheFileAndTheProblem(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => DeviceConfigLoader.Parse(json, "device.json"));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("firmware-config/gesture.device.json", "mpu6050", 3)]
    [InlineData("firmware-config/anomaly.device.json", "bme280", 3)]
    [InlineData("accel/device.json", "mpu6050", 3)]
    public void Load_ShippedExamples_AreValid(string file, string sensor, int channels)
    {
        DeviceConfig c = DeviceConfigLoader.Load(Fixtures.Path(file));
        Assert.Equal(sensor, c.Sensor!.Type);
        Assert.Equal(channels, c.Sensor.Channels!.Length);
        Assert.Equal(channels, DeviceConfigLoader.BuildNormalization(c.Preprocessing, channels, file).Channels);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var e = Assert.Throws<ConfigException>(() => DeviceConfigLoader.Load("/nonexistent/device.json"));
        Assert.StartsWith("/nonexistent/device.json: cannot read the config", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildNormalization_ChannelCountMismatch_IsAConfigError()
    {
        var p = new PreprocessingConfig { Mean = [0, 0], Std = [1, 1] };
        var e = Assert.Throws<ConfigException>(() => DeviceConfigLoader.BuildNormalization(p, 3, "device.json"));
        Assert.Contains("the model is fed 3 channels", e.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigException>(() => DeviceConfigLoader.BuildNormalization(new PreprocessingConfig { Mean = [0], Scale = [1] }, 1, "d"));
    }
}

public sealed class DeviceProgramTests
{
    private static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        int exit = Device.Program.Run(args, stdout, stderr, CancellationToken.None);
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public void Replay_AccelRecording_PrintsOneLinePerWindow_AndAFinalStatus()
    {
        var (exit, stdout, stderr) = Run("--config", Fixtures.Path("accel/device.json"), "--replay", Fixtures.Path("accel/accel_recording.csv"));
        Assert.Equal(0, exit);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(92, lines.Length);
        Assert.StartsWith("{\"window\":0,\"start_us\":0,\"end_us\":1260000,\"class\":0,\"label\":\"idle\",\"scores\":[", lines[0], StringComparison.Ordinal);
        Assert.Contains("edgeinfer-device: final windows=92 inferences=92 discarded=0 gaps=0 faults=0", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_Once_StopsAfterOneInference()
    {
        var (exit, stdout, _) = Run("--config", Fixtures.Path("accel/device.json"), "--replay", Fixtures.Path("accel/accel_recording.csv"), "--once");
        Assert.Equal(0, exit);
        Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Input_DigitsRows_MatchTheGoldenLogits()
    {
        var (exit, stdout, stderr) = Run("--model", Fixtures.Path("digits/digits_cnn.eim"), "--input", Fixtures.Path("digits/digits_test.csv"));
        Assert.True(exit == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] golden = [.. File.ReadLines(Fixtures.Path("digits/digits_cnn_expected.csv")).Where(l => l.Length > 0)];
        Assert.Equal(golden.Length, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            float[] expected = [.. golden[i].Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture))];
            int best = Array.IndexOf(expected, expected.Max());
            Assert.Contains($"\"class\":{best},", lines[i], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void MissingConfig_ExitsOne_NamingTheFile()
    {
        var (exit, _, stderr) = Run("--config", "/nonexistent/device.json");
        Assert.Equal(1, exit);
        Assert.StartsWith("edgeinfer-device: /nonexistent/device.json: cannot read the config", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptModel_ExitsTwo_NamingTheModel()
    {
        string dir = Directory.CreateTempSubdirectory("edgeinfer-device-").FullName;
        try
        {
            byte[] bytes = File.ReadAllBytes(Fixtures.Path("accel/accel_conv1d.eim"));
            bytes[^10] ^= 0x40;
            File.WriteAllBytes(Path.Combine(dir, "accel_conv1d.eim"), bytes);
            File.Copy(Fixtures.Path("accel/device.json"), Path.Combine(dir, "device.json"));
            var (exit, stdout, stderr) = Run("--config", Path.Combine(dir, "device.json"), "--replay", Fixtures.Path("accel/accel_recording.csv"));
            Assert.Equal(2, exit);
            Assert.Empty(stdout);
            Assert.StartsWith("edgeinfer-device: model refused: ", stderr, StringComparison.Ordinal);
            Assert.Contains("accel_conv1d.eim", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ReplayWithChannelsTheRecordingLacks_ExitsOne()
    {
        string dir = Directory.CreateTempSubdirectory("edgeinfer-device-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "rec.csv"), "timestamp_us,temperature\n0,20\n");
            var (exit, _, stderr) = Run("--config", Fixtures.Path("accel/device.json"), "--replay", Path.Combine(dir, "rec.csv"));
            Assert.Equal(1, exit);
            Assert.Contains("channel 'ax' is not one of", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void UnknownArgument_ExitsOne_WithUsage()
    {
        var (exit, _, stderr) = Run("--frobnicate");
        Assert.Equal(1, exit);
        Assert.Contains("unknown argument '--frobnicate'", stderr, StringComparison.Ordinal);
        Assert.Contains("usage: edgeinfer-device", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Input_RowOfTheWrongLength_ExitsOne_NamingFileAndLine()
    {
        string dir = Directory.CreateTempSubdirectory("edgeinfer-device-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "rows.csv"), string.Join(',', Enumerable.Repeat("0", 64)) + "\n1,2,3\n");
            var (exit, _, stderr) = Run("--model", Fixtures.Path("digits/digits_mlp.eim"), "--input", Path.Combine(dir, "rows.csv"));
            Assert.Equal(1, exit);
            Assert.Contains("rows.csv:2: found 3 values", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
