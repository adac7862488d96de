using System.Globalization;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Sensors.Drivers;
using EdgeInfer.Sensors.Loop;
using EdgeInfer.Sensors.Outputs;
using EdgeInfer.Sensors.Replay;
using EdgeInfer.Sensors.Tests.Simulation;
using EdgeInfer.Sensors.Windowing;

namespace EdgeInfer.Sensors.Tests;

public sealed class InferenceLoopTests
{
    private static readonly float[] s_accelMean = [-0.007264460436999798f, -0.004845228046178818f, 0.9371278882026672f];
    private static readonly float[] s_accelStd = [0.2852953374385834f, 0.3649257719516754f, 0.19928579032421112f];

    [Fact]
    public void Replay_AccelRecording_MatchesTheTrainingGoldens()
    {
        using Model model = Model.Load(Fixtures.Path("accel/accel_conv1d.eim"));
        var interpreter = new Interpreter(model);
        using ReplaySource source = ReplaySource.Open(Fixtures.Path("accel/accel_recording.csv"));
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 64, 3, Normalization.Standardize(s_accelMean, s_accelStd));
        var sink = new RecordingSink();
        var loop = new InferenceLoop(source, interpreter, pre, new LoopOptions { SampleRateHz = 50, Window = 64, Hop = 32, Unpaced = true, StatusInterval = TimeSpan.Zero }, [sink]);

        Assert.Equal(LoopExit.SourceEnded, loop.Run(TestContext.Current.CancellationToken));

        // Goldens: PyTorch on the same recording (tools/train-fixtures/make_accel.py), start_us,truth,predicted,logit0..3.
        string[] rows = [.. File.ReadLines(Fixtures.Path("accel/accel_recording_windows_expected.csv")).Skip(1).Where(l => l.Length > 0)];
        Assert.Equal(rows.Length, sink.Results.Count);
        Assert.Equal(rows.Length, loop.Counters.Inferences);
        for (int i = 0; i < rows.Length; i++)
        {
            float[] f = [.. rows[i].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture))];
            (long window, int predicted, float[] scores) = sink.Results[i];
            Assert.Equal(i, window);
            Assert.Equal((int)f[2], predicted);
            for (int c = 0; c < 4; c++)
            {
                Assert.Equal(f[3 + c], scores[c], 1e-4f);
            }
        }

        Assert.Equal(1, sink.Flushes);
    }

    [Fact]
    public void HundredThousandWindows_OnePercentFaults_CountersMatchTheInjectedFaults_AndNothingIsAllocated()
    {
        const int Window = 16, Hop = 8, Windows = 100_000;
        const long Ticks = Window + ((long)(Windows - 1) * Hop);

        // About 1 % of ticks fail, a quarter each: NACK and driver timeout (one failed attempt, the retry succeeds),
        // stuck and out-of-range samples (the tick is lost: a gap).
        static SensorFault Script(long tick)
        {
            ulong h = (ulong)tick * 0x9E3779B97F4A7C15UL;
            h ^= h >> 29;
            return (h % 100) != 7 ? SensorFault.None : ((h >> 8) % 4) switch
            {
                0 => SensorFault.BusError,
                1 => SensorFault.Timeout,
                2 => SensorFault.Stuck,
                _ => SensorFault.OutOfRange,
            };
        }

        long bus = 0, timeouts = 0, stuck = 0, range = 0;
        var gapTicks = new List<long>();
        for (long t = 0; t < Ticks; t++)
        {
            switch (Script(t))
            {
                case SensorFault.BusError: bus++; break;
                case SensorFault.Timeout: timeouts++; break;
                case SensorFault.Stuck: stuck++; gapTicks.Add(t); break;
                case SensorFault.OutOfRange: range++; gapTicks.Add(t); break;
            }
        }

        var spoiled = new HashSet<long>();
        foreach (long g in gapTicks)
        {
            // Window k covers [k·hop, k·hop + window).
            for (long k = Math.Max(0, (g - Window + Hop) / Hop); k * Hop <= g && k < Windows; k++)
            {
                if (g < (k * Hop) + Window)
                {
                    spoiled.Add(k);
                }
            }
        }

        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 3, window: Window, classes: 4));
        var interpreter = new Interpreter(model);
        var clock = new FakeClock();
        var source = new ScriptedSource(Script, clock);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, Window, 3, Normalization.Standardize(s_accelMean, s_accelStd));
        var probe = new AllocationProbeSink(warmupInferences: 1000);
        var options = new LoopOptions { SampleRateHz = 50, Window = Window, Hop = Hop, MaxWindows = Windows, StatusInterval = TimeSpan.Zero };
        var loop = new InferenceLoop(source, interpreter, pre, options, [probe], clock);

        Assert.Equal(LoopExit.WindowLimit, loop.Run(TestContext.Current.CancellationToken));

        LoopCounters c = loop.Counters;
        Assert.True(bus + timeouts + stuck + range > Ticks / 200, "the script injects about 1 % faults");
        Assert.Equal(Ticks, c.Ticks);
        Assert.Equal(bus, c.BusErrors);
        Assert.Equal(timeouts, c.Timeouts);
        Assert.Equal(stuck, c.Stuck);
        Assert.Equal(range, c.OutOfRange);
        Assert.Equal(gapTicks.Count, c.Gaps);
        Assert.Equal(Ticks - gapTicks.Count, c.Samples);
        Assert.Equal(Windows, c.Windows);
        Assert.Equal(spoiled.Count, c.WindowsDiscarded);
        Assert.Equal(Windows - spoiled.Count, c.Inferences);
        Assert.Equal(c.Inferences, probe.Inferences);

        // Zero managed allocation per window once running (ticks, faults, retries, windows, inferences).
        Assert.True(probe.BytesAtWarmup >= 0 && probe.BytesAtLast >= 0);
        Assert.Equal(probe.BytesAtWarmup, probe.BytesAtLast);
    }

    [Fact]
    public void Paced_SimulatedMpu6050_RetriesNacks_AndTimesOutWhenNoSampleArrives()
    {
        var chip = new SimulatedMpu6050();
        using var mpu = new Mpu6050Source(chip);
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 3, window: 8, classes: 2));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 8, 3, Normalization.Identity(3));
        var clock = new FakeClock();
        var sink = new RecordingSink();
        var options = new LoopOptions { SampleRateHz = 50, Window = 8, Hop = 8, ChannelMap = [0, 1, 2], MaxWindows = 4, StatusInterval = TimeSpan.Zero };

        // Tick 0 (due at 0 µs): two NACKs, the third attempt reads. Tick 1 (due near 20 ms): the chip has no sample
        // from 19 ms to 35 ms, longer than the loop may wait (half a period), so the tick is a timeout and a gap.
        chip.Inject(BusFault.Nack, 2);
        var source = new DeadAir(mpu, chip, clock, fromMicros: 19_000, toMicros: 35_000);
        var loop = new InferenceLoop(source, interpreter, pre, options, [sink], clock);

        Assert.Equal(LoopExit.WindowLimit, loop.Run(TestContext.Current.CancellationToken));
        Assert.Equal(2, loop.Counters.BusErrors);
        Assert.Equal(1, loop.Counters.Timeouts);
        Assert.Equal(1, loop.Counters.Gaps);
        Assert.Equal(32, loop.Counters.Ticks);
        Assert.Equal(4, loop.Counters.Windows);
        Assert.Equal(1, loop.Counters.WindowsDiscarded);
        Assert.Equal([1L, 2, 3], sink.Results.Select(r => r.Window));
        Assert.True(source.NotReadyReads > 1, "the loop polls a sensor that is not ready until the deadline");
    }

    [Fact]
    public void Run_Cancelled_StopsAndFlushes()
    {
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 3, window: 8, classes: 2));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 8, 3, Normalization.Identity(3));
        var clock = new FakeClock();
        var sink = new RecordingSink();
        using var cancel = new CancellationTokenSource();
        var source = new ScriptedSource(t =>
        {
            if (t == 100)
            {
                cancel.Cancel();
            }

            return SensorFault.None;
        }, clock);
        var loop = new InferenceLoop(source, interpreter, pre, new LoopOptions { SampleRateHz = 50, Window = 8, Hop = 4, StatusInterval = TimeSpan.Zero }, [sink], clock);
        Assert.Equal(LoopExit.Stopped, loop.Run(cancel.Token));
        Assert.Equal(1, sink.Flushes);
        Assert.InRange(loop.Counters.Ticks, 100, 102);
    }

    [Fact]
    public void Replay_HoleInTheTimestamps_BecomesGapTicks_AndDiscardsItsWindows()
    {
        string csv = "timestamp_us,ax\n" + string.Join('\n', Enumerable.Range(0, 20).Where(i => i is < 8 or > 10).Select(i => $"{i * 20000},{i * 0.01}"));
        using ReplaySource source = ReplaySource.Parse(csv, "holes.csv");
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 1, window: 4, classes: 2));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 4, 1, Normalization.Identity(1));
        var sink = new RecordingSink();
        var loop = new InferenceLoop(source, interpreter, pre, new LoopOptions { SampleRateHz = 50, Window = 4, Hop = 4, Unpaced = true, StatusInterval = TimeSpan.Zero }, [sink]);
        loop.Run(TestContext.Current.CancellationToken);

        // Ticks 8, 9, 10 are missing: window 2 ([8, 12)) is discarded; windows 0, 1, 3, 4 are inferred.
        Assert.Equal(20, loop.Counters.Ticks);
        Assert.Equal(3, loop.Counters.Gaps);
        Assert.Equal([0L, 1, 3, 4], sink.Results.Select(r => r.Window));
    }

    [Fact]
    public void Constructor_ChannelMapNotMatchingTheModel_Throws()
    {
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 3, window: 8, classes: 2));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 8, 3, Normalization.Identity(3));
        var source = new ScriptedSource(_ => SensorFault.None);
        Assert.Throws<ArgumentException>(() => new InferenceLoop(source, interpreter, pre, new LoopOptions { SampleRateHz = 50, Window = 8, Hop = 8, ChannelMap = [0, 1] }, []));
        Assert.Throws<ArgumentException>(() => new InferenceLoop(source, interpreter, pre, new LoopOptions { SampleRateHz = 50, Window = 8, Hop = 8, ChannelMap = [0, 1, 5] }, []));
    }

    /// <summary>Passes reads through, except that between two times the chip has no new sample.</summary>
    private sealed class DeadAir(ISampleSource inner, SimulatedMpu6050 chip, FakeClock clock, long fromMicros, long toMicros) : ISampleSource
    {
        public int NotReadyReads { get; private set; }

        public IReadOnlyList<string> ChannelNames => inner.ChannelNames;

        public bool ProvidesTimestamps => false;

        public SensorFault LastFault => inner.LastFault;

        public bool TryRead(out Reading reading)
        {
            if (clock.NowMicros >= fromMicros && clock.NowMicros < toMicros)
            {
                NotReadyReads++;
                chip.NotReadyReads = 1;
            }

            return inner.TryRead(out reading);
        }

        public void Dispose()
        {
        }
    }
}
