using System.Diagnostics;
using EdgeInfer.Runtime;
using EdgeInfer.Sensors.Outputs;
using EdgeInfer.Sensors.Windowing;

namespace EdgeInfer.Sensors.Loop;

/// <summary>Why <see cref="InferenceLoop.Run"/> returned.</summary>
public enum LoopExit
{
    /// <summary>The source has no more samples (end of a replay).</summary>
    SourceEnded,

    /// <summary>A stop was requested (SIGTERM, SIGINT).</summary>
    Stopped,

    /// <summary><see cref="LoopOptions.MaxWindows"/> windows ended.</summary>
    WindowLimit,

    /// <summary><see cref="LoopOptions.MaxInferences"/> inferences ran (e.g. --once).</summary>
    InferenceLimit,
}

/// <summary>
/// The sensor → window → model → outputs loop.
/// <para><b>Pacing.</b> One tick per sample period. A live tick sleeps until the sample is due, then reads; a sensor
/// that has no new sample yet is polled every <see cref="LoopOptions.PollFraction"/> of a period until the sample
/// arrives or <see cref="LoopOptions.LatenessTolerance"/> of a period has passed (a timeout). The schedule locks onto
/// the sensor's own clock: after a read that had to wait, the next tick is due one period after the sample arrived;
/// after a read that succeeded at once, the next tick is due half a poll early, so the loop keeps probing for the
/// arrival time and follows a sensor oscillator that runs fast or slow (the MPU-6050's is only ±1 %) instead of
/// drifting into periodic timeouts. A replay is unpaced: one row per tick, as fast as possible, and a hole in its
/// timestamps becomes gap ticks.</para>
/// <para><b>Faults.</b> A bus error is retried with a doubling back-off while the tick's deadline allows; stuck and
/// out-of-range samples are not retried (the sample of that tick is bad, a retry could only return the next one).
/// Every failed attempt is counted by kind; a tick that ends without a sample is a gap, and each window containing a
/// gap is discarded and counted (<see cref="WindowBuffer"/>). Nothing a sensor does ends the loop.</para>
/// <para><b>Memory.</b> Everything is allocated in the constructor: ring buffer, staging for quantized inputs, the
/// score buffer. A tick, a window and an inference allocate nothing (the bus layer's exception for a failed
/// transfer is the only allocation, and only on that fault).</para>
/// <para>Ownership: the loop borrows the source, interpreter, sinks and clock; it disposes none of them.</para>
/// </summary>
public sealed class InferenceLoop
{
    private readonly ISampleSource _source;
    private readonly Interpreter _interpreter;
    private readonly WindowPreprocessor _preprocessor;
    private readonly LoopOptions _options;
    private readonly IInferenceSink[] _sinks;
    private readonly ILoopClock _clock;
    private readonly IStatusReporter? _status;
    private readonly WindowBuffer _window;
    private readonly TensorView _input;
    private readonly TensorView _output;
    private readonly float[] _scores;
    private readonly float[] _sample;
    private readonly int[] _channelMap;
    private readonly long _periodMicros;
    private readonly long _pollMicros;
    private readonly long _toleranceMicros;
    private readonly long _statusMicros;
    private long _nextDue;
    private long _nextStatus;
    private long _lastTimestamp = long.MinValue;

    public InferenceLoop(ISampleSource source, Interpreter interpreter, WindowPreprocessor preprocessor, LoopOptions options,
        IReadOnlyList<IInferenceSink> sinks, ILoopClock? clock = null, IStatusReporter? status = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(interpreter);
        ArgumentNullException.ThrowIfNull(preprocessor);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sinks);
        if (!(options.SampleRateHz > 0) || !double.IsFinite(options.SampleRateHz))
        {
            throw new ArgumentException($"sample rate {options.SampleRateHz} Hz must be positive", nameof(options));
        }

        if (preprocessor.Window != options.Window)
        {
            throw new ArgumentException($"the preprocessor expects windows of {preprocessor.Window}, the options say {options.Window}", nameof(preprocessor));
        }

        _channelMap = options.ChannelMap ?? Enumerable.Range(0, source.ChannelNames.Count).ToArray();
        if (_channelMap.Length != preprocessor.Channels)
        {
            throw new ArgumentException($"the model takes {preprocessor.Channels} channels, the channel map names {_channelMap.Length}", nameof(options));
        }

        foreach (int c in _channelMap)
        {
            if ((uint)c >= (uint)source.ChannelNames.Count)
            {
                throw new ArgumentException($"channel index {c} is not one of the source's {source.ChannelNames.Count} channels", nameof(options));
            }
        }

        CheckLimits(options.Minimum, _channelMap.Length, "minimum");
        CheckLimits(options.Maximum, _channelMap.Length, "maximum");
        if (preprocessor.Input.Index != interpreter.Model.Graph.Inputs[0])
        {
            throw new ArgumentException($"the preprocessor was built for {preprocessor.Input}, not the model's first input", nameof(preprocessor));
        }

        _source = source;
        _interpreter = interpreter;
        _preprocessor = preprocessor;
        _options = options;
        _sinks = [.. sinks];
        _clock = clock ?? new SystemLoopClock();
        _status = status;
        _window = new WindowBuffer(options.Window, options.Hop, _channelMap.Length);
        _input = interpreter.Input(0);
        _output = interpreter.Output(0);
        if (_output.DataType is not (DataType.Float32 or DataType.Int8 or DataType.UInt8))
        {
            throw new ArgumentException($"model output {_output.Info} is not float32, int8 or uint8 scores", nameof(interpreter));
        }

        _scores = new float[_output.ElementCount];
        _sample = new float[_channelMap.Length];
        _periodMicros = Math.Max(1, (long)Math.Round(1e6 / options.SampleRateHz));
        _pollMicros = Math.Max(100, (long)(_periodMicros * options.PollFraction));
        _toleranceMicros = Math.Max(_pollMicros, (long)(_periodMicros * options.LatenessTolerance));
        _statusMicros = options.StatusInterval > TimeSpan.Zero ? (long)options.StatusInterval.TotalMicroseconds : 0;
    }

    public LoopCounters Counters { get; } = new();

    /// <summary>The window schedule (for inspection in tests and status).</summary>
    public WindowBuffer Window => _window;

    /// <summary>Scores of the last inference.</summary>
    public ReadOnlySpan<float> LastScores => _scores;

    /// <summary>Runs until the source ends, a limit is reached or <paramref name="cancellation"/> is signalled.</summary>
    public LoopExit Run(CancellationToken cancellation = default)
    {
        long start = _clock.NowMicros;
        _nextDue = start;
        _nextStatus = start + _statusMicros;
        LoopExit exit;
        try
        {
            do
            {
                if (cancellation.IsCancellationRequested)
                {
                    exit = LoopExit.Stopped;
                    break;
                }

                exit = _options.Unpaced ? UnpacedTick() : PacedTick(cancellation);
                if (_status is not null && _statusMicros > 0 && _clock.NowMicros >= _nextStatus)
                {
                    _status.Report(Counters, final: false);
                    _nextStatus += _statusMicros;
                }
            }
            while (exit == (LoopExit)(-1));
        }
        finally
        {
            foreach (IInferenceSink sink in _sinks)
            {
                sink.Flush();
            }

            _status?.Report(Counters, final: true);
        }

        return exit;
    }

    private LoopExit UnpacedTick()
    {
        if (!_source.TryRead(out Reading reading))
        {
            SensorFault fault = _source.LastFault;
            if (fault == SensorFault.EndOfStream)
            {
                return LoopExit.SourceEnded;
            }

            CountFault(fault == SensorFault.NotReady ? SensorFault.Timeout : fault);
            return Gap();
        }

        long timestamp = _source.ProvidesTimestamps ? reading.TimestampMicros : _clock.NowMicros;
        if (_lastTimestamp != long.MinValue && timestamp - _lastTimestamp > _periodMicros + (_periodMicros / 2))
        {
            // A hole in the recording: the ticks it skipped are gaps, so windows keep their places in time.
            long missing = Math.Min(((timestamp - _lastTimestamp + (_periodMicros / 2)) / _periodMicros) - 1, 10_000_000);
            for (long i = 0; i < missing; i++)
            {
                LoopExit exit = Gap();
                if (exit != (LoopExit)(-1))
                {
                    return exit;
                }
            }
        }

        _lastTimestamp = timestamp;
        return Accept(in reading, timestamp);
    }

    private LoopExit PacedTick(CancellationToken cancellation)
    {
        long due = _nextDue;
        _clock.SleepUntil(due, cancellation);
        long deadline = due + _toleranceMicros;
        int retries = 0;
        bool waited = false;
        while (true)
        {
            if (cancellation.IsCancellationRequested)
            {
                return LoopExit.Stopped;
            }

            if (_source.TryRead(out Reading reading))
            {
                long now = _clock.NowMicros;

                // Lock onto the sensor: one period after the arrival we saw, or probe half a poll earlier.
                _nextDue = waited ? now + _periodMicros - _pollMicros : due + _periodMicros - (_pollMicros / 2);
                long timestamp = _source.ProvidesTimestamps ? reading.TimestampMicros : now;
                return Accept(in reading, timestamp);
            }

            SensorFault fault = _source.LastFault;
            long time = _clock.NowMicros;
            switch (fault)
            {
                case SensorFault.EndOfStream:
                    return LoopExit.SourceEnded;
                case SensorFault.NotReady:
                    if (time + _pollMicros > deadline)
                    {
                        CountFault(SensorFault.Timeout);
                        _nextDue = due + _periodMicros;
                        return Gap();
                    }

                    waited = true;
                    _clock.SleepUntil(time + _pollMicros, cancellation);
                    continue;
                case SensorFault.BusError:
                case SensorFault.Timeout:
                    CountFault(fault);
                    long backoff = (long)_options.RetryBackoff.TotalMicroseconds << Math.Min(retries, 20);
                    if (retries >= _options.MaxRetries || time + backoff > deadline)
                    {
                        _nextDue = due + _periodMicros;
                        return Gap();
                    }

                    retries++;
                    _clock.SleepUntil(time + backoff, cancellation);
                    continue;
                default:
                    CountFault(fault);
                    _nextDue = due + _periodMicros;
                    return Gap();
            }
        }
    }

    private LoopExit Accept(in Reading reading, long timestamp)
    {
        Span<float> sample = _sample;
        float[]? min = _options.Minimum;
        float[]? max = _options.Maximum;
        for (int c = 0; c < sample.Length; c++)
        {
            float v = reading[_channelMap[c]];
            if (!float.IsFinite(v) || (min is not null && v < min[c]) || (max is not null && v > max[c]))
            {
                CountFault(SensorFault.OutOfRange);
                return Gap();
            }

            sample[c] = v;
        }

        Counters.Ticks++;
        Counters.Samples++;
        return OnWindowEvent(_window.Push(sample, timestamp));
    }

    private LoopExit Gap()
    {
        Counters.Ticks++;
        Counters.Gaps++;
        return OnWindowEvent(_window.PushGap());
    }

    private LoopExit OnWindowEvent(WindowEvent e)
    {
        if (e == WindowEvent.None)
        {
            return (LoopExit)(-1);
        }

        Counters.Windows++;
        if (e == WindowEvent.Discarded)
        {
            Counters.WindowsDiscarded++;
        }
        else
        {
            Infer();
        }

        if (_options.MaxInferences > 0 && Counters.Inferences >= _options.MaxInferences)
        {
            return LoopExit.InferenceLimit;
        }

        return _options.MaxWindows > 0 && Counters.Windows >= _options.MaxWindows ? LoopExit.WindowLimit : (LoopExit)(-1);
    }

    private void Infer()
    {
        long started = Stopwatch.GetTimestamp();
        _preprocessor.Write(_window, _input.Bytes);
        _interpreter.Invoke();
        if (_output.DataType == DataType.Float32)
        {
            _output.AsSpan<float>().CopyTo(_scores);
        }
        else
        {
            _output.ReadFloats(_scores);
        }

        int best = 0;
        for (int i = 1; i < _scores.Length; i++)
        {
            if (_scores[i] > _scores[best])
            {
                best = i;
            }
        }

        var result = new InferenceResult(_window.WindowIndex, _window.WindowStartMicros, _window.WindowEndMicros, best, _scores);
        foreach (IInferenceSink sink in _sinks)
        {
            sink.OnInference(in result);
        }

        Counters.Inferences++;
        long micros = (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        Counters.LatencyTotalMicros += micros;
        Counters.LatencyMaxMicros = Math.Max(Counters.LatencyMaxMicros, micros);
    }

    private void CountFault(SensorFault fault)
    {
        switch (fault)
        {
            case SensorFault.BusError:
                Counters.BusErrors++;
                break;
            case SensorFault.Timeout:
            case SensorFault.NotReady:
                Counters.Timeouts++;
                break;
            case SensorFault.Stuck:
                Counters.Stuck++;
                break;
            default:
                Counters.OutOfRange++;
                break;
        }
    }

    private static void CheckLimits(float[]? limits, int channels, string name)
    {
        if (limits is not null && limits.Length != channels)
        {
            throw new ArgumentException($"the {name} limits name {limits.Length} channels; the model takes {channels}");
        }
    }
}
