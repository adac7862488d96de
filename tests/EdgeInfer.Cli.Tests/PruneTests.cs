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

/// <summary><c>eval a b c</c>: several models side by side on the same data.</summary>
public sealed class EvalComparisonTests : IDisposable
{
    private readonly string _dir = CliRunner.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Eval_SeveralModels_ComparesSizeAccuracyAgreementAndLatency()
    {
        string onnx = CliRunner.Fixture("digits_pruned", "digits_pruned.onnx");
        string sparse = CliRunner.Fixture("digits_pruned", "digits_pruned_int8.eim");
        string dense = Path.Combine(_dir, "dense_int8.eim");
        var convert = CliRunner.Run("convert", onnx, "-o", dense, "--dense", "--quantize", "int8", "--calibration", CliRunner.Fixture("digits", "digits_calib.csv"));
        Assert.True(convert.Exit == 0, convert.Err);

        var eval = CliRunner.Run("eval", onnx, dense, sparse, "--data", CliRunner.Fixture("digits", "digits_test.csv"), "--labels", "last-column", "--json");
        Assert.True(eval.Exit == 0, eval.Err);
        using JsonDocument doc = JsonDocument.Parse(eval.Out);
        JsonElement[] models = [.. doc.RootElement.GetProperty("models").EnumerateArray()];
        Assert.Equal([onnx, dense, sparse], models.Select(m => m.GetProperty("model").GetString()));
        Assert.Equal(new FileInfo(dense).Length, models[1].GetProperty("file_bytes").GetInt64());
        Assert.Equal(new FileInfo(sparse).Length, models[2].GetProperty("file_bytes").GetInt64());
        Assert.True(models[2].GetProperty("file_bytes").GetInt64() * 3 < models[1].GetProperty("file_bytes").GetInt64());
        Assert.All(models, m => Assert.Equal(0.9806, m.GetProperty("accuracy").GetDouble(), 4));
        Assert.All(models, m => Assert.True(m.GetProperty("median_us").GetDouble() > 0));
        // The two int8 files hold the same numbers: the same outputs, so the same agreement with the float model.
        Assert.Equal(models[1].GetProperty("agreement").GetProperty("sqnr_db").GetDouble(), models[2].GetProperty("agreement").GetProperty("sqnr_db").GetDouble());
        Assert.Equal(JsonValueKind.Null, models[0].GetProperty("agreement").GetProperty("sqnr_db").ValueKind); // itself: exact

        var text = CliRunner.Run("eval", onnx, sparse, "--data", CliRunner.Fixture("digits", "digits_test.csv"), "--labels", "last-column");
        Assert.True(text.Exit == 0, text.Err);
        Assert.Contains("agreement and difference against " + onnx, text.Out, StringComparison.Ordinal);
        Assert.Contains("25.5 KiB    98.06 %     0.00    100.0 %", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_PrunedModel_MarksItsSparseLayers()
    {
        string html = Path.Combine(_dir, "pruned.html");
        var report = CliRunner.Run("report", CliRunner.Fixture("digits_pruned", "digits_pruned_int8.eim"), "--reference", CliRunner.Fixture("digits_pruned", "digits_pruned.onnx"),
            "--eval-data", CliRunner.Fixture("digits", "digits_test.csv"), "-o", html);
        Assert.True(report.Exit == 0, report.Err);
        string page = File.ReadAllText(html);
        // fc1 and fc2 (weights and bias as stored, against dense), fc3 dense.
        Assert.Contains("(sparse, 28 % of 17.0 KiB)", page, StringComparison.Ordinal);
        Assert.Contains("(sparse, 20 % of 65.0 KiB)", page, StringComparison.Ordinal);
        Assert.Equal(2, page.Split("(sparse, ").Length - 1);
    }

    [Fact]
    public void Eval_SeveralModels_WithPerLayer_IsRefused()
    {
        string onnx = CliRunner.Fixture("digits", "digits_mlp.onnx");
        var eval = CliRunner.Run("eval", onnx, onnx, "--data", CliRunner.Fixture("digits", "digits_test.csv"), "--reference", onnx, "--per-layer");
        Assert.Equal(2, eval.Exit);
        Assert.Contains("--per-layer compares one model", eval.Err, StringComparison.Ordinal);
    }
}
