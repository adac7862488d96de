using System.Device.Gpio;
using System.Globalization;
using System.Runtime.InteropServices;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Sensors;
using EdgeInfer.Sensors.Loop;
using EdgeInfer.Sensors.Outputs;
using EdgeInfer.Sensors.Replay;
using EdgeInfer.Sensors.Windowing;

namespace EdgeInfer.Device;

/// <summary>
/// edgeinfer-device: verify the model, open the sensor (or a recording), run the loop, act.
/// Exit codes: 0 done (stopped by a signal, end of a replay, --once), 1 usage or config error, 2 model refused,
/// 3 sensor unavailable with --once.
/// </summary>
public static class Program
{
    public const int ExitOk = 0;
    public const int ExitConfig = 1;
    public const int ExitModel = 2;
    public const int ExitSensor = 3;

    private const string Usage = """
        usage: edgeinfer-device [--config FILE] [--model FILE] [--replay FILE | --input FILE] [--once] [--max-windows N]
                                [--status-interval S] [--trusted-key FILE ...]
          --config FILE        device.json (default: ./device.json, then /etc/edgeinfer/device.json)
          --model FILE         the .eim model (overrides "model" in the config; with --input no config is needed)
          --replay FILE        read samples from a CSV recording (timestamp_us,<channels>) as fast as possible
          --input FILE         run the model on whole input tensors, one CSV row each (no header, no timestamps;
                               a row may end with one extra column, a label, which is ignored)
          --once               run until one window (or one --input row) has been inferred, then exit
          --max-windows N      stop after N windows
          --status-interval S  seconds between status lines on stderr (overrides the config; 0 = none)
          --trusted-key FILE   a public key (PEM) the model must be signed by; adds to "trusted_keys" in the config
          --version            print the version and the sensors this build carries
        """;

    public static int Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, stop));
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, stop));
        return Run(args, Console.OpenStandardOutput(), Console.OpenStandardError(), stop.Token);
    }

    /// <summary>The whole program with its streams and stop signal given, so tests run it in-process.</summary>
    public static int Run(string[] args, Stream stdout, Stream stderr, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        using var error = new StreamWriter(stderr) { AutoFlush = true };
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ConfigException e)
        {
            error.WriteLine($"edgeinfer-device: {e.Message}");
            error.WriteLine(Usage);
            return ExitConfig;
        }

        if (options.Help)
        {
            error.WriteLine(Usage);
            return ExitOk;
        }

        if (options.Version)
        {
            error.WriteLine($"edgeinfer-device {typeof(Program).Assembly.GetName().Version} ({RuntimeInformation.ProcessArchitecture}); sensors: {SensorFactory.Supported}; kernels: best={KernelPaths.Best} supported={string.Join(",", KernelPaths.Supported)}");
            return ExitOk;
        }

        if (options.InputPath is not null && options.ReplayPath is not null)
        {
            error.WriteLine("edgeinfer-device: --input and --replay exclude each other");
            return ExitConfig;
        }

        if (options.InputPath is not null && options.ConfigPath is null)
        {
            if (options.ModelPath is null)
            {
                error.WriteLine("edgeinfer-device: --input needs --model FILE (or --config FILE naming the model)");
                return ExitConfig;
            }

            ModelLoadOptions inputTrust;
            try
            {
                inputTrust = DeviceConfigLoader.LoadTrust(null, null, options.TrustedKeys);
            }
            catch (ConfigException e)
            {
                error.WriteLine($"edgeinfer-device: {e.Message}");
                return ExitConfig;
            }

            return TensorRows.Run(options.ModelPath, inputTrust, options.InputPath, classes: null, options.Once, stdout, error, stop);
        }

        DeviceConfig config;
        ModelLoadOptions trust;
        string configPath = options.ConfigPath ?? FindConfig();
        try
        {
            config = DeviceConfigLoader.Load(configPath);
            trust = DeviceConfigLoader.LoadTrust(configPath, config, options.TrustedKeys);
            if (options.InputPath is not null)
            {
                string inputModel = options.ModelPath ?? DeviceConfigLoader.ResolvePath(configPath, config.Model!);
                return TensorRows.Run(inputModel, trust, options.InputPath, config.Classes, options.Once, stdout, error, stop);
            }

            if (options.ReplayPath is null)
            {
                SensorFactory.CheckSupported(config.Sensor!, configPath);
            }
        }
        catch (ConfigException e)
        {
            error.WriteLine($"edgeinfer-device: {e.Message}");
            return ExitConfig;
        }

        string modelPath = options.ModelPath ?? DeviceConfigLoader.ResolvePath(configPath, config.Model!);
        Model model;
        Interpreter interpreter;
        try
        {
            model = Model.Load(modelPath, trust);
        }
        catch (EdgeInferModelException e)
        {
            error.WriteLine($"edgeinfer-device: model refused: {e.Message}");
            return ExitModel;
        }

        using (model)
        {
            ReportSigner(model, error);
            try
            {
                interpreter = new Interpreter(model);
            }
            catch (EdgeInferModelException e)
            {
                error.WriteLine($"edgeinfer-device: model refused: {e.Message}");
                return ExitModel;
            }

            return RunWithModel(options, config, configPath, interpreter, stdout, stderr, error, stop);
        }
    }

    private static int RunWithModel(Options options, DeviceConfig config, string configPath, Interpreter interpreter, Stream stdout, Stream stderr, StreamWriter error, CancellationToken stop)
    {
        ISampleSource? source = null;
        var sinks = new List<IInferenceSink>();
        var owned = new List<IDisposable>();
        try
        {
            try
            {
                source = options.ReplayPath is not null
                    ? ReplaySource.Open(options.ReplayPath)
                    : OpenSensorWithRetry(config, configPath, options.Once, error, stop);
            }
            catch (ReplayFormatException e)
            {
                error.WriteLine($"edgeinfer-device: {e.Message}");
                return ExitConfig;
            }

            if (source is null)
            {
                return stop.IsCancellationRequested ? ExitOk : ExitSensor;
            }

            int[] channelMap = MapChannels(config.Sensor!.Channels, source.ChannelNames, configPath, options.ReplayPath);
            Normalization normalization = DeviceConfigLoader.BuildNormalization(config.Preprocessing, channelMap.Length, configPath);
            WindowPreprocessor preprocessor;
            try
            {
                preprocessor = new WindowPreprocessor(interpreter.Input(0).Info, config.Window, channelMap.Length, normalization,
                    DeviceConfigLoader.ParseLayout(config.Layout, configPath));
            }
            catch (ArgumentException e)
            {
                throw new ConfigException($"{configPath}: the model does not fit the config: {e.Message}", e);
            }

            int outputs = interpreter.Output(0).ElementCount;
            if (config.Outputs?.Stdout ?? true)
            {
                sinks.Add(new JsonLinesSink(stdout, config.Classes, flushEachLine: options.ReplayPath is null, maxScores: outputs));
            }

            AddGpioSinks(config, configPath, outputs, sinks, owned);
            FaultConfig faults = config.Faults ?? new FaultConfig();
            var loopOptions = new LoopOptions
            {
                SampleRateHz = config.SampleRateHz,
                Window = config.Window,
                Hop = config.Hop,
                ChannelMap = channelMap,
                Minimum = config.Sensor.Min,
                Maximum = config.Sensor.Max,
                MaxRetries = faults.MaxRetries,
                RetryBackoff = TimeSpan.FromMilliseconds(faults.RetryBackoffMs),
                LatenessTolerance = faults.LatenessTolerance,
                Unpaced = options.ReplayPath is not null,
                MaxWindows = options.MaxWindows,
                MaxInferences = options.Once ? 1 : 0,
                StatusInterval = TimeSpan.FromSeconds(options.StatusIntervalS ?? config.StatusIntervalS),
            };
            var loop = new InferenceLoop(source, interpreter, preprocessor, loopOptions, sinks, status: new StatusWriter(stderr));
            loop.Run(stop);
            return ExitOk;
        }
        catch (ConfigException e)
        {
            error.WriteLine($"edgeinfer-device: {e.Message}");
            return ExitConfig;
        }
        finally
        {
            foreach (IDisposable d in owned)
            {
                d.Dispose();
            }

            source?.Dispose();
        }
    }

    private static ISampleSource? OpenSensorWithRetry(DeviceConfig config, string configPath, bool once, StreamWriter error, CancellationToken stop)
    {
        TimeSpan delay = TimeSpan.FromSeconds(1);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                return SensorFactory.Open(config.Sensor!, config.SampleRateHz, configPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException or TimeoutException)
            {
                error.WriteLine($"edgeinfer-device: sensor {config.Sensor!.Type} on i2c-{config.Sensor.Bus} unavailable: {e.Message}");
                if (once)
                {
                    return null;
                }

                error.WriteLine($"edgeinfer-device: retrying in {delay.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
                stop.WaitHandle.WaitOne(delay);
                delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
            }
        }

        return null;
    }

    private static int[] MapChannels(string[]? wanted, IReadOnlyList<string> available, string configPath, string? replayPath)
    {
        if (wanted is null)
        {
            var all = new int[available.Count];
            for (int i = 0; i < all.Length; i++)
            {
                all[i] = i;
            }

            return all;
        }

        var map = new int[wanted.Length];
        for (int i = 0; i < wanted.Length; i++)
        {
            map[i] = -1;
            for (int j = 0; j < available.Count; j++)
            {
                if (string.Equals(wanted[i], available[j], StringComparison.OrdinalIgnoreCase))
                {
                    map[i] = j;
                }
            }

            if (map[i] < 0)
            {
                string from = replayPath ?? "the sensor";
                throw new ConfigException($"{configPath}: channel '{wanted[i]}' is not one of {from}'s channels ({string.Join(", ", available)})");
            }
        }

        return map;
    }

    private static void AddGpioSinks(DeviceConfig config, string configPath, int outputs, List<IInferenceSink> sinks, List<IDisposable> owned)
    {
        foreach (GpioOutputConfig g in config.Outputs?.Gpio ?? [])
        {
            int classIndex = -1;
            if (g.Class is not null)
            {
                classIndex = config.Classes is null ? -1 : Array.IndexOf(config.Classes, g.Class);
                if (classIndex < 0 && !int.TryParse(g.Class, NumberStyles.None, CultureInfo.InvariantCulture, out classIndex))
                {
                    throw new ConfigException($"{configPath}: gpio pin {g.Pin}: class '{g.Class}' is not in \"classes\"");
                }
            }

            if ((classIndex >= 0 && classIndex >= outputs) || (g.Score is int s && (s < 0 || s >= outputs)))
            {
                throw new ConfigException($"{configPath}: gpio pin {g.Pin}: the model has {outputs} outputs");
            }

            IDigitalOutput pin;
            try
            {
                pin = new GpioPinOutput(new GpioController(), g.Pin, g.ActiveLow);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or PlatformNotSupportedException or ArgumentException)
            {
                throw new ConfigException($"{configPath}: gpio pin {g.Pin}: cannot open it: {e.Message}", e);
            }

            GpioSink sink = classIndex >= 0 ? GpioSink.ForClass(pin, classIndex) : GpioSink.ForThreshold(pin, g.Score!.Value, g.Threshold!.Value);
            sinks.Add(sink);
            owned.Add(sink);
        }
    }

    /// <summary>One line on stderr when the model had to be signed, so the journal says whose model is running.</summary>
    internal static void ReportSigner(Model model, StreamWriter error)
    {
        if (model.TrustedSigner is { } key)
        {
            error.WriteLine($"edgeinfer-device: {model.Source}: signed by {key.KeyIdText} ({key.Source}), signature OK");
        }
    }

    private static string FindConfig()
    {
        const string System = "/etc/edgeinfer/device.json";
        return File.Exists("device.json") || !File.Exists(System) ? "device.json" : System;
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stop)
    {
        // The loop sees the token within one poll, flushes its outputs and prints the final status.
        context.Cancel = true;
        stop.Cancel();
    }

    private sealed class Options
    {
        public string? ConfigPath { get; private set; }
        public string? ReplayPath { get; private set; }
        public string? InputPath { get; private set; }
        public string? ModelPath { get; private set; }
        public bool Once { get; private set; }
        public long MaxWindows { get; private set; }
        public double? StatusIntervalS { get; private set; }
        public List<string> TrustedKeys { get; } = [];
        public bool Help { get; private set; }
        public bool Version { get; private set; }

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                switch (a)
                {
                    case "--config":
                        o.ConfigPath = Value(args, ref i);
                        break;
                    case "--replay":
                        o.ReplayPath = Value(args, ref i);
                        break;
                    case "--input":
                        o.InputPath = Value(args, ref i);
                        break;
                    case "--model":
                        o.ModelPath = Value(args, ref i);
                        break;
                    case "--trusted-key":
                        o.TrustedKeys.Add(Value(args, ref i));
                        break;
                    case "--once":
                        o.Once = true;
                        break;
                    case "--max-windows":
                        o.MaxWindows = long.TryParse(Value(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0
                            ? n : throw new ConfigException("--max-windows takes a positive whole number");
                        break;
                    case "--status-interval":
                        o.StatusIntervalS = double.TryParse(Value(args, ref i), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s >= 0
                            ? s : throw new ConfigException("--status-interval takes seconds (0 or more)");
                        break;
                    case "-h" or "--help":
                        o.Help = true;
                        break;
                    case "--version":
                        o.Version = true;
                        break;
                    default:
                        throw new ConfigException($"unknown argument '{a}'");
                }
            }

            return o;
        }

        private static string Value(string[] args, ref int i)
            => i + 1 < args.Length ? args[++i] : throw new ConfigException($"{args[i]} needs a value");
    }
}
