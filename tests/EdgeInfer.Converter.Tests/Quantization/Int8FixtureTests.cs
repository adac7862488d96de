using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Converter.Emit;
using EdgeInfer.Format;
using EdgeInfer.Converter.Tests.Support;

namespace EdgeInfer.Converter.Tests.Quantization;

/// <summary>
/// Static int8 quantization of the trained fixtures, calibrated on their calibration split and scored on their test
/// split through the runtime's int8 kernels: top-1 accuracy within 0.5 points of the float model, and the int8 file
/// weights at most 30% of the float weights.
/// </summary>
public class Int8FixtureTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, string, string, int> Fixtures_ => new()
    {
        { "digits", "digits_mlp.onnx", "digits_calib.csv", "digits_test.csv", 64 },
        { "digits", "digits_cnn.onnx", "digits_calib.csv", "digits_test.csv", 64 },
        { "accel", "accel_conv1d.onnx", "accel_calib.csv", "accel_test.csv", 192 },
        { "accel", "accel_gru.onnx", "accel_calib.csv", "accel_test.csv", 192 },
        { "digits", MobileDigits, "digits_calib.csv", "digits_test.csv", 64 },
        { "digits", Mnv3Digits, "digits_calib.csv", "digits_test.csv", 64 },
    };

    /// <summary>A MobileNetV2-style network trained on the digits (depthwise, residual Add, ReLU6: trained weights).</summary>
    private const string MobileDigits = "../digits_mobile/digits_mobile.onnx";

    /// <summary>A MobileNetV3/EfficientNet-style network trained on the digits (hard-swish, SiLU, squeeze-and-excitation).</summary>
    private const string Mnv3Digits = "../digits_mnv3/digits_mnv3.onnx";

    public static TheoryData<string, string, string, string, int, CalibrationMethod> FixturesByMethod()
    {
        var data = new TheoryData<string, string, string, string, int, CalibrationMethod>();
        foreach (CalibrationMethod method in Enum.GetValues<CalibrationMethod>())
        {
            data.Add("digits", "digits_mlp.onnx", "digits_calib.csv", "digits_test.csv", 64, method);
            data.Add("digits", "digits_cnn.onnx", "digits_calib.csv", "digits_test.csv", 64, method);
            data.Add("accel", "accel_conv1d.onnx", "accel_calib.csv", "accel_test.csv", 192, method);
            data.Add("accel", "accel_gru.onnx", "accel_calib.csv", "accel_test.csv", 192, method);
            data.Add("digits", MobileDigits, "digits_calib.csv", "digits_test.csv", 64, method);
            data.Add("digits", Mnv3Digits, "digits_calib.csv", "digits_test.csv", 64, method);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FixturesByMethod))]
    public void Int8_Fixture_KeepsAccuracyWithinHalfAPoint(string dir, string model, string calib, string test, int width, CalibrationMethod method)
    {
        string folder = Path.Combine(Fixtures.Directory, dir);
        Graph floatGraph = ModelConverter.Lower(Path.Combine(folder, model), new ConvertOptions(), _ => { });
        float[][] calibration = [.. Fixtures.ReadCsv(Path.Combine(folder, calib)).Select(r => r[..width])];
        float[][] rows = Fixtures.ReadCsv(Path.Combine(folder, test));
        var data = new Dataset([.. rows.Select(r => r[..width])], [.. rows.Select(r => (double)r[width])], test);

        byte[] floatFile = ModelEmitter.Emit(floatGraph.Clone()).File;
        var options = new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calibration, Method = method };
        (Graph quantized, QuantizationReport report) = QuantizationPipeline.Run(floatGraph, options, null, null, output.WriteLine);
        byte[] int8File = ModelEmitter.Emit(quantized).File;

        using Model floatModel = Model.FromBytes(floatFile, model + " float");
        using Model int8Model = Model.FromBytes(int8File, model + " int8");
        double floatAccuracy = ModelEvaluator.Evaluate(floatModel, data).Accuracy!.Value * 100;
        double int8Accuracy = ModelEvaluator.Evaluate(int8Model, data).Accuracy!.Value * 100;
        double sizeRatio = (double)int8File.Length / floatFile.Length;
        long floatWeights = floatModel.Graph.Section(SectionKind.Weights).Length;
        long int8Weights = int8Model.Graph.Section(SectionKind.Weights).Length;
        double weightRatio = (double)int8Weights / floatWeights;
        output.WriteLine($"{model}: float {floatAccuracy:F2}% ({floatFile.Length} B, weights {floatWeights} B), int8 {int8Accuracy:F2}% ({int8File.Length} B = {sizeRatio:P1}, weights {int8Weights} B = {weightRatio:P1}); kept float: {string.Join(", ", report.KeptFloat)}");

        // Every layer with an int8 kernel runs in int8. The fused recurrences (accel_gru's GRU) have none: they run in
        // float on int8-stored recurrent weights, and the report lists them as float, which they are.
        Assert.All(report.KeptFloat, name => Assert.Contains(quantized.Nodes, n => n.Name == name && n.Code is OpCode.Lstm or OpCode.Gru));
        Assert.True(floatAccuracy - int8Accuracy <= 0.5, $"int8 {int8Accuracy:F2}% vs float {floatAccuracy:F2}%");
        // Biases are written without quantization records (their scale follows from the input's and the weights').
        Assert.All(int8Model.Graph.Tensors.Where(t => t.IsConstant && t.DataType == DataType.Int32), t => Assert.Null(t.Quantization));
        // These models have 6-7 thousand parameters, so the file's fixed part (tensor table, names, quantization
        // parameters, provenance metadata: about 4 KB) weighs as much as the weights; the 30% bar applies to what
        // scales with the model. MobileNet below checks the whole file.
        Assert.True(weightRatio <= 0.30, $"int8 weights are {weightRatio:P1} of the float weights");
    }

    [Fact]
    public void Int8_MobileNetV2_FileIsUnderThirtyPercentAndTracksFloat()
    {
        string folder = Path.Combine(Fixtures.Directory, "mobilenet");
        Graph floatGraph = ModelConverter.Lower(Path.Combine(folder, "mobilenetv2_035_96.onnx"), new ConvertOptions(), _ => { });
        float[][] inputs = Fixtures.ReadCsv(Path.Combine(folder, "mobilenet_input.csv"));
        byte[] floatFile = ModelEmitter.Emit(floatGraph.Clone()).File;
        var options = new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = inputs, Method = CalibrationMethod.MinMax };
        (Graph quantized, _) = QuantizationPipeline.Run(floatGraph, options, null, null, output.WriteLine);
        byte[] int8File = ModelEmitter.Emit(quantized).File;

        using Model floatModel = Model.FromBytes(floatFile, "mobilenet float");
        using Model int8Model = Model.FromBytes(int8File, "mobilenet int8");
        var data = new Dataset(inputs, null, "mobilenet_input.csv");
        float[][] f = ModelEvaluator.Evaluate(floatModel, data).Outputs;
        float[][] q = ModelEvaluator.Evaluate(int8Model, data).Outputs;
        double signal = 0, noise = 0;
        for (int r = 0; r < f.Length; r++)
        {
            for (int i = 0; i < f[r].Length; i++)
            {
                signal += (double)f[r][i] * f[r][i];
                noise += (double)(f[r][i] - q[r][i]) * (f[r][i] - q[r][i]);
            }
        }

        double sqnr = 10 * Math.Log10(signal / noise);
        IReadOnlyList<LayerSqnr> layers = LayerComparison.Compare(floatModel, int8Model, inputs);
        double sizeRatio = (double)int8File.Length / floatFile.Length;
        output.WriteLine($"MobileNetV2 0.35: float {floatFile.Length} B, int8 {int8File.Length} B ({sizeRatio:P1}); output SQNR {sqnr:F1} dB over {f.Length} inputs");
        Assert.True(sizeRatio <= 0.30, $"int8 file is {sizeRatio:P1} of the float file");
        // With random weights nothing is learned for quantization to preserve: each layer adds noise on top of its
        // input's and the output SQNR ends near 8 dB after 52 convolutions. What must hold is that no single layer
        // (pointwise, depthwise, residual Add, GAP, FullyConnected) loses more than a few dB of its input's SQNR;
        // a broken requantization of any op type loses tens.
        foreach (LayerSqnr layer in layers.Where(l => !double.IsPositiveInfinity(l.InputSqnrDb)))
        {
            Assert.True(layer.LossDb <= 4, $"{layer.Node} ({layer.Op}) loses {layer.LossDb:F1} dB: {layer.InputSqnrDb:F1} → {layer.SqnrDb:F1}");
        }

        Assert.True(layers[1].SqnrDb >= 30, $"first convolution SQNR {layers[1].SqnrDb:F1} dB");
    }

    [Theory]
    [MemberData(nameof(Fixtures_))]
    public void Int8Weights_Fixture_KeepsAccuracyAndShrinksWeights(string dir, string model, string calib, string test, int width)
    {
        _ = calib; // weight-only quantization needs no calibration data
        string folder = Path.Combine(Fixtures.Directory, dir);
        Graph floatGraph = ModelConverter.Lower(Path.Combine(folder, model), new ConvertOptions(), _ => { });
        float[][] rows = Fixtures.ReadCsv(Path.Combine(folder, test));
        var data = new Dataset([.. rows.Select(r => r[..width])], [.. rows.Select(r => (double)r[width])], test);

        byte[] floatFile = ModelEmitter.Emit(floatGraph.Clone()).File;
        (Graph quantized, _) = QuantizationPipeline.Run(floatGraph, new QuantizationOptions { Mode = QuantizationMode.Int8Weights }, null, null, output.WriteLine);
        byte[] weightOnlyFile = ModelEmitter.Emit(quantized).File;

        using Model floatModel = Model.FromBytes(floatFile, model + " float");
        using Model weightOnly = Model.FromBytes(weightOnlyFile, model + " int8 weights");
        double floatAccuracy = ModelEvaluator.Evaluate(floatModel, data).Accuracy!.Value * 100;
        double weightOnlyAccuracy = ModelEvaluator.Evaluate(weightOnly, data).Accuracy!.Value * 100;
        double weightRatio = (double)weightOnly.Graph.Section(SectionKind.Weights).Length / floatModel.Graph.Section(SectionKind.Weights).Length;
        output.WriteLine($"{model}: float {floatAccuracy:F2}%, int8 weights {weightOnlyAccuracy:F2}%, weights {weightRatio:P1} of float");
        Assert.True(floatAccuracy - weightOnlyAccuracy <= 0.5, $"int8-weights {weightOnlyAccuracy:F2}% vs float {floatAccuracy:F2}%");
        Assert.True(weightRatio <= 0.35, $"weights are {weightRatio:P1} of the float weights");
    }

    [Fact]
    public void AccuracyContract_UnreachableBudget_KeepsLayersFloatOneByOne_AndMixedGraphsRun()
    {
        string folder = Path.Combine(Fixtures.Directory, "digits");
        Graph floatGraph = ModelConverter.Lower(Path.Combine(folder, "digits_cnn.onnx"), new ConvertOptions(), _ => { });
        float[][] calibration = [.. Fixtures.ReadCsv(Path.Combine(folder, "digits_calib.csv")).Take(64)];
        float[][] rows = Fixtures.ReadCsv(Path.Combine(folder, "digits_test.csv"));
        var data = new Dataset([.. rows.Take(120).Select(r => r[..64])], [.. rows.Take(120).Select(r => (double)r[64])], "digits_test.csv");
        var options = new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calibration };
        var notes = new List<string>();

        // A negative budget (int8 must beat float by a point) cannot be met: every round keeps one more layer in
        // float, each round's mixed graph is emitted and evaluated, and the loop ends with every layer float.
        (Graph result, QuantizationReport report) = QuantizationPipeline.Run(floatGraph, options, data, -1.0, notes.Add);
        foreach (string note in notes)
        {
            output.WriteLine(note);
        }

        int quantizable = floatGraph.Nodes.Count(n => n.Code is OpCode.Conv2D or OpCode.FullyConnected);
        Assert.True(report.Rounds > 2, $"{report.Rounds} rounds");
        Assert.Equal(report.Rounds - 1, report.KeptFloat.Count);
        Assert.Equal(report.KeptFloat.Count, report.KeptFloat.Distinct().Count());
        Assert.Contains(notes, n => n.Contains("every layer is float", StringComparison.Ordinal));
        Assert.True(report.KeptFloat.Count >= quantizable, $"kept {report.KeptFloat.Count} of {quantizable} Conv/FC layers float");

        using Model model = Model.FromBytes(ModelEmitter.Emit(result).File, "all float");
        Assert.Equal(report.FloatAccuracy, ModelEvaluator.Evaluate(model, data).Accuracy);
    }

    [Fact]
    public void KeepFloat_OneConvolution_MixedGraphQuantizesAtItsBoundaries()
    {
        string folder = Path.Combine(Fixtures.Directory, "digits");
        Graph floatGraph = ModelConverter.Lower(Path.Combine(folder, "digits_cnn.onnx"), new ConvertOptions(), _ => { });
        string conv2 = floatGraph.Nodes.Where(n => n.Code == OpCode.Conv2D).Skip(1).First().Name;
        float[][] calibration = Fixtures.ReadCsv(Path.Combine(folder, "digits_calib.csv"));
        float[][] rows = Fixtures.ReadCsv(Path.Combine(folder, "digits_test.csv"));
        var data = new Dataset([.. rows.Select(r => r[..64])], [.. rows.Select(r => (double)r[64])], "digits_test.csv");
        var options = new QuantizationOptions
        {
            Mode = QuantizationMode.Int8,
            CalibrationSamples = calibration,
            KeepFloat = new HashSet<string>(StringComparer.Ordinal) { conv2 },
        };

        (Graph mixed, QuantizationReport report) = QuantizationPipeline.Run(floatGraph, options, data, null, output.WriteLine);
        Assert.Contains(conv2, report.KeptFloat);
        Node kept = mixed.Nodes.Single(n => n.Name == conv2);
        Assert.Equal(DataType.Float32, kept.Inputs[0]!.Type);
        Assert.Contains(mixed.Nodes, n => n.Code == OpCode.Dequantize && n.Outputs[0] == kept.Inputs[0]);
        Assert.Contains(mixed.Nodes, n => n.Code == OpCode.Quantize && n.Inputs[0] == kept.Outputs[0]);

        using Model model = Model.FromBytes(ModelEmitter.Emit(mixed).File, "mixed");
        double accuracy = ModelEvaluator.Evaluate(model, data).Accuracy!.Value;
        output.WriteLine($"conv2 float, rest int8: {accuracy * 100:F2}% (float {report.FloatAccuracy * 100:F2}%)");
        Assert.True((report.FloatAccuracy!.Value - accuracy) * 100 <= 0.5);
    }
}
