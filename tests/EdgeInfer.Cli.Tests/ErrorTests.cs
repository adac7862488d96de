using EdgeInfer.Converter.Tests.Support;

namespace EdgeInfer.Cli.Tests;

/// <summary>Bad input: one line naming the file and the problem on stderr, exit code 2, no stack trace, nothing lost.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly string _dir = CliRunner.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DigitsMlp()
    {
        string eim = Path.Combine(_dir, "mlp.eim");
        Assert.Equal(0, CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", eim).Exit);
        return eim;
    }

    private static void AssertBadInput((int Exit, string Out, string Err) result, params string[] mentions)
    {
        Assert.True(result.Exit == ExitCodes.BadInput, $"exit {result.Exit}: {result.Err}");
        Assert.StartsWith("edgeinfer: ", result.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Err, StringComparison.Ordinal);
        foreach (string m in mentions)
        {
            Assert.Contains(m, result.Err, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void MissingModel_NamesTheFile()
    {
        string missing = Path.Combine(_dir, "nope.onnx");
        AssertBadInput(CliRunner.Run("convert", missing, "-o", Path.Combine(_dir, "x.eim")), missing, "not found");
        AssertBadInput(CliRunner.Run("run", Path.Combine(_dir, "nope.eim"), "--input", "x.csv"), "nope.eim", "not found");
    }

    [Fact]
    public void CsvOfTheWrongWidth_NamesFileAndLine()
    {
        string csv = Path.Combine(_dir, "bad.csv");
        File.WriteAllLines(csv, [string.Join(",", Enumerable.Repeat("0.5", 64)), string.Join(",", Enumerable.Repeat("0.5", 63))]);
        AssertBadInput(CliRunner.Run("run", DigitsMlp(), "--input", csv), $"{csv}:2:", "63 columns", "64 values");
    }

    [Fact]
    public void CsvWithText_NamesFileLineAndColumn()
    {
        string csv = Path.Combine(_dir, "text.csv");
        File.WriteAllLines(csv, [string.Join(",", Enumerable.Repeat("0.5", 64)), "0.1," + string.Join(",", Enumerable.Repeat("x", 63))]);
        AssertBadInput(CliRunner.Run("run", DigitsMlp(), "--input", csv), $"{csv}:2:", "column 2 'x' is not a number");
    }

    [Theory]
    [InlineData("nan-calibration", "sample 2, value 3 is NaN; calibration needs finite values")]
    [InlineData("--percentile=0", "--percentile 0 is outside (0, 100]")]
    [InlineData("--percentile=100.5", "--percentile 100.5 is outside (0, 100]")]
    [InlineData("--max-accuracy-drop=-1", "--max-accuracy-drop -1 must be 0 or more points")]
    [InlineData("--keep-float=/fc2/Gem", "--keep-float '/fc2/Gem': no node or activation has that name")]
    public void Int8Options_ThatWouldGiveABrokenModel_AreRefused_AndNothingIsWritten(string bad, string message)
    {
        string onnx = CliRunner.Fixture("digits", "digits_mlp.onnx");
        string calibration = CliRunner.Fixture("digits", "digits_calib.csv");
        string test = CliRunner.Fixture("digits", "digits_test.csv");
        var args = new List<string> { "convert", onnx, "-o", Path.Combine(_dir, "out.eim"), "--quantize", "int8" };
        if (bad == "nan-calibration")
        {
            calibration = Path.Combine(_dir, "nan.csv");
            string row = string.Join(",", Enumerable.Repeat("0.5", 64));
            File.WriteAllLines(calibration, [row, "0.5,0.5,NaN," + string.Join(",", Enumerable.Repeat("0.5", 61))]);
        }
        else
        {
            string[] option = bad.Split('=', 2);
            args.AddRange(option);
            if (option[0] == "--max-accuracy-drop")
            {
                args.AddRange(["--eval-data", test]);
            }
        }

        args.AddRange(["--calibration", calibration]);
        AssertBadInput(CliRunner.Run([.. args]), message);
        Assert.False(File.Exists(Path.Combine(_dir, "out.eim")));
    }

    [Theory]
    [InlineData("10", "label 10 is not a class of this model (an integer from 0 to 9: it has 10 outputs)")]
    [InlineData("2.5", "label 2.5 is not a class of this model")]
    [InlineData("-1", "label -1 is not a class of this model")]
    public void Eval_LabelThatIsNoClass_IsRefused_NotCountedAsAMiss(string label, string message)
    {
        string csv = Path.Combine(_dir, "labels.csv");
        string row = string.Join(",", Enumerable.Repeat("0.5", 64));
        File.WriteAllLines(csv, [row + ",3", row + "," + label]);
        AssertBadInput(CliRunner.Run("eval", DigitsMlp(), "--data", csv, "--labels", "last-column"), csv, "sample 2: " + message);
    }

    [Theory]
    [InlineData("bench", "--iterations", "0", "--iterations 0: give 1 or more")]
    [InlineData("bench", "--iterations", "-5", "--iterations -5: give 1 or more")]
    [InlineData("demo", "--bench-seconds", "NaN", "--bench-seconds NaN: give a time above 0")]
    [InlineData("demo", "--bench-seconds", "0", "--bench-seconds 0: give a time above 0")]
    public void BenchmarkBudgets_OutOfRange_AreBadInput_NotInternalErrors(string command, string option, string value, string message)
    {
        string[] args = command == "bench" ? [command, DigitsMlp(), option, value] : [command, option, value];
        AssertBadInput(CliRunner.Run(args), message);
    }

    [Fact]
    public void OutputInAMissingDirectory_NamesTheDirectory()
    {
        string missing = Path.Combine(_dir, "no-such-dir");
        AssertBadInput(CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", Path.Combine(missing, "m.eim")),
            Path.Combine(missing, "m.eim"), $"the directory {missing} does not exist");
        AssertBadInput(CliRunner.Run("run", DigitsMlp(), "--input", CliRunner.Fixture("digits", "digits_test.csv"), "--labels", "last-column",
            "--output", Path.Combine(missing, "out.csv")), $"the directory {missing} does not exist");
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void Run_ThatFails_LeavesAnEarlierOutputFileIntact()
    {
        string output = Path.Combine(_dir, "out.csv");
        File.WriteAllText(output, "earlier results\n");
        string csv = Path.Combine(_dir, "labels.csv");
        string row = string.Join(",", Enumerable.Repeat("0.5", 64));
        File.WriteAllLines(csv, [row + ",3", row + ",11"]);
        AssertBadInput(CliRunner.Run("run", DigitsMlp(), "--input", csv, "--labels", "last-column", "--output", output), "label 11 is not a class");
        Assert.Equal("earlier results\n", File.ReadAllText(output));
        Assert.Empty(Directory.GetFiles(_dir, "out.csv.tmp-*"));
    }

    [Fact]
    public void CorruptModel_GivesTheErrorCode_AndConvertLosesNothing()
    {
        string eim = DigitsMlp();
        byte[] bytes = File.ReadAllBytes(eim);
        bytes[^100] ^= 0x10;
        File.WriteAllBytes(eim, bytes);
        AssertBadInput(CliRunner.Run("run", eim, "--input", CliRunner.Fixture("digits", "digits_test.csv"), "--labels", "last-column"), eim, "[EIM110]");

        // A failed conversion leaves an existing output file as it was.
        string onnx = Path.Combine(_dir, "broken.onnx");
        File.WriteAllBytes(onnx, [1, 2, 3, 4, 5]);
        AssertBadInput(CliRunner.Run("convert", onnx, "-o", eim), onnx);
        Assert.Equal(bytes, File.ReadAllBytes(eim));
    }

    [Fact]
    public void UnsupportedOperator_NamesOpNodeAndSupportedList()
    {
        string onnx = Path.Combine(_dir, "erf.onnx");
        File.WriteAllBytes(onnx, new OnnxBuilder().Input("x", 1, 4).Node("Erf", ["x"], ["y"]).Output("y", 1, 4).ToBytes());
        var result = CliRunner.Run("convert", onnx, "-o", Path.Combine(_dir, "erf.eim"));
        AssertBadInput(result, onnx, "(Erf)", "Conv", "Gemm", "Softmax");
        Assert.False(File.Exists(Path.Combine(_dir, "erf.eim")));
    }

    [Fact]
    public void Int8WithoutCalibration_SaysWhatToDo()
        => AssertBadInput(CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", Path.Combine(_dir, "q.eim"), "--quantize", "int8"),
            "--calibration", "int8-weights");

    [Fact]
    public void UnknownOption_IsAUsageError()
    {
        var result = CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", Path.Combine(_dir, "x.eim"), "--frobnicate");
        Assert.Equal(ExitCodes.BadInput, result.Exit);
        Assert.Contains("--frobnicate", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Verbose_AddsTheStackTrace()
    {
        var result = CliRunner.Run("run", Path.Combine(_dir, "nope.eim"), "--input", "x.csv", "--verbose");
        Assert.Equal(ExitCodes.BadInput, result.Exit);
        Assert.Contains("   at ", result.Err, StringComparison.Ordinal);
    }
}
