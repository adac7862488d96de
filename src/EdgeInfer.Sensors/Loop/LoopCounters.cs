namespace EdgeInfer.Sensors.Loop;

/// <summary>What the loop has done so far. Plain fields: read them on the loop's thread, or after it stops.</summary>
public sealed class LoopCounters
{
    /// <summary>Ticks (nominal sample periods) processed, samples and gaps.</summary>
    public long Ticks;

    /// <summary>Ticks that produced a sample.</summary>
    public long Samples;

    /// <summary>Ticks without a sample: the read failed for good, or a recording skipped time.</summary>
    public long Gaps;

    /// <summary>Windows that ended (ready and discarded).</summary>
    public long Windows;

    /// <summary>Windows not inferred because they contained a gap.</summary>
    public long WindowsDiscarded;

    public long Inferences;

    /// <summary>Failed bus transfers (each attempt counts, retried or not).</summary>
    public long BusErrors;

    /// <summary>Samples that did not arrive before their deadline, and driver timeouts.</summary>
    public long Timeouts;

    /// <summary>Samples identical to the previous raw reading.</summary>
    public long Stuck;

    /// <summary>Samples with a value the sensor cannot produce, or outside the configured range.</summary>
    public long OutOfRange;

    /// <summary>Sum and maximum of the time from a window's last sample to its outputs written, in microseconds.</summary>
    public long LatencyTotalMicros;

    public long LatencyMaxMicros;

    /// <summary>Every fault of every kind.</summary>
    public long Faults => BusErrors + Timeouts + Stuck + OutOfRange;

    public void CopyTo(LoopCounters other)
    {
        ArgumentNullException.ThrowIfNull(other);
        other.Ticks = Ticks;
        other.Samples = Samples;
        other.Gaps = Gaps;
        other.Windows = Windows;
        other.WindowsDiscarded = WindowsDiscarded;
        other.Inferences = Inferences;
        other.BusErrors = BusErrors;
        other.Timeouts = Timeouts;
        other.Stuck = Stuck;
        other.OutOfRange = OutOfRange;
        other.LatencyTotalMicros = LatencyTotalMicros;
        other.LatencyMaxMicros = LatencyMaxMicros;
    }
}

/// <summary>Receives the counters periodically, on the loop's thread; must not allocate per call.</summary>
public interface IStatusReporter
{
    void Report(LoopCounters counters, bool final);
}
