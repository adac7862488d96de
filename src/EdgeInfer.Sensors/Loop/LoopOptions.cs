namespace EdgeInfer.Sensors.Loop;

/// <summary>How the loop paces and recovers. Immutable once the loop is built.</summary>
public sealed class LoopOptions
{
    /// <summary>Nominal sample rate; one tick per period.</summary>
    public required double SampleRateHz { get; init; }

    /// <summary>Samples per window.</summary>
    public required int Window { get; init; }

    /// <summary>Samples between the starts of consecutive windows.</summary>
    public required int Hop { get; init; }

    /// <summary>
    /// Which source channel feeds each model channel, e.g. [0, 1, 2] for ax, ay, az of an MPU-6050. Null takes all
    /// source channels in order.
    /// </summary>
    public int[]? ChannelMap { get; init; }

    /// <summary>Optional plausible range per model channel; a value outside is an <see cref="SensorFault.OutOfRange"/> fault.</summary>
    public float[]? Minimum { get; init; }

    /// <summary>Optional plausible range per model channel; a value outside is an <see cref="SensorFault.OutOfRange"/> fault.</summary>
    public float[]? Maximum { get; init; }

    /// <summary>Retries of a failed bus transfer within one tick, each after a doubling back-off.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>First back-off after a bus error; doubles with each retry.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>How long past its due time a sample may be late before the tick is a timeout, as a fraction of the period.</summary>
    public double LatenessTolerance { get; init; } = 0.5;

    /// <summary>Interval between polls while the sensor reports no new sample, as a fraction of the period.</summary>
    public double PollFraction { get; init; } = 0.05;

    /// <summary>Replay runs as fast as it can, tick after tick; live sources are paced by the clock.</summary>
    public bool Unpaced { get; init; }

    /// <summary>Stop after this many windows (ready or discarded); 0 runs until the source ends or a stop is requested.</summary>
    public long MaxWindows { get; init; }

    /// <summary>Stop after this many inferences (e.g. 1 for --once); 0 for no limit.</summary>
    public long MaxInferences { get; init; }

    /// <summary>Interval between status reports; zero or negative for none.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(10);
}
