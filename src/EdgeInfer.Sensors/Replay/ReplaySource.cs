using System.Globalization;

namespace EdgeInfer.Sensors.Replay;

/// <summary>
/// A recorded stream replayed as a sample source. The file is CSV: a header naming the columns, the first of which
/// is <c>timestamp_us</c> (microseconds, non-decreasing), then one row per sample with a value for every channel
/// (e.g. <c>timestamp_us,ax,ay,az</c>). The whole file is parsed and checked at open, so a bad file fails before
/// the loop starts, with the file and line named; reads then copy from memory and never allocate.
/// </summary>
public sealed class ReplaySource : ISampleSource
{
    private const string TimestampColumn = "timestamp_us";

    private readonly string[] _channels;
    private readonly long[] _timestamps;
    private readonly float[] _values;
    private int _next;

    private ReplaySource(string path, string[] channels, long[] timestamps, float[] values)
    {
        Path = path;
        _channels = channels;
        _timestamps = timestamps;
        _values = values;
    }

    public string Path { get; }

    public IReadOnlyList<string> ChannelNames => _channels;

    public bool ProvidesTimestamps => true;

    public SensorFault LastFault { get; private set; }

    public int SampleCount => _timestamps.Length;

    /// <summary>Reads and checks a recording. Throws <see cref="ReplayFormatException"/> naming the file and line.</summary>
    public static ReplaySource Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReplayFormatException(path, 0, $"cannot read the recording: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses recording text; <paramref name="path"/> names it in errors.</summary>
    public static ReplaySource Parse(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        var timestamps = new List<long>();
        var values = new List<float>();
        string[]? channels = null;
        int lineNumber = 0;
        int position = 0;
        while (position < text.Length)
        {
            int end = text.IndexOf('\n', position);
            if (end < 0)
            {
                end = text.Length;
            }

            ReadOnlySpan<char> line = text.AsSpan(position, end - position).TrimEnd('\r');
            position = end + 1;
            lineNumber++;
            if (line.IsWhiteSpace())
            {
                continue;
            }

            if (channels is null)
            {
                channels = ParseHeader(line, path, lineNumber);
                continue;
            }

            ParseRow(line, channels.Length, path, lineNumber, timestamps, values);
        }

        if (channels is null)
        {
            throw new ReplayFormatException(path, 0, $"the recording is empty: expected a header starting with {TimestampColumn}");
        }

        if (timestamps.Count == 0)
        {
            throw new ReplayFormatException(path, 0, "the recording has a header but no samples");
        }

        return new ReplaySource(path, channels, [.. timestamps], [.. values]);
    }

    public bool TryRead(out Reading reading)
    {
        if (_next >= _timestamps.Length)
        {
            reading = default;
            LastFault = SensorFault.EndOfStream;
            return false;
        }

        int channels = _channels.Length;
        reading = new Reading(_timestamps[_next], _values.AsSpan(_next * channels, channels));
        _next++;
        LastFault = SensorFault.None;
        return true;
    }

    /// <summary>Starts the replay again from the first row.</summary>
    public void Rewind() => _next = 0;

    public void Dispose()
    {
    }

    private static string[] ParseHeader(ReadOnlySpan<char> line, string path, int lineNumber)
    {
        string[] columns = line.ToString().Split(',');
        for (int i = 0; i < columns.Length; i++)
        {
            columns[i] = columns[i].Trim();
            if (columns[i].Length == 0)
            {
                throw new ReplayFormatException(path, lineNumber, $"header column {i + 1} is empty");
            }
        }

        if (columns[0] != TimestampColumn)
        {
            throw new ReplayFormatException(path, lineNumber, $"the first header column must be {TimestampColumn}, found '{columns[0]}'");
        }

        if (columns.Length < 2)
        {
            throw new ReplayFormatException(path, lineNumber, "the header names no channel after the timestamp");
        }

        if (columns.Length - 1 > Reading.MaxChannels)
        {
            throw new ReplayFormatException(path, lineNumber, $"the header names {columns.Length - 1} channels; at most {Reading.MaxChannels} are supported");
        }

        for (int i = 1; i < columns.Length; i++)
        {
            for (int j = 1; j < i; j++)
            {
                if (columns[i] == columns[j])
                {
                    throw new ReplayFormatException(path, lineNumber, $"channel '{columns[i]}' is named twice in the header");
                }
            }
        }

        return columns[1..];
    }

    private static void ParseRow(ReadOnlySpan<char> line, int channels, string path, int lineNumber, List<long> timestamps, List<float> values)
    {
        int column = 0;
        int expected = channels + 1;
        foreach (Range range in line.Split(','))
        {
            ReadOnlySpan<char> field = line[range].Trim();
            if (column >= expected)
            {
                column++;
                continue;
            }

            if (column == 0)
            {
                if (!long.TryParse(field, NumberStyles.Integer, CultureInfo.InvariantCulture, out long timestamp))
                {
                    throw new ReplayFormatException(path, lineNumber, $"timestamp_us '{field}' is not an integer");
                }

                if (timestamps.Count > 0 && timestamp < timestamps[^1])
                {
                    throw new ReplayFormatException(path, lineNumber, $"timestamp {timestamp} goes back in time (previous {timestamps[^1]})");
                }

                timestamps.Add(timestamp);
            }
            else
            {
                if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
                {
                    throw new ReplayFormatException(path, lineNumber, $"column {column + 1} value '{field}' is not a finite number");
                }

                values.Add(value);
            }

            column++;
        }

        if (column != expected)
        {
            throw new ReplayFormatException(path, lineNumber, $"expected {expected} columns (timestamp_us and {channels} channels), found {column}");
        }
    }
}
