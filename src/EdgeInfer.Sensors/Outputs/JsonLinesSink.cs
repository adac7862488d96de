using System.Globalization;
using System.Text;

namespace EdgeInfer.Sensors.Outputs;

/// <summary>
/// Writes one JSON object per inference, one per line:
/// <c>{"window":3,"start_us":96000,"end_us":1356000,"class":1,"label":"shake","scores":[-2.1,4.75,0.5,-1]}</c>.
/// <para>The text is deterministic: integers in invariant digits, floats in their shortest round-trip form ("R"),
/// so two machines that compute the same float bits print the same bytes and outputs can be compared with cmp.
/// Non-finite scores are written as null (JSON has no NaN).</para>
/// <para>Lines are formatted with UTF-8 span formatting into a buffer allocated here; labels are encoded once, at
/// construction. Nothing is allocated per line. The sink owns the buffer, not the stream.</para>
/// </summary>
public sealed class JsonLinesSink : IInferenceSink
{
    private static readonly byte[] s_window = "{\"window\":"u8.ToArray();
    private static readonly byte[] s_start = ",\"start_us\":"u8.ToArray();
    private static readonly byte[] s_end = ",\"end_us\":"u8.ToArray();
    private static readonly byte[] s_class = ",\"class\":"u8.ToArray();
    private static readonly byte[] s_label = ",\"label\":"u8.ToArray();
    private static readonly byte[] s_scores = ",\"scores\":["u8.ToArray();
    private static readonly byte[] s_close = "]}\n"u8.ToArray();
    private static readonly byte[] s_null = "null"u8.ToArray();

    private readonly Stream _output;
    private readonly byte[][] _labels;
    private readonly bool _flushEachLine;
    private readonly byte[] _buffer;
    private int _used;

    /// <param name="output">Where lines go (stdout on the device).</param>
    /// <param name="labels">Class names by index; null or shorter than the scores writes no label for the missing ones.</param>
    /// <param name="flushEachLine">Write every line through at once (live mode, so each decision is seen when it is made); otherwise lines are batched.</param>
    /// <param name="maxScores">The most scores a line will carry; sizes the buffer.</param>
    public JsonLinesSink(Stream output, IReadOnlyList<string>? labels, bool flushEachLine, int maxScores)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxScores, 1);
        _output = output;
        _flushEachLine = flushEachLine;
        _labels = new byte[labels?.Count ?? 0][];
        int longestLabel = 0;
        for (int i = 0; i < _labels.Length; i++)
        {
            // Escaped once, here: quotes, backslashes and control characters.
            _labels[i] = Encoding.UTF8.GetBytes(Quote(labels![i]));
            longestLabel = Math.Max(longestLabel, _labels[i].Length);
        }

        int longestLine = 128 + longestLabel + (maxScores * 32);
        _buffer = new byte[Math.Max(longestLine * 4, 16 * 1024)];
        LineCapacity = longestLine;
    }

    /// <summary>The longest line this sink can format.</summary>
    public int LineCapacity { get; }

    /// <summary>Lines written so far.</summary>
    public long Lines { get; private set; }

    public void OnInference(in InferenceResult result)
    {
        if (result.Scores.Length * 32 > LineCapacity - 128)
        {
            throw new ArgumentException($"{result.Scores.Length} scores do not fit a line of this sink", nameof(result));
        }

        if (_buffer.Length - _used < LineCapacity)
        {
            Flush();
        }

        Span<byte> line = _buffer.AsSpan(_used);
        int n = 0;
        Append(line, ref n, s_window);
        AppendInteger(line, ref n, result.WindowIndex);
        Append(line, ref n, s_start);
        AppendInteger(line, ref n, result.StartMicros);
        Append(line, ref n, s_end);
        AppendInteger(line, ref n, result.EndMicros);
        Append(line, ref n, s_class);
        AppendInteger(line, ref n, result.ClassIndex);
        if ((uint)result.ClassIndex < (uint)_labels.Length)
        {
            Append(line, ref n, s_label);
            Append(line, ref n, _labels[result.ClassIndex]);
        }

        Append(line, ref n, s_scores);
        ReadOnlySpan<float> scores = result.Scores;
        for (int i = 0; i < scores.Length; i++)
        {
            if (i > 0)
            {
                line[n++] = (byte)',';
            }

            AppendFloat(line, ref n, scores[i]);
        }

        Append(line, ref n, s_close);
        _used += n;
        Lines++;
        if (_flushEachLine)
        {
            Flush();
        }
    }

    public void Flush()
    {
        if (_used > 0)
        {
            _output.Write(_buffer, 0, _used);
            _used = 0;
        }

        _output.Flush();
    }

    /// <summary>Formats one float the way every line does: shortest round-trip, invariant; null when not finite.</summary>
    public static int FormatFloat(float value, Span<byte> destination)
    {
        int n = 0;
        AppendFloat(destination, ref n, value);
        return n;
    }

    /// <summary>A JSON string literal: the text in quotes, with quote, backslash and control characters escaped.</summary>
    internal static string Quote(string text)
    {
        var b = new StringBuilder(text.Length + 2);
        b.Append('"');
        foreach (char ch in text)
        {
            switch (ch)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                default:
                    if (ch < ' ')
                    {
                        b.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        b.Append(ch);
                    }

                    break;
            }
        }

        return b.Append('"').ToString();
    }

    private static void Append(Span<byte> line, ref int n, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(line[n..]);
        n += bytes.Length;
    }

    private static void AppendInteger(Span<byte> line, ref int n, long value)
    {
        value.TryFormat(line[n..], out int written, default, CultureInfo.InvariantCulture);
        n += written;
    }

    private static void AppendFloat(Span<byte> line, ref int n, float value)
    {
        if (!float.IsFinite(value))
        {
            Append(line, ref n, s_null);
            return;
        }

        value.TryFormat(line[n..], out int written, "R", CultureInfo.InvariantCulture);
        n += written;
    }
}
