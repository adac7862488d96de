using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Runtime.Kernels;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// Converted fixture models (tools/train-fixtures) run through EdgeInfer.Runtime's Interpreter, compared on every
/// test row with PyTorch's expected outputs (max |Δ| ≤ 1e-4) and with ONNX Runtime on one thread (≤ 1e-5). The same
/// comparisons through the reference evaluator check the conversion alone, independently of the kernels.
/// </summary>
public class EndToEndTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, string, int> Fixtures_ => new()
    {
        { "digits", "digits_mlp.onnx", "digits_test.csv", 64 },
        { "digits", "digits_cnn.onnx", "digits_test.csv", 64 },
        { "accel", "accel_conv1d.onnx", "accel_test.csv", 192 },
        { "accel", "accel_gru.onnx", "accel_test.csv", 192 },
        { "mobilenet", "mobilenetv2_035_96.onnx", "mobilenet_input.csv", 3 * 96 * 96 },
        { "digits", "../digits_mobile/digits_mobile.onnx", "digits_test.csv", 64 },
        { "digits", "../digits_mnv3/digits_mnv3.onnx", "digits_test.csv", 64 },
    };

    [Fact]
    public void RequireLoads_AGraphTheRuntimeRefuses_IsStoppedBeforeWriting()
    {
        // A pooling output one row short, as the int8 ceil_mode bug wrote them: the emitter takes any shape, the
        // kernel's Prepare refuses it, and the converter must say so rather than write the file.
        string path = Path.Combine(Support.Fixtures.Directory, "digits", "digits_cnn.onnx");
        Graph graph = ModelConverter.Lower(path, new ConvertOptions(), _ => { });
        Node pool = graph.Nodes.First(n => n.Code == OpCode.MaxPool2D);
        pool.Output(0).Shape = [1, 3, 4, 8];
        byte[] file = Emit.ModelEmitter.Emit(graph).File;

        var e = Assert.Throws<InvalidOperationException>(() => ModelConverter.RequireLoads(file, path));
        Assert.Contains($"{path}: the converted model does not load in the runtime", e.Message, StringComparison.Ordinal);
        Assert.Contains(pool.Name, e.Message, StringComparison.Ordinal);
        ModelConverter.RequireLoads(ModelConverter.Convert(path, new ConvertOptions()).File, path);
    }

    private static (byte[] Onnx, byte[] Eim, Graph Graph, float[][] Rows, float[][] Expected) Load(string dir, string model, string data, int width)
    {
        string folder = Path.Combine(Support.Fixtures.Directory, dir);
        string path = Path.Combine(folder, model);
        var options = new ConvertOptions();
        Graph graph = ModelConverter.Lower(path, options, _ => { });
        byte[] eim = ModelConverter.Convert(path, options).File;
        float[][] rows = [.. Support.Fixtures.ReadCsv(Path.Combine(folder, data)).Select(r => r[..width])];
        string expectedFile = model switch
        {
            "mobilenetv2_035_96.onnx" => "mobilenet_expected.csv",
            _ => Path.Combine(Path.GetDirectoryName(model)!, Path.GetFileNameWithoutExtension(model) + "_expected.csv"),
        };
        return (File.ReadAllBytes(path), eim, graph, rows, Support.Fixtures.ReadCsv(Path.Combine(folder, expectedFile)));
    }

    private static int[] InputShape(Graph g) => g.Inputs[0].Shape!;

    [Theory]
    [MemberData(nameof(Fixtures_))]
    public void Interpreter_Fixture_MatchesPyTorchAndOnnxRuntime(string dir, string model, string data, int width)
    {
        (byte[] onnx, byte[] eim, Graph graph, float[][] rows, float[][] expected) = Load(dir, model, data, width);
        using Model m = Model.FromBytes(eim, model);
        string[] missing = MissingKernels(m);
        if (missing.Length > 0)
        {
            Assert.Skip($"the runtime has no kernel for {string.Join(", ", missing)} yet (kernels branch)");
        }

        var interpreter = new Interpreter(m);
        double vsTorch = 0, vsOrt = 0, ortVsTorch = 0, maxAbs = 0;
        for (int r = 0; r < rows.Length; r++)
        {
            interpreter.Input(0).WriteFloats(rows[r]);
            interpreter.Invoke();
            float[] actual = interpreter.Output(0).ToFloatArray();
            float[] ort = OrtOracle.Run(onnx, (graph.Inputs[0].Name, InputShape(graph), rows[r]))[0];
            vsTorch = Math.Max(vsTorch, MaxAbsDiff(actual, expected[r]));
            vsOrt = Math.Max(vsOrt, MaxAbsDiff(actual, ort));
            ortVsTorch = Math.Max(ortVsTorch, MaxAbsDiff(ort, expected[r]));
            maxAbs = Math.Max(maxAbs, ort.Max(MathF.Abs));
        }

        output.WriteLine($"{model}: {rows.Length} rows, max |Δ| vs PyTorch {vsTorch:G3}, vs ONNX Runtime {vsOrt:G3}; ORT vs PyTorch {ortVsTorch:G3}; max |y| {maxAbs:G3}");

        // The float kernels sum every product chain in the order ONNX Runtime's CPU kernels use for these models (one
        // fused multiply-add chain per output in the source model's term order, then the bias: docs/kernels.md), so
        // the bound against it is a flat 1e-5, with no allowance for the output magnitude.
        Assert.True(vsTorch <= 1e-4, $"max |Δ| vs PyTorch {vsTorch:G3} > 1e-4");
        Assert.True(vsOrt <= 1e-5, $"max |Δ| vs ONNX Runtime {vsOrt:G3} > 1e-5");
    }

    [Theory]
    [MemberData(nameof(Fixtures_))]
    public void Lowered_Fixture_MatchesPyTorchAndOnnxRuntime(string dir, string model, string data, int width)
    {
        (byte[] onnx, _, Graph graph, float[][] rows, float[][] expected) = Load(dir, model, data, width);
        double vsTorch = 0, vsOrt = 0, ortVsTorch = 0, maxAbs = 0;
        int count = Math.Min(rows.Length, 40); // the reference evaluator is slow; a sample suffices here
        for (int r = 0; r < count; r++)
        {
            float[] actual = LoweredGraphEvaluator.Run(graph, rows[r])[0];
            float[] ort = OrtOracle.Run(onnx, (graph.Inputs[0].Name, InputShape(graph), rows[r]))[0];
            vsTorch = Math.Max(vsTorch, MaxAbsDiff(actual, expected[r]));
            vsOrt = Math.Max(vsOrt, MaxAbsDiff(actual, ort));
            ortVsTorch = Math.Max(ortVsTorch, MaxAbsDiff(ort, expected[r]));
            maxAbs = Math.Max(maxAbs, ort.Max(MathF.Abs));
        }

        output.WriteLine($"{model} (reference evaluator): {count} rows, max |Δ| vs PyTorch {vsTorch:G3}, vs ONNX Runtime {vsOrt:G3}; ORT vs PyTorch {ortVsTorch:G3}; max |y| {maxAbs:G3}");

        // The evaluator accumulates in double, so it sits nearer the exact result than either float32 framework: on
        // digits_cnn (logits up to ±31) ONNX Runtime itself is 1.5e-5 from it. Allow float32 rounding of the output
        // magnitude (8 ulp) on top of the absolute bounds.
        double slack = 8 * maxAbs * Math.Pow(2, -23); // 8 ulp of the largest output
        Assert.True(vsTorch <= 1e-4 + slack, $"max |Δ| vs PyTorch {vsTorch:G3} > 1e-4");
        Assert.True(vsOrt <= 1e-5 + slack, $"max |Δ| vs ONNX Runtime {vsOrt:G3} > 1e-5 + {slack:G3}");
    }

    public static TheoryData<string> BuiltCases => LoweringMatchesOrtTests.Cases;

    /// <summary>The small models of <see cref="LoweringMatchesOrtTests"/>, emitted and run by the Interpreter.</summary>
    [Theory]
    [MemberData(nameof(BuiltCases))]
    public void Interpreter_BuiltModel_MatchesOnnxRuntime(string name)
    {
        OnnxBuilder builder = LoweringMatchesOrtTests.Build(name);
        string path = builder.Save(name);
        try
        {
            var options = new ConvertOptions();
            Graph graph = ModelConverter.Lower(path, options, _ => { });
            using Model m = Model.FromBytes(ModelConverter.Convert(path, options).File, name);
            string[] missing = MissingKernels(m);
            if (missing.Length > 0)
            {
                Assert.Skip($"the runtime has no kernel for {string.Join(", ", missing)} yet (kernels branch)");
            }

            var interpreter = new Interpreter(m);
            var inputs = graph.Inputs.Select((v, i) => (v.Name, v.Shape!, TestModels.Random(TestModels.Count(v.Shape!), 1 + i))).ToArray();
            for (int i = 0; i < inputs.Length; i++)
            {
                interpreter.Input(i).WriteFloats(inputs[i].Item3);
            }

            interpreter.Invoke();
            float[][] expected = OrtOracle.Run(builder.ToBytes(), inputs);
            for (int o = 0; o < expected.Length; o++)
            {
                double diff = MaxAbsDiff(interpreter.Output(o).ToFloatArray(), expected[o]);
                Assert.True(diff <= 1e-5, $"output {o}: max |Δ| vs ONNX Runtime {diff:G3} > 1e-5");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    internal static string[] MissingKernels(Model m) => [.. m.Graph.Nodes
        .Where(n => !KernelRegistry.Builtin.Contains(n.OpCode, m.Graph.Tensors[n.Inputs[0]].DataType))
        .Select(n => n.OpCode.ToString()).Distinct().Order(StringComparer.Ordinal)];

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(b.Length, a.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - (double)b[i]));
        }

        return max;
    }
}
