namespace EdgeInfer.Sensors;

/// <summary>
/// Where samples come from: a sensor on a bus or a recording. Conventions for every implementation:
/// <list type="bullet">
/// <item><see cref="TryRead"/> does the I/O; properties never do.</item>
/// <item>A failed read returns false and says why in <see cref="LastFault"/>; it never returns an older value again
/// (no stale data): a sensor that cannot prove a sample is new reports <see cref="SensorFault.NotReady"/> or
/// <see cref="SensorFault.Stuck"/> instead.</item>
/// <item>Exceptions from the bus are caught and reported as faults; only programming errors escape.</item>
/// <item>Steady-state reads allocate nothing (the bus layer may allocate the exception of a failed transfer).</item>
/// </list>
/// </summary>
public interface ISampleSource : IDisposable
{
    /// <summary>Channel names in the order of a reading's values, e.g. ax, ay, az, gx, gy, gz.</summary>
    IReadOnlyList<string> ChannelNames { get; }

    /// <summary>True when readings carry their own timestamps (replays); false when the caller stamps them.</summary>
    bool ProvidesTimestamps { get; }

    /// <summary>Why the last <see cref="TryRead"/> returned false; <see cref="SensorFault.None"/> after a success.</summary>
    SensorFault LastFault { get; }

    bool TryRead(out Reading reading);
}
