using System.Text.RegularExpressions;
using System.Text.Json;

namespace EdgeInfer.Cli.Tests;

/// <summary>convert → run / eval / inspect / report on the trained fixtures, through the command line.</summary>
public sealed class ConvertRunEvalTests : IDisposable
{
    private readonly string _dir = CliRunner.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("digits_mlp")]
    [InlineData("digits_cnn")]
    public void ConvertThenRun_Digits_MatchesPyTorchWithin1e4(string name)
    {
        string eim = Path.Combine(_dir, name + ".eim");
        var convert = CliRunner.Run("convert", CliRunner.Fixture("digits", name + ".onnx"), "-o", eim);
        Assert.True(convert.Exit == 0, convert.Err);
        Assert.Contains("wrote " + eim, convert.Out, StringComparison.Ordinal);

        string outputs = Path.Combine(_dir, name + "_out.csv");
        var run = CliRunner.Run("run", eim, "--input", CliRunner.Fixture("digits", "digits_test.csv"), "--labels", "last-column", "--output", outputs);
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("top-1 accuracy 98.06% on 360 samples", run.Out, StringComparison.Ordinal);

        float[][] actual = CliRunner.ReadCsv(outputs);
        float[][] expected = CliRunner.ReadCsv(CliRunner.Fixture("digits", name + "_expected.csv"));
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int r = 0; r < expected.Length; r++)
        {
            Assert.Equal(expected[r].Length, actual[r].Length);
            for (int i = 0; i < expected[r].Length; i++)
            {
                max = Math.Max(max, Math.Abs(expected[r][i] - actual[r][i]));
            }
        }

        Assert.True(max <= 1e-4, $"max |Δ| vs PyTorch {max:G3}");
    }

    [Fact]
    public void ConvertTfLite_Int8HelloWorld_RunsAndRefusesRequantization()
    {
        // TFLM's hello_world int8 model: y ≈ sin(x). Float inputs are quantized at the int8 input, outputs dequantized.
        string tflite = CliRunner.Fixture("tflm", "hello_world_int8.tflite");
        string eim = Path.Combine(_dir, "hello.eim");
        var convert = CliRunner.Run("convert", tflite, "-o", eim);
        Assert.True(convert.Exit == 0, convert.Err);
        Assert.Contains("imported 3 TFLite operators", convert.Out, StringComparison.Ordinal);

        string xs = CliRunner.Fixture("tflm", "hello_world_x.csv"), ys = Path.Combine(_dir, "y.csv");
        var run = CliRunner.Run("run", eim, "--input", xs, "--output", ys);
        Assert.True(run.Exit == 0, run.Err);
        float[][] y = CliRunner.ReadCsv(ys);
        // The float model's outputs on the same 64 points (tests/fixtures/tflm/hello_world_float_expected.txt): TFLite's
        // int8 version of it differs by at most 0.093 (point 47); the layer-exact checks are in TfLiteImportTests.
        double[] reference = [.. File.ReadLines(CliRunner.Fixture("tflm", "hello_world_float_expected.txt")).Where(l => !l.StartsWith('#'))
            .Select(l => double.Parse(l.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(reference.Length, y.Length);
        Assert.All(Enumerable.Range(0, y.Length), i => Assert.True(Math.Abs(y[i][0] - reference[i]) < 0.12, $"point {i}: int8 {y[i][0]}, float {reference[i]}"));

        var again = CliRunner.Run("convert", tflite, "-o", Path.Combine(_dir, "again.eim"), "--quantize", "int8", "--calibration", xs);
        Assert.Equal(2, again.Exit);
        Assert.Contains($"{tflite}: the model is already quantized", again.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "again.eim")));
    }

    [Fact]
    public void ConvertInt8_DigitsCnn_EvalJsonWithinHalfAPointOfFloat_PerLayerSqnr()
    {
        string onnx = CliRunner.Fixture("digits", "digits_cnn.onnx");
        string eim = Path.Combine(_dir, "cnn_int8.eim");
        var convert = CliRunner.Run("convert", onnx, "-o", eim, "--quantize", "int8", "--calibration", CliRunner.Fixture("digits", "digits_calib.csv"), "--calibration-method", "entropy");
        Assert.True(convert.Exit == 0, convert.Err);

        var eval = CliRunner.Run("eval", eim, "--data", CliRunner.Fixture("digits", "digits_test.csv"), "--labels", "last-column", "--reference", onnx, "--per-layer", "--json");
        Assert.True(eval.Exit == 0, eval.Err);
        using JsonDocument doc = JsonDocument.Parse(eval.Out);
        double int8 = doc.RootElement.GetProperty("accuracy").GetDouble();
        double fp32 = doc.RootElement.GetProperty("reference").GetProperty("accuracy").GetDouble();
        Assert.True((fp32 - int8) * 100 <= 0.5, $"int8 {int8:P2} vs float {fp32:P2}");
        JsonElement layers = doc.RootElement.GetProperty("layers");
        Assert.True(layers.GetArrayLength() >= 5);
        Assert.All(layers.EnumerateArray().Where(l => l.GetProperty("sqnr_db").ValueKind == JsonValueKind.Number),
            l => Assert.True(l.GetProperty("sqnr_db").GetDouble() > 15, l.ToString()));
    }

    [Fact]
    public void EvalInt8_AgainstReference_WithoutLabels_ReportsAgreement()
    {
        // Unlabelled data (the test split's features, label column dropped): agreement with the float model is what
        // eval can still say.
        string onnx = CliRunner.Fixture("digits", "digits_cnn.onnx");
        string eim = Path.Combine(_dir, "cnn_int8.eim");
        Assert.Equal(0, CliRunner.Run("convert", onnx, "-o", eim, "--quantize", "int8", "--calibration", CliRunner.Fixture("digits", "digits_calib.csv")).Exit);
        string unlabelled = Path.Combine(_dir, "features.csv");
        File.WriteAllLines(unlabelled, File.ReadLines(CliRunner.Fixture("digits", "digits_test.csv")).Select(l => l[..l.LastIndexOf(',')]));

        var text = CliRunner.Run("eval", eim, "--data", unlabelled, "--reference", onnx);
        Assert.True(text.Exit == 0, text.Err);
        Match m = Regex.Match(text.Out, @"agreement with .*digits_cnn\.onnx: same top-1 class on (\d+) of 360 samples \(\d+\.\d\d%\), output SQNR (\d+\.\d) dB, largest difference \S+");
        Assert.True(m.Success, text.Out);
        Assert.True(int.Parse(m.Groups[1].Value) >= 350, text.Out);
        Assert.True(double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 20, text.Out);

        var json = CliRunner.Run("eval", eim, "--data", unlabelled, "--reference", onnx, "--json");
        Assert.True(json.Exit == 0, json.Err);
        using JsonDocument doc = JsonDocument.Parse(json.Out);
        JsonElement agreement = doc.RootElement.GetProperty("agreement");
        Assert.Equal(int.Parse(m.Groups[1].Value) / 360.0, agreement.GetProperty("top1").GetDouble(), 9);
        Assert.True(agreement.GetProperty("sqnr_db").GetDouble() > 20);
        Assert.True(agreement.GetProperty("max_abs_diff").GetDouble() > 0);

        // The model against itself: exact.
        var self = CliRunner.Run("eval", eim, "--data", unlabelled, "--reference", eim);
        Assert.Contains("same top-1 class on 360 of 360 samples (100.00%), identical outputs", self.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void ConvertInt8_WithAccuracyBudget_PrintsTheContract()
    {
        var convert = CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", Path.Combine(_dir, "mlp_int8.eim"),
            "--quantize", "int8", "--calibration", CliRunner.Fixture("digits", "digits_calib.csv"),
            "--max-accuracy-drop", "0.5", "--eval-data", CliRunner.Fixture("digits", "digits_test.csv"));
        Assert.True(convert.Exit == 0, convert.Err);
        Assert.Matches(@"accuracy on .*digits_test\.csv: float 98\.06%, int8 \d+\.\d\d% \(drop -?\d+\.\d\d points\)", convert.Out);
    }

    [Fact]
    public void ConvertInt8Weights_NeedsNoCalibration_AndRuns()
    {
        string eim = Path.Combine(_dir, "mlp_w8.eim");
        var convert = CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", eim, "--quantize", "int8-weights");
        Assert.True(convert.Exit == 0, convert.Err);
        var eval = CliRunner.Run("eval", eim, "--data", CliRunner.Fixture("digits", "digits_test.csv"), "--labels", "last-column", "--json");
        Assert.True(eval.Exit == 0, eval.Err);
        using JsonDocument doc = JsonDocument.Parse(eval.Out);
        Assert.True(doc.RootElement.GetProperty("accuracy").GetDouble() >= 0.975);
    }

    [Fact]
    public void Inspect_Json_ArenaAndTensorsMatchTheModel()
    {
        string eim = Path.Combine(_dir, "cnn.eim");
        Assert.Equal(0, CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_cnn.onnx"), "-o", eim).Exit);
        var inspect = CliRunner.Run("inspect", eim, "--json");
        Assert.True(inspect.Exit == 0, inspect.Err);
        using JsonDocument doc = JsonDocument.Parse(inspect.Out);
        using Model model = Model.Load(eim);
        Assert.Equal(model.Graph.ArenaBytes, doc.RootElement.GetProperty("arena_bytes").GetInt64());
        Assert.True(model.Graph.ArenaBytes > 0);
        Assert.Equal(model.Graph.Tensors.Count, doc.RootElement.GetProperty("tensors").GetArrayLength());
        Assert.Equal(model.Graph.Nodes.Count, doc.RootElement.GetProperty("operators").GetArrayLength());
        Assert.Equal(model.FileLength, doc.RootElement.GetProperty("file_bytes").GetInt64());

        var text = CliRunner.Run("inspect", eim);
        Assert.Contains($"arena {model.Graph.ArenaBytes:N0} B", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_SizeBreakdown_AddsUpToTheFile()
    {
        string eim = Path.Combine(_dir, "mlp_int8.eim");
        Assert.Equal(0, CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_mlp.onnx"), "-o", eim, "--quantize", "int8",
            "--calibration", CliRunner.Fixture("digits", "digits_calib.csv")).Exit);
        var inspect = CliRunner.Run("inspect", eim, "--json");
        Assert.True(inspect.Exit == 0, inspect.Err);
        using JsonDocument doc = JsonDocument.Parse(inspect.Out);
        using Model model = Model.Load(eim);
        JsonElement size = doc.RootElement.GetProperty("size");

        JsonElement constants = size.GetProperty("constants");
        long Constants(DataType type) => model.Graph.Tensors.Where(t => t.IsConstant && t.DataType == type).Sum(t => t.ByteLength);
        Assert.Equal(Constants(DataType.Int8), constants.GetProperty("int8").GetInt64());
        Assert.Equal(Constants(DataType.Int32), constants.GetProperty("int32").GetInt64());
        Assert.Equal(2, constants.EnumerateObject().Count());
        long Section(SectionKind kind) => model.Graph.Sections.Single(s => s.Kind == kind).Length;
        Assert.Equal(Section(SectionKind.Quantization), size.GetProperty("quantization").GetInt64());
        Assert.Equal(Section(SectionKind.Strings), size.GetProperty("strings").GetInt64());
        Assert.Equal(64 + 32 * model.Graph.Sections.Count, size.GetProperty("header_and_section_table").GetInt64());

        long parts = constants.EnumerateObject().Sum(c => c.Value.GetInt64()) + size.GetProperty("quantization").GetInt64()
            + size.GetProperty("graph_records").GetInt64() + size.GetProperty("strings").GetInt64()
            + size.GetProperty("metadata").GetInt64() + size.GetProperty("header_and_section_table").GetInt64();
        long padding = size.GetProperty("padding").GetInt64();
        Assert.Equal(model.FileLength, parts + padding);
        // Padding counted from the layout instead: the gaps before and between sections, and WGHT's own gaps.
        var sections = model.Graph.Sections.OrderBy(s => s.Offset).ToList();
        long gaps = sections[0].Offset - (64 + 32 * sections.Count)
            + sections.Zip(sections.Skip(1), (a, b) => b.Offset - (a.Offset + a.Length)).Sum()
            + Section(SectionKind.Weights) - model.Graph.Tensors.Where(t => t.IsConstant).Sum(t => t.ByteLength);
        Assert.Equal(gaps, padding);

        var text = CliRunner.Run("inspect", eim);
        Assert.Contains($"size: {model.FileLength:N0} B = constants {Constants(DataType.Int8) + Constants(DataType.Int32):N0} (int8 ", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_WritesOneSelfContainedHtmlPage()
    {
        string onnx = CliRunner.Fixture("digits", "digits_cnn.onnx");
        string eim = Path.Combine(_dir, "cnn_int8.eim");
        Assert.Equal(0, CliRunner.Run("convert", onnx, "-o", eim, "--quantize", "int8", "--calibration", CliRunner.Fixture("digits", "digits_calib.csv")).Exit);
        string html = Path.Combine(_dir, "report.html");
        var report = CliRunner.Run("report", eim, "--reference", onnx, "--eval-data", CliRunner.Fixture("digits", "digits_test.csv"), "-o", html);
        Assert.True(report.Exit == 0, report.Err);
        string page = File.ReadAllText(html);
        Assert.StartsWith("<!DOCTYPE html>", page, StringComparison.Ordinal);
        Assert.Contains("<svg", page, StringComparison.Ordinal);
        Assert.Contains("Signal-to-quantization-noise", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"http", page, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_Json_ZeroAllocationsPerInference_AndOnnxRuntimeComparison()
    {
        string onnx = CliRunner.Fixture("digits", "digits_cnn.onnx");
        string eim = Path.Combine(_dir, "cnn.eim");
        Assert.Equal(0, CliRunner.Run("convert", onnx, "-o", eim).Exit);
        var bench = CliRunner.Run("bench", eim, "--compare", onnx, "--iterations", "300", "--json");
        Assert.True(bench.Exit == 0, bench.Err);
        using JsonDocument doc = JsonDocument.Parse(bench.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal(0, root.GetProperty("allocated_bytes_per_inference").GetDouble());
        Assert.True(root.GetProperty("median_us").GetDouble() > 0);
        Assert.True(root.GetProperty("p90_us").GetDouble() >= root.GetProperty("median_us").GetDouble());
        JsonElement compare = root.GetProperty("compare");
        Assert.True(compare.GetProperty("onnxruntime_median_us").GetDouble() > 0);
        Assert.True(compare.GetProperty("ratio").GetDouble() > 0);
        Assert.True(compare.TryGetProperty("onnxruntime_allocated_bytes_per_inference", out _));
    }

    [Fact]
    public void Demo_ConvertsEvaluatesAndBenchmarksBothModels()
    {
        var demo = CliRunner.Run("demo", "--out", _dir, "--bench-seconds", "0.2");
        Assert.True(demo.Exit == 0, demo.Err);
        Assert.Matches(@"(?m)^float32\s+98\.06%", demo.Out);
        Assert.Matches(@"(?m)^int8\s+\d+\.\d\d%", demo.Out);
        Assert.Contains("max |EdgeInfer - ONNX Runtime|", demo.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "digits_cnn_int8.eim")));
    }
}
