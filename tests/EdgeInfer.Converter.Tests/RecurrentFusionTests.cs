using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using EdgeInfer.Runtime;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// The fused Lstm and Gru operators against the unrolled operator chain they replace. The fused kernels' contract is
/// the chain's arithmetic step for step, so one model converted both ways (the internal
/// <see cref="ConvertOptions.UnrollRecurrences"/>) must give the same output bytes on every kernel path; the ONNX
/// Runtime and Keras-reference tests check what both compute. Then the int8 forms: the recurrent weights stored as
/// int8, the recurrence in float on them dequantized (int8-weights) or with the hybrid int8 product (int8).
/// </summary>
public class RecurrentFusionTests(ITestOutputHelper output)
{
    /// <summary>A case: the ONNX model, and how many fused nodes its conversion has (one per direction; 0 = stays unrolled).</summary>
    private static readonly Dictionary<string, (Func<OnnxBuilder> Build, int Fused)> Cases = new()
    {
        ["lstm_forward"] = (() => Onnx("LSTM", [6, 2, 3], 4, ["Y", "Y_h"]), 1),
        ["lstm_reverse"] = (() => Onnx("LSTM", [6, 2, 3], 4, ["Y", "Y_h"], ("direction", "reverse")), 1),
        ["lstm_bidirectional"] = (() => Onnx("LSTM", [5, 2, 3], 4, ["Y", "Y_h"], ("direction", "bidirectional")), 2),
        ["lstm_layout1_batch3"] = (() => Onnx("LSTM", [3, 6, 2], 5, ["Y", "Y_h"], ("layout", 1L)), 1),
        ["lstm_layout1_reverse_last_state_only"] = (() => Onnx("LSTM", [3, 6, 2], 4, ["", "Y_h"], ("layout", 1L), ("direction", "reverse")), 1),
        ["lstm_batch3_hard_sigmoid_gates"] = (() => Onnx("LSTM", [4, 3, 2], 5, ["Y", "Y_h"],
            ("activations", new[] { "HardSigmoid", "Tanh", "Tanh" }), ("activation_alpha", new[] { 0.3f }), ("activation_beta", new[] { 0.4f })), 1),
        ["lstm_relu_candidate_sigmoid_output"] = (() => Onnx("LSTM", [5, 1, 3], 4, ["Y"], ("activations", new[] { "Sigmoid", "Relu", "Sigmoid" })), 1),
        ["lstm_one_step"] = (() => Onnx("LSTM", [1, 2, 3], 4, ["Y", "Y_h"]), 1),
        ["gru_reset_before"] = (() => Onnx("GRU", [6, 2, 3], 4, ["Y", "Y_h"]), 1),
        ["gru_linear_before_reset"] = (() => Onnx("GRU", [6, 2, 3], 4, ["Y", "Y_h"], ("linear_before_reset", 1L)), 1),
        ["gru_reverse_layout1_batch3"] = (() => Onnx("GRU", [3, 5, 3], 4, ["Y", "Y_h"], ("layout", 1L), ("direction", "reverse"), ("linear_before_reset", 1L)), 1),
        ["gru_bidirectional_reset_before"] = (() => Onnx("GRU", [5, 3, 2], 4, ["Y", "Y_h"], ("direction", "bidirectional")), 2),
        ["gru_bidirectional_linear_before_reset_layout1"] = (() => Onnx("GRU", [2, 5, 3], 4, ["Y", "Y_h"], ("direction", "bidirectional"), ("linear_before_reset", 1L), ("layout", 1L)), 2),
        ["gru_batch3_hard_sigmoid_gates"] = (() => Onnx("GRU", [5, 3, 2], 4, ["Y", "Y_h"],
            ("activations", new[] { "HardSigmoid", "Tanh" }), ("activation_alpha", new[] { 0.3f }), ("activation_beta", new[] { 0.4f })), 1),
        // Y_c, the last cell state, has no fused form: this LSTM stays unrolled.
        ["lstm_cell_state_read"] = (() => Onnx("LSTM", [5, 2, 3], 4, ["Y", "Y_h", "Y_c"]), 0),
        ["lstm_bidirectional_cell_state_read"] = (() => Onnx("LSTM", [4, 1, 3], 3, ["", "", "Y_c"], ("direction", "bidirectional")), 0),
    };

    public static TheoryData<string> OnnxCases => [.. Cases.Keys];

    /// <summary>Keras models with recurrent layers (tests/fixtures/keras/synthetic): GRU both ways, stacked LSTMs, Bidirectional.</summary>
    public static TheoryData<string> KerasCases => ["synthetic_k2_gru", "synthetic_k3_lstm", "synthetic_k2_bidirectional"];

    private static OnnxBuilder Onnx(string op, long[] x, int hidden, string[] outputs, params (string, object)[] attrs)
        => LoweringMatchesOrtTests.Recurrent(op, 14, x, hidden, true, outputs, attrs);

    [Theory]
    [MemberData(nameof(OnnxCases))]
    public void Onnx_FusedAndUnrolled_GiveTheSameBytes_OnEveryKernelPath(string name)
    {
        (Func<OnnxBuilder> build, int fusedNodes) = Cases[name];
        string path = build().Save(name);
        try
        {
            (byte[] fused, byte[] unrolled) = ConvertBothWays(path);
            using Model fusedModel = Model.FromBytes(fused, name + " fused");
            using Model unrolledModel = Model.FromBytes(unrolled, name + " unrolled");
            Assert.Equal(fusedNodes, CountRecurrent(fusedModel));
            Assert.Equal(0, CountRecurrent(unrolledModel));
            if (fusedNodes == 0)
            {
                // Kept unrolled: the default conversion is the unrolled one, byte for byte.
                Assert.Equal(unrolled, fused);
            }
            else
            {
                Assert.True(fusedModel.Graph.Nodes.Count < unrolledModel.Graph.Nodes.Count,
                    $"fused {fusedModel.Graph.Nodes.Count} operators, unrolled {unrolledModel.Graph.Nodes.Count}");
            }

            AssertSameBytes(fusedModel, unrolledModel, name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(KerasCases))]
    public void Keras_FusedAndUnrolled_GiveTheSameBytes_OnEveryKernelPath(string name)
    {
        string path = Path.Combine(Fixtures.Directory, "keras", "synthetic", name + ".h5");
        (byte[] fused, byte[] unrolled) = ConvertBothWays(path);
        using Model fusedModel = Model.FromBytes(fused, name + " fused");
        using Model unrolledModel = Model.FromBytes(unrolled, name + " unrolled");
        Assert.True(CountRecurrent(fusedModel) >= 2, $"{CountRecurrent(fusedModel)} fused recurrences");
        Assert.Equal(0, CountRecurrent(unrolledModel));
        AssertSameBytes(fusedModel, unrolledModel, name);
    }

    /// <summary>
    /// int8-weights: R of every fused recurrence is an int8 constant with one scale per row, dequantized at load into
    /// a derived tensor. The unrolled form quantizes the same rows with the same scales (its recurrent
    /// FullyConnected weights), so the two forms still give the same bytes.
    /// </summary>
    [Theory]
    [InlineData("lstm_bidirectional")]
    [InlineData("lstm_layout1_batch3")]
    [InlineData("gru_reset_before")]
    [InlineData("gru_bidirectional_linear_before_reset_layout1")]
    public void Int8Weights_StoresTheRecurrentWeightsAsInt8_AndMatchesTheUnrolledForm(string name)
    {
        OnnxBuilder builder = Cases[name].Build();
        byte[] fused = Quantize(builder, new ConvertOptions(), new QuantizationOptions { Mode = QuantizationMode.Int8Weights });
        byte[] unrolled = Quantize(builder, new ConvertOptions { UnrollRecurrences = true }, new QuantizationOptions { Mode = QuantizationMode.Int8Weights });
        using Model fusedModel = Model.FromBytes(fused, name + " int8-weights fused");
        using Model unrolledModel = Model.FromBytes(unrolled, name + " int8-weights unrolled");
        Assert.Equal(Cases[name].Fused, AssertRecurrentWeightsAreInt8(fusedModel, hybrid: false));
        AssertSameBytes(fusedModel, unrolledModel, name + " int8-weights");
    }

    /// <summary>
    /// int8: the recurrences read the dequantized projection and keep their gates and states in float, while their
    /// product runs hybrid on R stored int8 per row and read by the node itself (no Dequantize since the hybrid
    /// kernel; before, R was dequantized at load and the product was float); the input projection is an ordinary
    /// int8 FullyConnected. The result stays near the float model.
    /// </summary>
    [Theory]
    [InlineData("lstm_bidirectional")]
    [InlineData("lstm_batch3_hard_sigmoid_gates")]
    [InlineData("gru_linear_before_reset")]
    [InlineData("gru_bidirectional_reset_before")]
    public void Int8_RunsTheRecurrenceHybrid_OnInt8StoredWeights(string name)
    {
        OnnxBuilder builder = Cases[name].Build();
        (Graph floatGraph, _) = TestModels.Lower(builder);
        int count = TestModels.Count(floatGraph.Inputs[0].Shape!);
        float[][] calibration = [.. Enumerable.Range(0, 32).Select(s => TestModels.Random(count, 100 + s))];
        byte[] int8 = Quantize(builder, new ConvertOptions(), new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calibration });
        using Model model = Model.FromBytes(int8, name + " int8");
        using Model floatModel = Model.FromBytes(ModelEmitter.Emit(floatGraph).File, name + " float");
        ModelGraph g = model.Graph;
        Assert.Equal(Cases[name].Fused, AssertRecurrentWeightsAreInt8(model, hybrid: true));
        foreach (NodeInfo recurrence in g.Nodes.Where(n => n.OpCode is OpCode.Lstm or OpCode.Gru))
        {
            NodeInfo dequantize = Producer(g, recurrence.Inputs[0]);
            Assert.Equal(OpCode.Dequantize, dequantize.OpCode);
            NodeInfo projection = Producer(g, dequantize.Inputs[0]);
            Assert.Equal(OpCode.FullyConnected, projection.OpCode);
            Assert.Equal(DataType.Int8, g.Tensors[projection.Inputs[0]].DataType);
            Assert.Equal(DataType.Int8, g.Tensors[projection.Inputs[1]].DataType);
            Assert.Equal(DataType.Float32, g.Tensors[recurrence.Outputs[0]].DataType);
        }

        // Quantization noise only: the int8 model tracks the float one on fresh inputs (random weights, so no
        // accuracy to measure; a mis-wired boundary gives near 0 dB).
        float[][] samples = [.. Enumerable.Range(0, 8).Select(s => TestModels.Random(count, 500 + s))];
        var data = new Dataset(samples, null, "random");
        float[] f = [.. ModelEvaluator.Evaluate(floatModel, data).Outputs.SelectMany(o => o)];
        float[] q = [.. ModelEvaluator.Evaluate(model, data).Outputs.SelectMany(o => o)];
        double signal = f.Sum(v => (double)v * v), noise = f.Zip(q, (a, b) => (double)(a - b) * (a - b)).Sum();
        double sqnr = 10 * Math.Log10(signal / noise);
        output.WriteLine($"{name}: int8 {int8.Length} B, output SQNR {sqnr:F1} dB");
        Assert.True(sqnr >= 25, $"output SQNR {sqnr:F1} dB");
    }

    /// <summary>
    /// TFLite's float LSTM (TFLM's trained mnist_lstm, with a cell clip) imports as a fused Lstm: both int8 modes
    /// store its R as int8 (int8 reads it directly, for the hybrid product) and keep its top class on all 20 fixture digits.
    /// </summary>
    [Theory]
    [InlineData(QuantizationMode.Int8Weights)]
    [InlineData(QuantizationMode.Int8)]
    public void TfLiteLstm_Quantized_StoresTheRecurrentWeightsAsInt8_AndKeepsTheTopClass(QuantizationMode mode)
    {
        string dir = Path.Combine(Fixtures.Directory, "tflm");
        float[][] x = Fixtures.ReadCsv(Path.Combine(dir, "trained_lstm_x.csv"));
        Graph floatGraph = ModelConverter.Lower(Path.Combine(dir, "trained_lstm.tflite"), new ConvertOptions(), _ => { });
        using Model floatModel = Model.FromBytes(ModelEmitter.Emit(floatGraph.Clone()).File, "trained_lstm float");
        (Graph quantized, _) = QuantizationPipeline.Run(floatGraph, new QuantizationOptions { Mode = mode, CalibrationSamples = x }, null, null, _ => { });
        using Model model = Model.FromBytes(ModelEmitter.Emit(quantized).File, $"trained_lstm {mode}");
        Assert.Equal(1, AssertRecurrentWeightsAreInt8(model, hybrid: mode == QuantizationMode.Int8));

        var data = new Dataset(x, null, "trained_lstm_x.csv");
        float[][] f = ModelEvaluator.Evaluate(floatModel, data).Outputs, q = ModelEvaluator.Evaluate(model, data).Outputs;
        static int Top(float[] v) => Array.IndexOf(v, v.Max());
        Assert.All(Enumerable.Range(0, x.Length), r => Assert.Equal(Top(f[r]), Top(q[r])));
    }

    /// <summary>
    /// The trained gesture GRU (tests/fixtures/accel/accel_gru.onnx): the fused int8 file is a small fraction of the
    /// unrolled one (measured: 9,680 B against 105,232 B, 17 operators against 551; R is int8 in both, what goes is
    /// the records and quantization parameters of 32 unrolled steps; 9,808 B and 18 operators before the hybrid
    /// product, when R had a Dequantize) and keeps the accuracy within half a point of float on the test split.
    /// </summary>
    [Fact]
    public void AccelGru_Int8File_IsUnder11KB_AFifthOfTheUnrolledOne_AndKeepsAccuracy()
    {
        string folder = Path.Combine(Fixtures.Directory, "accel");
        string model = Path.Combine(folder, "accel_gru.onnx");
        const int width = 192;
        float[][] calibration = [.. Fixtures.ReadCsv(Path.Combine(folder, "accel_calib.csv")).Select(r => r[..width])];
        float[][] rows = Fixtures.ReadCsv(Path.Combine(folder, "accel_test.csv"));
        var data = new Dataset([.. rows.Select(r => r[..width])], [.. rows.Select(r => (double)r[width])], "accel_test.csv");
        var options = new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calibration };

        Graph floatGraph = ModelConverter.Lower(model, new ConvertOptions(), _ => { });
        byte[] floatFile = ModelEmitter.Emit(floatGraph.Clone()).File;
        (Graph fusedInt8, _) = QuantizationPipeline.Run(floatGraph, options, null, null, _ => { });
        byte[] fusedFile = ModelEmitter.Emit(fusedInt8).File;
        Graph unrolledGraph = ModelConverter.Lower(model, new ConvertOptions { UnrollRecurrences = true }, _ => { });
        (Graph unrolledInt8, _) = QuantizationPipeline.Run(unrolledGraph, options, null, null, _ => { });
        byte[] unrolledFile = ModelEmitter.Emit(unrolledInt8).File;

        using Model floatModel = Model.FromBytes(floatFile, "accel_gru float");
        using Model int8Model = Model.FromBytes(fusedFile, "accel_gru int8");
        double floatAccuracy = ModelEvaluator.Evaluate(floatModel, data).Accuracy!.Value * 100;
        double int8Accuracy = ModelEvaluator.Evaluate(int8Model, data).Accuracy!.Value * 100;
        output.WriteLine($"accel_gru: float {floatFile.Length} B, {floatAccuracy:F2}%; int8 fused {fusedFile.Length} B ({int8Model.Graph.Nodes.Count} operators), {int8Accuracy:F2}%; int8 unrolled {unrolledFile.Length} B ({unrolledInt8.Nodes.Count} operators)");

        Assert.Equal(1, CountRecurrent(int8Model));
        AssertRecurrentWeightsAreInt8(int8Model, hybrid: true);
        Assert.True(fusedFile.Length <= 11_000, $"int8 file {fusedFile.Length} B");
        Assert.True(fusedFile.Length * 5 < unrolledFile.Length, $"fused {fusedFile.Length} B vs unrolled {unrolledFile.Length} B");
        Assert.True(floatAccuracy - int8Accuracy <= 0.5, $"int8 {int8Accuracy:F2}% vs float {floatAccuracy:F2}%");
    }

    private static (byte[] Fused, byte[] Unrolled) ConvertBothWays(string path)
        => (ModelConverter.Convert(path, new ConvertOptions()).File, ModelConverter.Convert(path, new ConvertOptions { UnrollRecurrences = true }).File);

    private static byte[] Quantize(OnnxBuilder builder, ConvertOptions convert, QuantizationOptions options)
    {
        (Graph graph, _) = TestModels.Lower(builder, convert);
        (Graph quantized, _) = QuantizationPipeline.Run(graph, options, null, null, _ => { });
        byte[] file = ModelEmitter.Emit(quantized).File;
        ModelConverter.RequireLoads(file, "quantized");
        return file;
    }

    private static int CountRecurrent(Model m) => m.Graph.Nodes.Count(n => n.OpCode is OpCode.Lstm or OpCode.Gru);

    private static NodeInfo Producer(ModelGraph g, int tensor) => g.Nodes.Single(n => n.Outputs.Contains(tensor));

    /// <summary>
    /// R of every fused node is an int8 constant with a scale per row: read by the node itself for the hybrid product
    /// (<paramref name="hybrid"/>, int8 mode), else dequantized at load by a Dequantize into a derived float tensor.
    /// </summary>
    private static int AssertRecurrentWeightsAreInt8(Model m, bool hybrid)
    {
        ModelGraph g = m.Graph;
        NodeInfo[] recurrences = [.. g.Nodes.Where(n => n.OpCode is OpCode.Lstm or OpCode.Gru)];
        foreach (NodeInfo n in recurrences)
        {
            TensorInfo r = g.Tensors[n.Inputs[1]];
            if (hybrid)
            {
                Assert.Equal((TensorStorage.Constant, DataType.Int8), (r.Storage, r.DataType));
                Assert.True(r.Quantization is { IsPerChannel: true, Axis: 0 } rq && rq.Scales.Length == r.Dim(0) && rq.ZeroPoints.All(z => z == 0), $"{r}: not symmetric with one scale per row");
                Assert.DoesNotContain(g.Nodes, x => x.OpCode == OpCode.Dequantize && x.Outputs.Contains(n.Inputs[1]));
                continue;
            }

            Assert.Equal((TensorStorage.Derived, DataType.Float32), (r.Storage, r.DataType));
            NodeInfo dequantize = Producer(g, n.Inputs[1]);
            Assert.Equal(OpCode.Dequantize, dequantize.OpCode);
            TensorInfo stored = g.Tensors[dequantize.Inputs[0]];
            Assert.True(stored.IsConstant, $"{stored} is not a constant");
            Assert.Equal(DataType.Int8, stored.DataType);
            Assert.Equal(r.Shape.ToArray(), stored.Shape.ToArray());
            Assert.True(stored.Quantization is { IsPerChannel: true } q && q.Scales.Length == r.Dim(0), $"{stored}: not one scale per row");
        }

        return recurrences.Length;
    }

    /// <summary>
    /// Runs both models on the same inputs on every kernel path this machine has and requires identical output bits.
    /// Inputs: moderate values, large ones (saturated gates), then the first again, which also checks that each
    /// invocation starts from zero states.
    /// </summary>
    private void AssertSameBytes(Model a, Model b, string name)
    {
        var probe = new Interpreter(a);
        int[] counts = [.. Enumerable.Range(0, probe.InputCount).Select(i => probe.Input(i).ElementCount)];
        float[][][] samples =
        [
            [.. counts.Select((c, i) => TestModels.Random(c, 11 + i))],
            [.. counts.Select((c, i) => TestModels.Random(c, 23 + i, 6f))],
            [.. counts.Select((c, i) => TestModels.Random(c, 11 + i))],
        ];
        foreach (KernelPath path in KernelPaths.Supported)
        {
            var ia = new Interpreter(a, new InterpreterOptions { KernelPath = path });
            var ib = new Interpreter(b, new InterpreterOptions { KernelPath = path });
            Assert.Equal(ib.OutputCount, ia.OutputCount);
            for (int s = 0; s < samples.Length; s++)
            {
                for (int i = 0; i < counts.Length; i++)
                {
                    ia.Input(i).WriteFloats(samples[s][i]);
                    ib.Input(i).WriteFloats(samples[s][i]);
                }

                ia.Invoke();
                ib.Invoke();
                for (int o = 0; o < ia.OutputCount; o++)
                {
                    float[] x = ia.Output(o).ToFloatArray(), y = ib.Output(o).ToFloatArray();
                    Assert.Equal(y.Length, x.Length);
                    int at = Enumerable.Range(0, x.Length).FirstOrDefault(k => BitConverter.SingleToInt32Bits(x[k]) != BitConverter.SingleToInt32Bits(y[k]), -1);
                    Assert.True(at < 0, $"{name}, {path}, sample {s}, output {o} [{at}]: fused {(at < 0 ? 0 : x[at]):G9}, unrolled {(at < 0 ? 0 : y[at]):G9}");
                }
            }
        }

        output.WriteLine($"{name}: {a.Graph.Nodes.Count} operators fused, {b.Graph.Nodes.Count} unrolled; identical on {string.Join(", ", KernelPaths.Supported)}");
    }
}
