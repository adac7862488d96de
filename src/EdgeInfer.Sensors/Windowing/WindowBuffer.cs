namespace EdgeInfer.Sensors.Windowing;

/// <summary>What a tick did to the window schedule.</summary>
public enum WindowEvent
{
    /// <summary>No window ends at this tick.</summary>
    None,

    /// <summary>A window ends here and every one of its ticks holds a sample: it can be inferred.</summary>
    Ready,

    /// <summary>A window ends here but at least one of its ticks is a gap: it must not be inferred.</summary>
    Discarded,
}

/// <summary>
/// The sliding window over a sample stream.
/// <para>Time is counted in ticks, one per nominal sample period; each tick pushes either a sample or a gap (a
/// sample that could not be read, or a hole in a recording). Window k covers ticks [k·hop, k·hop + length), so a
/// window ends at tick t when t + 1 ≥ length and (t + 1 − length) is a multiple of hop. The schedule never shifts
/// around gaps: a window that contains one is reported as <see cref="WindowEvent.Discarded"/> and the windows that
/// follow keep their places, so window indices mean the same time on every run and every machine.</para>
/// <para>Storage is one ring of length × channels floats, allocated here; pushes and reads never allocate.
/// Not thread-safe.</para>
/// </summary>
public sealed class WindowBuffer
{
    private readonly float[] _samples;
    private readonly long[] _timestamps;
    private long _lastGapTick = -1;

    public WindowBuffer(int length, int hop, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hop, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        Length = length;
        Hop = hop;
        Channels = channels;
        _samples = new float[checked(length * channels)];
        _timestamps = new long[length];
    }

    public int Length { get; }
    public int Hop { get; }
    public int Channels { get; }

    /// <summary>Ticks pushed so far (samples and gaps).</summary>
    public long Ticks { get; private set; }

    /// <summary>Index of the window that ended at the last tick, or −1 when none has ended yet.</summary>
    public long WindowIndex { get; private set; } = -1;

    /// <summary>Timestamp of the first sample of the last ready window (µs).</summary>
    public long WindowStartMicros => _timestamps[(int)((Ticks - Length) % Length)];

    /// <summary>Timestamp of the last sample of the last ready window (µs).</summary>
    public long WindowEndMicros => _timestamps[(int)((Ticks - 1) % Length)];

    /// <summary>Adds one sample (its channel values in order) at the next tick.</summary>
    public WindowEvent Push(ReadOnlySpan<float> sample, long timestampMicros)
    {
        if (sample.Length != Channels)
        {
            throw new ArgumentException($"a sample has {Channels} channels, got {sample.Length}", nameof(sample));
        }

        int slot = (int)(Ticks % Length);
        sample.CopyTo(_samples.AsSpan(slot * Channels, Channels));
        _timestamps[slot] = timestampMicros;
        return Advance();
    }

    /// <summary>Marks the next tick as a gap: no sample exists for it.</summary>
    public WindowEvent PushGap()
    {
        _lastGapTick = Ticks;
        return Advance();
    }

    /// <summary>The i-th sample (0 = oldest) of the window that ended at the last tick. Valid until the next push.</summary>
    public ReadOnlySpan<float> Sample(int i)
    {
        if ((uint)i >= (uint)Length)
        {
            throw new ArgumentOutOfRangeException(nameof(i));
        }

        int slot = (int)((Ticks - Length + i) % Length);
        return _samples.AsSpan(slot * Channels, Channels);
    }

    /// <summary>Forgets every sample; the next push is tick 0 again.</summary>
    public void Reset()
    {
        Ticks = 0;
        WindowIndex = -1;
        _lastGapTick = -1;
    }

    private WindowEvent Advance()
    {
        long tick = Ticks++;
        long end = tick + 1 - Length;
        if (end < 0 || end % Hop != 0)
        {
            return WindowEvent.None;
        }

        WindowIndex = end / Hop;
        return _lastGapTick > tick - Length ? WindowEvent.Discarded : WindowEvent.Ready;
    }
}
