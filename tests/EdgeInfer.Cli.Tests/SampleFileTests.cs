using System.Buffers.Binary;
using System.Text;
using EdgeInfer.Cli.Data;

namespace EdgeInfer.Cli.Tests;

/// <summary>.npy and CSV sample files: what is read, and what is refused with a message naming the file.</summary>
public sealed class SampleFileTests : IDisposable
{
    private readonly string _dir = CliRunner.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Npy_RoundTrip_RunGivesTheSameOutputsAsCsv()
    {
        float[][] rows = [.. CliRunner.ReadCsv(CliRunner.Fixture("digits", "digits_test.csv")).Take(20).Select(r => r[..64])];
        string npy = Path.Combine(_dir, "x.npy");
        SampleFile.WriteNpy(npy, rows);
        Assert.Equal(rows, SampleFile.Read(npy, 64, LabelColumn.None).Samples);

        string csv = Path.Combine(_dir, "x.csv");
        File.WriteAllLines(csv, rows.Select(r => string.Join(",", r.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
        string eim = Path.Combine(_dir, "mlp.eim");
        Assert.Equal(0, CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", eim).Exit);
        var fromNpy = CliRunner.Run("run", eim, "--input", npy);
        var fromCsv = CliRunner.Run("run", eim, "--input", csv);
        Assert.Equal(0, fromNpy.Exit);
        Assert.Equal(fromCsv.Out, fromNpy.Out);
        Assert.Equal(20, fromNpy.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Csv_HeaderLineIsSkipped_LabelsAreRead()
    {
        string csv = Path.Combine(_dir, "h.csv");
        File.WriteAllLines(csv, ["a,b,label", "1,2,0", "3,4,1"]);
        var data = SampleFile.Read(csv, 2, LabelColumn.LastColumn);
        Assert.Equal([[1f, 2f], [3f, 4f]], data.Samples);
        Assert.Equal([0.0, 1.0], data.Labels!);
    }

    private string Npy(string dict, int dataBytes)
    {
        string header = dict.PadRight(118) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([1, 0]);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)header.Length);
        bytes.AddRange(length);
        bytes.AddRange(Encoding.Latin1.GetBytes(header));
        bytes.AddRange(new byte[dataBytes]);
        string path = Path.Combine(_dir, $"case{Guid.NewGuid():N}.npy");
        File.WriteAllBytes(path, [.. bytes]);
        return path;
    }

    [Theory]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), }", 64, "dtype '<f8'")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 4), }", 32, "dtype '>f4'")]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 4), }", 32, "fortran_order")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5), }", 40, "does not hold samples of 4 values")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", 31, "needs 32 data bytes; the file holds 31")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2000000000, 2000000000, 4), }", 32, "too large")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, }", 32, "no 'shape'")]
    public void Npy_Malformed_IsRefusedWithAReason(string dict, int dataBytes, string reason)
    {
        string path = Npy(dict, dataBytes);
        var e = Assert.Throws<CliError>(() => SampleFile.Read(path, 4, LabelColumn.None));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Npy_NotNumpy_IsRefused()
    {
        string path = Path.Combine(_dir, "fake.npy");
        File.WriteAllText(path, "hello");
        Assert.Contains("not a .npy file", Assert.Throws<CliError>(() => SampleFile.Read(path, 4, LabelColumn.None)).Message, StringComparison.Ordinal);
    }
}
