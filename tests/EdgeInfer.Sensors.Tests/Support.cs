using EdgeInfer.Format;
using EdgeInfer.Sensors.Loop;
using EdgeInfer.Sensors.Outputs;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Sensors.Tests;

/// <summary>The fixtures copied next to the test binary (tests/fixtures/accel, the digits .eim files).</summary>
internal static class Fixtures
{
    public static string Path(string relative) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", relative);
}

/// <summary>Tiny models written with <see cref="ModelWriter"/>: window → FullyConnected → scores.</summary>
internal static class TinyModels
{
    /// <summary>input[1, channels·window] float → FC to <paramref name="classes"/> scores. Weight k of class j is (j+1)·0.01·(k%5 − 2).</summary>
    public static byte[] WindowClassifier(int channels, int window, int classes, bool int8Input = false, float inputScale = 0.05f, int inputZeroPoint = 3)
    {
        int k = channels * window;
        var w = new ModelWriter("window-classifier");
        long offset = 0;
        long Next(long bytes)
        {
            long at = offset;
            offset += (bytes + 63) / 64 * 64;
            return at;
        }

        int input;
        int features;
        if (int8Input)
        {
            input = w.AddArenaTensor("input", DataType.Int8, [1, k], Next(k), new QuantizationInfo([inputScale], [inputZeroPoint], -1));
            features = w.AddArenaTensor("features", DataType.Float32, [1, k], Next(4L * k));
        }
        else
        {
            input = w.AddArenaTensor("input", DataType.Float32, [1, k], Next(4L * k));
            features = input;
        }

        var weights = new float[classes * k];
        for (int j = 0; j < classes; j++)
        {
            for (int i = 0; i < k; i++)
            {
                weights[(j * k) + i] = (j + 1) * 0.01f * ((i % 5) - 2);
            }
        }

        int wt = w.AddConstant("fc.weight", DataType.Float32, [classes, k], TestTensor.ToBytes(weights));
        int bias = w.AddConstant("fc.bias", DataType.Float32, [classes], TestTensor.ToBytes(new float[classes]));
        int output = w.AddArenaTensor("scores", DataType.Float32, [1, classes], Next(4L * classes));
        w.ArenaBytes = offset;
        if (int8Input)
        {
            w.AddNode(OpCode.Dequantize, "dequantize", [input], [features], null);
        }

        w.AddNode(OpCode.FullyConnected, "fc", [features, wt, bias], [output], ClampOptions.None);
        w.AddInput(input);
        w.AddOutput(output);
        return w.ToArray();
    }
}

/// <summary>Time that moves only when the loop sleeps (and by <see cref="ReadCost"/> per read): a paced loop runs at full speed.</summary>
internal sealed class FakeClock : ILoopClock
{
    public long NowMicros { get; set; }

    public long Sleeps { get; private set; }

    public void SleepUntil(long micros, CancellationToken cancellation)
    {
        Sleeps++;
        if (micros > NowMicros)
        {
            NowMicros = micros;
        }
    }

    public void Advance(long micros) => NowMicros += micros;
}

/// <summary>
/// A source that plays a deterministic signal and fails exactly where a script says, without exceptions (so a whole
/// run can be checked for zero allocation). A bus error or driver timeout fails one attempt only, and the retry reads
/// the sample; a stuck or out-of-range sample loses its tick.
/// </summary>
internal sealed class ScriptedSource : ISampleSource
{
    private static readonly string[] s_channels = ["ax", "ay", "az"];
    private readonly Func<long, SensorFault> _script;
    private readonly FakeClock? _clock;
    private long _tick;
    private bool _retrying;

    public ScriptedSource(Func<long, SensorFault> script, FakeClock? clock = null)
    {
        _script = script;
        _clock = clock;
    }

    public IReadOnlyList<string> ChannelNames => s_channels;

    public bool ProvidesTimestamps => false;

    public SensorFault LastFault { get; private set; }

    public long Reads { get; private set; }

    public bool TryRead(out Reading reading)
    {
        Reads++;
        _clock?.Advance(50);
        reading = default;
        SensorFault fault = _retrying ? SensorFault.None : _script(_tick);
        if (fault is SensorFault.BusError or SensorFault.Timeout)
        {
            _retrying = true;
            LastFault = fault;
            return false;
        }

        _retrying = false;
        long n = _tick++;
        if (fault != SensorFault.None)
        {
            LastFault = fault;
            return false;
        }

        reading.Set(0, 0.1f * MathF.Sin(n * 0.05f));
        reading.Set(1, 0.2f * MathF.Cos(n * 0.03f));
        reading.Set(2, 1f + (0.01f * (n % 9)));
        LastFault = SensorFault.None;
        return true;
    }

    public void Dispose()
    {
    }
}

/// <summary>Keeps every result (allocates: not for allocation tests).</summary>
internal sealed class RecordingSink : IInferenceSink
{
    public List<(long Window, int Class, float[] Scores)> Results { get; } = [];

    public int Flushes { get; private set; }

    public void OnInference(in InferenceResult result) => Results.Add((result.WindowIndex, result.ClassIndex, result.Scores.ToArray()));

    public void Flush() => Flushes++;
}

/// <summary>Counts inferences and samples the thread's allocation counter, allocating nothing itself.</summary>
internal sealed class AllocationProbeSink : IInferenceSink
{
    private readonly long _warmup;

    public AllocationProbeSink(long warmupInferences) => _warmup = warmupInferences;

    public long Inferences { get; private set; }

    public long BytesAtWarmup { get; private set; } = -1;

    public long BytesAtLast { get; private set; } = -1;

    public void OnInference(in InferenceResult result)
    {
        Inferences++;
        if (Inferences == _warmup)
        {
            BytesAtWarmup = GC.GetAllocatedBytesForCurrentThread();
        }
        else if (Inferences > _warmup)
        {
            BytesAtLast = GC.GetAllocatedBytesForCurrentThread();
        }
    }

    public void Flush()
    {
    }
}

internal sealed class FakeOutput : IDigitalOutput
{
    public List<bool> Writes { get; } = [];

    public bool Disposed { get; private set; }

    public void Write(bool active) => Writes.Add(active);

    public void Dispose() => Disposed = true;
}
