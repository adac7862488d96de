using System.Text.Json;

namespace EdgeInfer.Cli.Tests;

/// <summary><c>convert --prune</c>: fixed and searched sparsity, what it prints, and what it refuses.</summary>
public sealed class PruneTests : IDisposable
{
    private readonly string _dir = CliRunner.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ConvertPruneInt8_StoresTheHiddenLayersSparse_AndInspectShowsIt()
    {
        string eim = Path.Combine(_dir, "mlp_pruned.eim");
        var convert = CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", eim, "--prune", "0.6",
            "--quantize", "int8", "--calibration", CliRunner.Fixture("digits", "digits_calib.csv"));
        Assert.True(convert.Exit == 0, convert.Err);
        Assert.Contains("pruned /fc1/Gemm: 154 of 256 blocks zero (60.2 %), 4,096 weights", convert.Out, StringComparison.Ordinal);

        var inspect = CliRunner.Run("inspect", eim, "--json");
        Assert.True(inspect.Exit == 0, inspect.Err);
        using JsonDocument doc = JsonDocument.Parse(inspect.Out);
        JsonElement[] sparse = [.. doc.RootElement.GetProperty("tensors").EnumerateArray().Where(t => t.TryGetProperty("sparse", out _))];
        Assert.Equal(2, sparse.Length);
        Assert.All(sparse, t => Assert.Equal(16, t.GetProperty("sparse").GetProperty("block_width").GetInt32()));
    }

    [Fact]
    public void ConvertPruneAuto_ReportsTheAccuracyItKept()
    {
        string eim = Path.Combine(_dir, "auto.eim");
        var convert = CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", eim, "--prune", "auto",
            "--prune-max-drop", "1", "--eval-data", CliRunner.Fixture("digits", "digits_test.csv"));
        Assert.True(convert.Exit == 0, convert.Err);
        Assert.Matches(@"accuracy on .*digits_test\.csv: float 98\.06%, pruned float 9[7-8]\.\d\d% \(drop 0\.\d\d points, budget 1\.00\)", convert.Out);
    }

    [Theory]
    [InlineData("1.5", null, "--prune '1.5' must be a fraction from 0 to 0.99, or auto")]
    [InlineData("half", null, "--prune 'half' must be a fraction from 0 to 0.99, or auto")]
    [InlineData("auto", null, "--prune auto needs --eval-data FILE")]
    [InlineData("0.5", "3", "--prune-block 3 must be a power of two from 1 to 64")]
    public void BadPruneOptions_AreRefused_AndWriteNothing(string prune, string? block, string message)
    {
        string eim = Path.Combine(_dir, "bad.eim");
        string[] args = ["convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", eim, "--prune", prune, .. block is null ? [] : new[] { "--prune-block", block }];
        var convert = CliRunner.Run(args);
        Assert.Equal(2, convert.Exit);
        Assert.Contains(message, convert.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(eim));
    }
}
