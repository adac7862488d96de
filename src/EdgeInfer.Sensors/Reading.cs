using System.Runtime.CompilerServices;

namespace EdgeInfer.Sensors;

/// <summary>Inline storage for the channels of one reading, so a reading is a value and costs no allocation.</summary>
[InlineArray(Reading.MaxChannels)]
public struct ReadingValues
{
    private float _element0;
}

/// <summary>
/// One sample of every channel a source has, in the source's units (g, °/s, °C, hPa, %RH), with the time it was
/// taken in microseconds (the recording's clock for replays; 0 from live sources, which the loop stamps).
/// </summary>
public struct Reading
{
    public const int MaxChannels = 8;

    private ReadingValues _values;

    public Reading(long timestampMicros, ReadOnlySpan<float> values)
    {
        if (values.Length > MaxChannels)
        {
            throw new ArgumentException($"a reading holds at most {MaxChannels} channels, got {values.Length}", nameof(values));
        }

        TimestampMicros = timestampMicros;
        ChannelCount = values.Length;
        values.CopyTo(_values);
    }

    public long TimestampMicros { get; set; }

    public int ChannelCount { get; private set; }

    public readonly float this[int channel]
        => (uint)channel < (uint)ChannelCount ? _values[channel] : throw new ArgumentOutOfRangeException(nameof(channel));

    internal void Set(int channel, float value)
    {
        _values[channel] = value;
        ChannelCount = Math.Max(ChannelCount, channel + 1);
    }
}
