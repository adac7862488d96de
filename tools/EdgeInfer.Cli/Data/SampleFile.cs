using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EdgeInfer.Converter.Evaluation;

namespace EdgeInfer.Cli.Data;

/// <summary>Where a sample file keeps its labels.</summary>
public enum LabelColumn
{
    None,
    LastColumn,
}

/// <summary>
/// Reads samples for a model input of <c>width</c> values: CSV (one sample per row, values in the input's layout,
/// optional header line, optional label in the last column) or NumPy .npy (little-endian float32, C order, shape
/// [N, ...] whose trailing dimensions hold <c>width</c> values, or exactly one sample). Every problem is a
/// <see cref="CliError"/> naming the file (and the line, for CSV).
/// </summary>
public static partial class SampleFile
{
    public static Dataset Read(string path, int width, LabelColumn labels, int maxSamples = int.MaxValue)
    {
        if (!File.Exists(path))
        {
            throw new CliError($"{path}: file not found");
        }

        return Path.GetExtension(path).Equals(".npy", StringComparison.OrdinalIgnoreCase)
            ? ReadNpy(path, width, labels, maxSamples)
            : ReadCsv(path, width, labels, maxSamples);
    }

    public static Dataset ReadCsv(string path, int width, LabelColumn labels, int maxSamples = int.MaxValue)
    {
        int expected = width + (labels == LabelColumn.LastColumn ? 1 : 0);
        var samples = new List<float[]>();
        var labelValues = labels == LabelColumn.LastColumn ? new List<double>() : null;
        int lineNumber = 0;
        using var reader = new StreamReader(path, Encoding.UTF8);
        while (reader.ReadLine() is { } line && samples.Count < maxSamples)
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] fields = line.Split(',');
            if (lineNumber == 1 && !double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                continue; // a header line
            }

            if (fields.Length != expected)
            {
                string what = labels == LabelColumn.LastColumn ? $"{width} values and a label" : $"{width} values";
                throw new CliError($"{path}:{lineNumber}: {fields.Length} columns; the model input takes {what}{(fields.Length == width + 1 && labels == LabelColumn.None ? " (is the last column a label? use --labels last-column)" : "")}");
            }

            var sample = new float[width];
            for (int i = 0; i < width; i++)
            {
                if (!float.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out sample[i]))
                {
                    throw new CliError($"{path}:{lineNumber}: column {i + 1} '{Clip(fields[i])}' is not a number");
                }
            }

            if (labelValues is not null)
            {
                if (!double.TryParse(fields[width], NumberStyles.Float, CultureInfo.InvariantCulture, out double label))
                {
                    throw new CliError($"{path}:{lineNumber}: label '{Clip(fields[width])}' is not a number");
                }

                labelValues.Add(label);
            }

            samples.Add(sample);
        }

        if (samples.Count == 0)
        {
            throw new CliError($"{path}: no samples");
        }

        return new Dataset(samples, labelValues, path);
    }

    /// <summary>NumPy format 1.0–3.0: magic, version, header length, a Python dict literal, then the data.</summary>
    public static Dataset ReadNpy(string path, int width, LabelColumn labels, int maxSamples = int.MaxValue)
    {
        if (labels != LabelColumn.None)
        {
            throw new CliError($"{path}: .npy files hold samples only; put labels in a CSV, or drop --labels");
        }

        using FileStream file = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[12];
        if (file.ReadAtLeast(prefix, 12, throwOnEndOfStream: false) < 10 || prefix[0] != 0x93 || !prefix[1..6].SequenceEqual("NUMPY"u8))
        {
            throw new CliError($"{path}: not a .npy file (no \\x93NUMPY magic)");
        }

        byte major = prefix[6];
        int headerStart = major == 1 ? 10 : 12;
        long headerLength = major switch
        {
            1 => BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]),
            2 or 3 => BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]),
            _ => throw new CliError($"{path}: .npy format version {major} is not supported (1, 2 or 3)"),
        };
        if (headerLength > 1 << 16 || headerStart + headerLength > file.Length)
        {
            throw new CliError($"{path}: .npy header length {headerLength} is invalid for a {file.Length}-byte file");
        }

        var headerBytes = new byte[headerLength];
        file.Position = headerStart;
        file.ReadExactly(headerBytes);
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        string descr = Field(path, header, DescrPattern(), "descr");
        if (descr is not ("<f4" or "f4" or "=f4"))
        {
            throw new CliError($"{path}: dtype '{descr}' is not supported; save float32 (e.g. array.astype('<f4'))");
        }

        if (Field(path, header, FortranPattern(), "fortran_order") != "False")
        {
            throw new CliError($"{path}: fortran_order arrays are not supported; save a C-order array (np.ascontiguousarray)");
        }

        string shapeText = Field(path, header, ShapePattern(), "shape");
        long[] shape = [.. shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d =>
            long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw new CliError($"{path}: shape ({shapeText}) is not a list of sizes"))];
        long total = 1;
        foreach (long d in shape)
        {
            if (d > int.MaxValue || (d > 0 && total > long.MaxValue / 4 / d))
            {
                throw new CliError($"{path}: shape ({shapeText}) is too large");
            }

            total *= d;
        }

        long dataStart = headerStart + headerLength;
        if ((file.Length - dataStart) != total * 4)
        {
            throw new CliError($"{path}: shape ({shapeText}) needs {total * 4} data bytes; the file holds {file.Length - dataStart}");
        }

        long count = total == width ? 1 : shape.Length >= 2 && total / Math.Max(1, shape[0]) == width ? shape[0] : -1;
        if (count < 0)
        {
            throw new CliError($"{path}: shape ({shapeText}) does not hold samples of {width} values (expected ({width},) or (N, …) with {width} values per sample)");
        }

        count = Math.Min(count, maxSamples);
        var samples = new List<float[]>((int)Math.Min(count, 1 << 20));
        var row = new byte[width * 4];
        for (long i = 0; i < count; i++)
        {
            file.ReadExactly(row);
            var sample = new float[width];
            for (int j = 0; j < width; j++)
            {
                sample[j] = BinaryPrimitives.ReadSingleLittleEndian(row.AsSpan(4 * j));
            }

            samples.Add(sample);
        }

        if (samples.Count == 0)
        {
            throw new CliError($"{path}: no samples");
        }

        return new Dataset(samples, null, path);
    }

    /// <summary>Writes float32 samples as a version 1.0 .npy file of shape [N, width].</summary>
    public static void WriteNpy(string path, IReadOnlyList<float[]> samples)
    {
        int width = samples.Count == 0 ? 0 : samples[0].Length;
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({samples.Count}, {width}), }}";
        int pad = 64 - ((10 + dict.Length + 1) % 64);
        string header = dict + new string(' ', pad % 64) + "\n";
        using FileStream file = File.Create(path);
        file.Write([0x93, .. "NUMPY"u8, 1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        file.Write(length);
        file.Write(Encoding.Latin1.GetBytes(header));
        Span<byte> value = stackalloc byte[4];
        foreach (float[] s in samples)
        {
            foreach (float v in s)
            {
                BinaryPrimitives.WriteSingleLittleEndian(value, v);
                file.Write(value);
            }
        }
    }

    private static string Field(string path, string header, Regex pattern, string name)
    {
        Match m = pattern.Match(header);
        return m.Success ? m.Groups[1].Value : throw new CliError($"{path}: .npy header has no '{name}' entry");
    }

    private static string Clip(string s) => s.Length <= 20 ? s : s[..20] + "…";

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
