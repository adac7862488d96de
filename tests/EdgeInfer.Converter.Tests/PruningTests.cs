using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Pruning;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using EdgeInfer.Runtime;

namespace EdgeInfer.Converter.Tests;

/// <summary>Magnitude pruning, the pruning search, and the emitter's choice of sparse storage.</summary>
public class PruningTests(ITestOutputHelper output)
{
    private static string Digits(string file) => Path.Combine(Fixtures.Directory, "digits", file);

    private static Dataset TestSet()
    {
        float[][] rows = Fixtures.ReadCsv(Digits("digits_test.csv"));
        return new Dataset([.. rows.Select(r => r[..64])], [.. rows.Select(r => (double)r[64])], "digits_test.csv");
    }

    private static float[][] Calibration() => [.. Fixtures.ReadCsv(Digits("digits_calib.csv")).Select(r => r[..64])];

    [Fact]
    public void PruneRows_ZeroesTheBlocksOfLeastNorm_AndLeavesTheOthersUntouched()
    {
        // Two rows of 10 with blocks of 4 (4, 4, 2): norms² row 0 = 4, 400, 0.5; row 1 = 16, 1, 36.
        float[] w =
        [
            1, 1, 1, 1, 10, 10, 10, 10, 0.5f, 0.5f,
            2, 2, 2, 2, 0.5f, 0.5f, 0.5f, 0.5f, 3, 3.0000002f,
        ];
        float[] before = (float[])w.Clone();
        int blocks = MagnitudePruner.PruneRows(w, 2, 10, 4, 0.5);
        Assert.Equal(6, blocks);
        float[] expected =
        [
            0, 0, 0, 0, 10, 10, 10, 10, 0, 0,
            2, 2, 2, 2, 0, 0, 0, 0, 3, 3.0000002f,
        ];
        Assert.Equal(expected, w);
        Assert.Equal(before[19], w[19]); // kept blocks keep their exact bits
    }

    [Fact]
    public void Prune_MatrixLayers_ToTheRequestedFraction_SkippingSmallAndGroupedOnes()
    {
        Graph g = ModelConverter.Lower(Digits("digits_mlp.onnx"), new ConvertOptions(), _ => { });
        IReadOnlyList<PrunedLayer> pruned = MagnitudePruner.Prune(g, new PruningOptions { Sparsity = 0.5 }, output.WriteLine);

        // fc1 (64×64) and fc2 (32×64) are pruned; fc3 (10×32 = 320 weights) is below MinWeights.
        Assert.Equal(["/fc1/Gemm", "/fc2/Gemm"], pruned.Select(p => p.Node));
        Assert.All(pruned, p => Assert.Equal(p.Blocks / 2, p.ZeroBlocks));
        Assert.Throws<ConversionException>(() => MagnitudePruner.Prune(g, new PruningOptions { Sparsity = 1.5 }, _ => { }));
        Assert.Throws<ConversionException>(() => MagnitudePruner.Prune(g, new PruningOptions { Sparsity = 0.5, BlockWidth = 3 }, _ => { }));
    }

    [Fact]
    public void PrunedInt8Model_StoresItsWeightsSparse_AndComputesWhatTheDenseFileComputes()
    {
        Graph g = ModelConverter.Lower(Digits("digits_mlp.onnx"), new ConvertOptions(), _ => { });
        MagnitudePruner.Prune(g, new PruningOptions { Sparsity = 0.6 }, _ => { });
        (Graph q, _) = QuantizationPipeline.Run(g, new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = Calibration() }, null, null, _ => { });
        byte[] sparse = ModelEmitter.Emit(q.Clone()).File;
        byte[] dense = ModelEmitter.Emit(q.Clone(), sparseStorage: false).File;

        using Model sparseModel = Model.FromBytes(sparse, "sparse.eim");
        using Model denseModel = Model.FromBytes(dense, "dense.eim");
        TensorInfo[] stored = [.. sparseModel.Graph.Tensors.Where(t => t.Sparse is not null)];
        Assert.Equal(2, stored.Length);
        Assert.All(stored, t => Assert.Equal((SparseLayoutKind.BlockSparseRows, 16, DataType.Int8), (t.Sparse!.Kind, t.Sparse.BlockWidth, t.DataType)));
        Assert.True(sparse.Length < dense.Length - 2000, $"sparse {sparse.Length} B vs dense {dense.Length} B");

        Dataset data = TestSet();
        foreach (KernelPath path in KernelPaths.Supported)
        {
            var options = new InterpreterOptions { KernelPath = path };
            EvaluationResult a = ModelEvaluator.Evaluate(sparseModel, data, options);
            EvaluationResult b = ModelEvaluator.Evaluate(denseModel, data, options);
            Assert.Equal(b.Outputs.SelectMany(o => o), a.Outputs.SelectMany(o => o));
        }
    }

    [Theory]
    [InlineData("digits_mlp.onnx", false)]
    [InlineData("digits_cnn.onnx", false)]
    [InlineData("digits_mlp.onnx", true)]
    [InlineData("digits_cnn.onnx", true)]
    public void UnprunedModels_AreNeverStoredSparse(string model, bool int8)
    {
        // A trained dense model has no zero blocks worth indexing: the file must be the same as with sparse storage off.
        Graph g = ModelConverter.Lower(Digits(model), new ConvertOptions(), _ => { });
        if (int8)
        {
            (g, _) = QuantizationPipeline.Run(g, new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = Calibration() }, null, null, _ => { });
        }

        Assert.Equal(ModelEmitter.Emit(g.Clone(), sparseStorage: false).File, ModelEmitter.Emit(g.Clone()).File);
    }

    [Fact]
    public void FinerBlocks_AreStoredInTheirOwnWidth_AndExpandedAtLoad()
    {
        Graph g = ModelConverter.Lower(Digits("digits_mlp.onnx"), new ConvertOptions(), _ => { });
        MagnitudePruner.Prune(g, new PruningOptions { Sparsity = 0.6, BlockWidth = 4 }, _ => { });
        byte[] sparse = ModelEmitter.Emit(g.Clone()).File;
        byte[] dense = ModelEmitter.Emit(g.Clone(), sparseStorage: false).File;
        using Model sparseModel = Model.FromBytes(sparse, "sparse4.eim");
        using Model denseModel = Model.FromBytes(dense, "dense.eim");
        Assert.Contains(sparseModel.Graph.Tensors, t => t.Sparse?.BlockWidth == 4);
        Dataset data = TestSet();
        Assert.Equal(ModelEvaluator.Evaluate(denseModel, data).Outputs.SelectMany(o => o), ModelEvaluator.Evaluate(sparseModel, data).Outputs.SelectMany(o => o));
    }

    [Theory]
    [InlineData("digits_mlp.onnx", 1.0)]
    [InlineData("digits_cnn.onnx", 1.0)]
    [InlineData("digits_mlp.onnx", 3.0)]
    public void PruningSearch_KeepsTheBudget_AndPrunesSomething(string model, double budget)
    {
        Graph g = ModelConverter.Lower(Digits(model), new ConvertOptions(), _ => { });
        Dataset data = TestSet();
        (Graph pruned, PruningSearchReport report) = PruningSearch.Run(g, budget, data, new PruningOptions(), output.WriteLine);
        output.WriteLine($"{model}: {report.Sparsity:P1} of pruned layers' blocks zero, {report.DropPoints:F2} points, {report.Evaluations} evaluations");

        // Measured again, independently of the search's own bookkeeping.
        using Model before = Model.FromBytes(ModelEmitter.Emit(g.Clone()).File, "before.eim");
        using Model after = Model.FromBytes(ModelEmitter.Emit(pruned.Clone()).File, "after.eim");
        double drop = (ModelEvaluator.Evaluate(before, data).Accuracy!.Value - ModelEvaluator.Evaluate(after, data).Accuracy!.Value) * 100;
        Assert.True(drop <= budget, $"drop {drop:F2} points over the {budget} budget");
        Assert.Equal(report.DropPoints, drop, 6);
        Assert.NotEmpty(report.Layers);
        Assert.True(report.Sparsity > 0.1, $"only {report.Sparsity:P1} pruned");
    }

    [Fact]
    public void PruningSearch_WithoutLabels_IsRefused()
    {
        Graph g = ModelConverter.Lower(Digits("digits_mlp.onnx"), new ConvertOptions(), _ => { });
        var unlabelled = new Dataset(TestSet().Samples, null, "unlabelled.csv");
        Assert.Throws<ConversionException>(() => PruningSearch.Run(g, 1, unlabelled, new PruningOptions(), _ => { }));
    }
}

/// <summary>
/// The model pruned during training (tests/fixtures/digits_pruned: 85 % of the hidden layers' 1×16 blocks zero,
/// from tools/train-fixtures/make_digits_pruned.py): stored sparse with no option, PyTorch's outputs kept, int8
/// within half a point, and the file a fraction of the dense one.
/// </summary>
public class PrunedFixtureTests(ITestOutputHelper output)
{
    private static readonly string Onnx = Path.Combine(Fixtures.Directory, "digits_pruned", "digits_pruned.onnx");

    [Fact]
    public void Float_StoresTheHiddenLayersSparse_AndMatchesPyTorch()
    {
        ConversionResult converted = ModelConverter.Convert(Onnx, new ConvertOptions());
        using Model model = Model.FromBytes(converted.File, "digits_pruned.eim");
        TensorInfo[] sparse = [.. model.Graph.Tensors.Where(t => t.Sparse is not null)];
        Assert.Equal(["fc1.weight_fc", "fc2.weight_fc"], sparse.Select(t => t.Name));
        Assert.All(sparse, t => Assert.InRange(t.Sparse!.Density, 0.14, 0.16));
        Assert.True(converted.File.Length < 80_000, $"{converted.File.Length} B");

        float[][] rows = Fixtures.ReadCsv(Path.Combine(Fixtures.Directory, "digits", "digits_test.csv"));
        float[][] expected = Fixtures.ReadCsv(Path.Combine(Fixtures.Directory, "digits_pruned", "digits_pruned_expected.csv"));
        var data = new Dataset([.. rows.Select(r => r[..64])], [.. rows.Select(r => (double)r[64])], "digits_test.csv");
        EvaluationResult result = ModelEvaluator.Evaluate(model, data);
        double max = result.Outputs.Zip(expected).Max(p => p.First.Zip(p.Second).Max(v => Math.Abs(v.First - v.Second)));
        output.WriteLine($"float: {converted.File.Length} B, accuracy {result.Accuracy:P2}, max |Δ| vs PyTorch {max:G3}");
        Assert.True(max <= 1e-4, $"max |Δ| {max}");
    }

    [Fact]
    public void Int8_KeepsAccuracyWithinHalfAPoint_InAThirdOfTheDenseInt8File()
    {
        Graph g = ModelConverter.Lower(Onnx, new ConvertOptions(), _ => { });
        float[][] calibration = [.. Fixtures.ReadCsv(Path.Combine(Fixtures.Directory, "digits", "digits_calib.csv")).Select(r => r[..64])];
        float[][] rows = Fixtures.ReadCsv(Path.Combine(Fixtures.Directory, "digits", "digits_test.csv"));
        var data = new Dataset([.. rows.Select(r => r[..64])], [.. rows.Select(r => (double)r[64])], "digits_test.csv");
        (Graph q, _) = QuantizationPipeline.Run(g, new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calibration }, null, null, _ => { });
        byte[] sparse = ModelEmitter.Emit(q.Clone()).File;
        byte[] dense = ModelEmitter.Emit(q.Clone(), sparseStorage: false).File;
        using Model floatModel = Model.FromBytes(ModelEmitter.Emit(g.Clone()).File, "float.eim");
        using Model int8Model = Model.FromBytes(sparse, "int8.eim");
        double floatAccuracy = ModelEvaluator.Evaluate(floatModel, data).Accuracy!.Value * 100;
        double int8Accuracy = ModelEvaluator.Evaluate(int8Model, data).Accuracy!.Value * 100;
        output.WriteLine($"int8: {sparse.Length} B sparse, {dense.Length} B dense; accuracy float {floatAccuracy:F2}%, int8 {int8Accuracy:F2}%");
        Assert.True(floatAccuracy - int8Accuracy <= 0.5, $"int8 {int8Accuracy:F2}% vs float {floatAccuracy:F2}%");
        Assert.True(sparse.Length * 3 < dense.Length, $"sparse {sparse.Length} B, dense {dense.Length} B");

        // The committed int8 file the device runs under QEMU (tools/ci/arm64-tests.sh) is exactly this conversion;
        // EDGEINFER_REGENERATE_FIXTURES=1 rewrites it after a deliberate change.
        string committed = Path.Combine(Fixtures.Directory, "digits_pruned", "digits_pruned_int8.eim");
        if (Environment.GetEnvironmentVariable("EDGEINFER_REGENERATE_FIXTURES") == "1")
        {
            File.WriteAllBytes(committed, sparse);
        }

        Assert.True(sparse.AsSpan().SequenceEqual(File.ReadAllBytes(committed)), $"{committed} differs from a fresh conversion; run with EDGEINFER_REGENERATE_FIXTURES=1 if the change is intended");
    }
}
