using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;

namespace EdgeInfer.Converter.Tests;

/// <summary>What each pass does to the graph: which nodes remain, with which options and constants.</summary>
public class PassTests
{
    private static float[] W(int count, int seed) => TestModels.Random(count, seed, 0.5f);

    private static OpCode[] Ops(Graph g) => [.. g.Nodes.Select(n => n.Code!.Value)];

    [Fact]
    public void FixInputShapes_DynamicBatch_BecomesOne()
    {
        (Graph g, List<string> notes) = TestModels.Lower(new OnnxBuilder().Input("x", -1, 3).Node("Relu", ["x"], ["y"]).Output("y"));
        Assert.Equal([1, 3], g.Inputs[0].Shape!);
        Assert.Contains(notes, n => n.Contains("dynamic batch dimension set to 1"));
    }

    [Fact]
    public void FixInputShapes_OtherDynamicDimension_FailsSuggestingInputShape()
    {
        var e = Assert.Throws<ConversionException>(() => TestModels.Lower(new OnnxBuilder().Input("audio", 1, -1).Node("Relu", ["audio"], ["y"]).Output("y")));
        Assert.Contains("'audio'", e.Message);
        Assert.Contains("--input-shape", e.Message);
        Assert.Contains("dimension 1", e.Message);
    }

    [Fact]
    public void FixInputShapes_GivenShape_Wins()
    {
        var options = new ConvertOptions();
        options.InputShapes["audio"] = [2, 16];
        (Graph g, _) = TestModels.Lower(new OnnxBuilder().Input("audio", -1, -1).Node("Relu", ["audio"], ["y"]).Output("y"), options);
        Assert.Equal([2, 16], g.Inputs[0].Shape!);
        Assert.Equal([2, 16], g.Outputs[0].Shape!);
    }

    [Fact]
    public void FixInputShapes_GivenShapeContradictingModel_Fails()
    {
        var options = new ConvertOptions();
        options.InputShapes["x"] = [1, 4];
        var e = Assert.Throws<ConversionException>(() => TestModels.Lower(new OnnxBuilder().Input("x", 1, 3).Node("Relu", ["x"], ["y"]).Output("y"), options));
        Assert.Contains("declares [1,3]", e.Message);
    }

    /// <summary>PyTorch's x.view(x.size(0), -1): Shape → Gather → Unsqueeze → Concat → Reshape folds to a constant target.</summary>
    [Fact]
    public void ShapeInference_PyTorchViewChain_FoldsToConstantReshape()
    {
        var b = new OnnxBuilder(13).Input("x", -1, 2, 4, 4)
            .Initializer("w", [3, 2, 3, 3], W(54, 1)).Initializer("fw", [5, 48], W(240, 2)).Initializer("fb", [5], W(5, 3))
            .Initializer("zero", [], [0L]).Initializer("minus1", [1], [-1L]).Initializer("axes0", [1], [0L])
            .Node("Conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Shape", ["c"], ["s"]).Node("Gather", ["s", "zero"], ["n"], ("axis", 0L))
            .Node("Unsqueeze", ["n", "axes0"], ["n1"]).Node("Concat", ["n1", "minus1"], ["target"], ("axis", 0L))
            .Node("Reshape", ["c", "target"], ["v"]).Node("Gemm", ["v", "fw", "fb"], ["y"], ("transB", 1L)).Output("y");
        (Graph g, List<string> notes) = TestModels.Lower(b);
        Assert.Contains(notes, n => n.StartsWith("folded 4 constant nodes", StringComparison.Ordinal));
        // The float graph keeps the flatten's transpose back to NCHW, so the FullyConnected sums its terms in the
        // source model's order (float rounding depends on it).
        Assert.Equal([OpCode.Transpose, OpCode.Conv2D, OpCode.Transpose, OpCode.Reshape, OpCode.FullyConnected], Ops(g));
        Assert.Equal([1, 48], g.Nodes[3].Output(0).Shape!);
        TestModels.AssertMatchesOrt(b);

        // For int8 (exact integer sums) the quantizer folds that transpose into the weights: the flatten then reads
        // the channels-last feature map directly.
        FoldTransposeIntoFullyConnected.Run(g, notes.Add);
        TransposeCleanup.Run(g, notes.Add);
        Assert.Contains("folded 1 Transpose into FullyConnected weights", notes);
        Assert.Equal([OpCode.Transpose, OpCode.Conv2D, OpCode.Reshape, OpCode.FullyConnected], Ops(g));
        Assert.Equal([1, 48], g.Nodes[2].Output(0).Shape!);
    }

    [Fact]
    public void FoldBatchNorm_IntoConv_ScalesWeightsAndBias()
    {
        float[] w = [1f, 2f, 3f, 4f, -1f, -2f, -3f, -4f]; // [2,1,2,2]
        float[] gamma = [2f, 0.5f], beta = [1f, -1f], mean = [0.5f, 1f], variance = [3f, 0.25f];
        float eps = 1f;
        var b = new OnnxBuilder(13).Input("x", 1, 1, 3, 3).Initializer("w", [2, 1, 2, 2], w).Initializer("b", [2], [0.1f, 0.2f])
            .Initializer("g", [2], gamma).Initializer("beta", [2], beta).Initializer("mean", [2], mean).Initializer("var", [2], variance)
            .Node("Conv", ["x", "w", "b"], ["c"])
            .Node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["y"], ("epsilon", eps)).Output("y");
        (Graph g, List<string> notes) = TestModels.Lower(b);
        Assert.Contains("folded 1 BatchNormalization into Conv", notes);
        Node conv = Assert.Single(g.Nodes, n => n.Code == OpCode.Conv2D);
        Assert.DoesNotContain(g.Nodes, n => n.Code is OpCode.Mul or OpCode.Add);
        float[] s = [2f / MathF.Sqrt(4f), 0.5f / MathF.Sqrt(1.25f)];
        // OHWI with one input channel has the same order as OIHW.
        Assert.Equal([.. w.Select((v, i) => v * s[i / 4])], conv.Input(1).Constant!.ToFloatArray(), new FloatTolerance(1e-6f));
        Assert.Equal([(0.1f - 0.5f) * s[0] + 1f, (0.2f - 1f) * s[1] - 1f], conv.Input(2).Constant!.ToFloatArray(), new FloatTolerance(1e-6f));
        TestModels.AssertMatchesOrt(b);
    }

    [Fact]
    public void FoldBatchNorm_ProducerReadTwice_DecomposesIntoMulAdd()
    {
        var b = new OnnxBuilder(13).Input("x", 1, 2, 3, 3).Initializer("w", [2, 2, 1, 1], W(4, 5))
            .Initializer("g", [2], [2f, 3f]).Initializer("beta", [2], [1f, 0f]).Initializer("mean", [2], [0f, 1f]).Initializer("var", [2], [1f, 4f])
            .Node("Conv", ["x", "w"], ["c"])
            .Node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["n"])
            .Node("Add", ["c", "n"], ["y"]).Output("y");
        (Graph g, List<string> notes) = TestModels.Lower(b);
        Assert.Contains("rewrote 1 BatchNormalization as per-channel Mul and Add", notes);
        Node mul = Assert.Single(g.Nodes, n => n.Code == OpCode.Mul);
        // the per-channel [C,1,1] scale, re-laid-out for the channels-last activation
        Assert.Equal([1, 1, 1, 2], mul.Input(1).Shape!);
        TestModels.AssertMatchesOrt(b);
    }

    [Fact]
    public void FuseActivations_ReluAndRelu6_BecomeClamps()
    {
        var b = new OnnxBuilder(13).Input("x", 1, 2, 4, 4).Initializer("w", [3, 2, 3, 3], W(54, 6)).Initializer("fw", [4, 12], W(48, 7))
            .Initializer("lo", [], [0f]).Initializer("hi", [], [6f])
            .Node("Conv", ["x", "w"], ["c"], ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Clip", ["c", "lo", "hi"], ["r6"]).Node("Flatten", ["r6"], ["f"])
            .Node("Gemm", ["f", "fw"], ["m"], ("transB", 1L)).Node("Relu", ["m"], ["y"]).Output("y");
        (Graph g, List<string> notes) = TestModels.Lower(b);
        Assert.Contains("fused 1 Clip into Conv2D", notes);
        Assert.Contains("fused 1 Relu into FullyConnected", notes);
        Assert.Equal(new ClampOptions(0, 6), ((Conv2DOptions)Assert.Single(g.Nodes, n => n.Code == OpCode.Conv2D).Options!).Clamp);
        Node fc = Assert.Single(g.Nodes, n => n.Code == OpCode.FullyConnected);
        Assert.Equal(ClampOptions.Relu, fc.Options);
        Assert.Equal("y", fc.Output(0).Name);
        Assert.DoesNotContain(g.Nodes, n => n.Code is OpCode.Relu or OpCode.Clip);
    }

    [Fact]
    public void FuseSelfGating_HardSwishAndSiLU_BecomeOneOperator_MatchingOrt()
    {
        // PyTorch's nn.Hardswish at opset 13 and nn.SiLU, the gate on either side of the Mul.
        var b = new OnnxBuilder(13).Input("x", 1, 2, 3, 3).Initializer("w", [2, 2, 1, 1], W(4, 3))
            .Node("Conv", ["x", "w"], ["c"]).Node("HardSigmoid", ["c"], ["g"], ("alpha", 1f / 6))
            .Node("Mul", ["c", "g"], ["h"]).Node("HardSigmoid", ["h"], ["g2"], ("alpha", 1f / 6)).Node("Mul", ["g2", "h"], ["h2"])
            .Node("Sigmoid", ["h2"], ["g3"]).Node("Mul", ["h2", "g3"], ["s"]).Node("Sigmoid", ["s"], ["g4"]).Node("Mul", ["g4", "s"], ["y"]).Output("y");
        (Graph g, List<string> notes) = TestModels.Lower(b);
        Assert.Contains("fused 2 x·HardSigmoid(x) into HardSwish", notes);
        Assert.Contains("fused 2 x·Sigmoid(x) into Swish", notes);
        Assert.Equal(2, TestModels.CountOps(g, OpCode.HardSwish));
        Assert.Equal(2, TestModels.CountOps(g, OpCode.Swish));
        Assert.DoesNotContain(g.Nodes, n => n.Code is OpCode.HardSigmoid or OpCode.Sigmoid or OpCode.Mul);
        TestModels.AssertMatchesOrt(b);
    }

    [Fact]
    public void FuseSelfGating_OtherGates_StaySeparate()
    {
        // Keras's hard sigmoid (α = 0.2); a gate of another tensor; a gate read twice (by an Add, by two Muls, one of
        // them s · HardSigmoid(s)); a Sigmoid gate of another tensor.
        var b = new OnnxBuilder(13).Input("x", 1, 4).Input("z", 1, 4).Input("s", 1, 1)
            .Node("HardSigmoid", ["x"], ["g1"], ("alpha", 0.2f)).Node("Mul", ["x", "g1"], ["y1"]).Output("y1")
            .Node("HardSigmoid", ["z"], ["g2"], ("alpha", 1f / 6)).Node("Mul", ["x", "g2"], ["y2"]).Output("y2")
            .Node("HardSigmoid", ["x"], ["g3"], ("alpha", 1f / 6)).Node("Mul", ["x", "g3"], ["y3"]).Node("Add", ["y3", "g3"], ["y4"]).Output("y4")
            .Node("HardSigmoid", ["s"], ["g5"], ("alpha", 1f / 6)).Node("Mul", ["x", "g5"], ["y5"]).Node("Mul", ["s", "g5"], ["y6"]).Output("y5").Output("y6")
            .Node("Sigmoid", ["z"], ["g7"]).Node("Mul", ["x", "g7"], ["y7"]).Output("y7");
        (Graph g, List<string> notes) = TestModels.Lower(b);
        Assert.Equal(0, TestModels.CountOps(g, OpCode.HardSwish) + TestModels.CountOps(g, OpCode.Swish));
        Assert.Equal(4, TestModels.CountOps(g, OpCode.HardSigmoid));
        Assert.DoesNotContain(notes, n => n.Contains("Swish", StringComparison.Ordinal));
        TestModels.AssertMatchesOrt(b);
    }

    [Fact]
    public void FuseActivations_ProducerOutputReadElsewhereOrGraphOutput_StaysSeparate()
    {
        var b = new OnnxBuilder(13).Input("x", 2, 3).Initializer("w", [3, 4], W(12, 8))
            .Node("MatMul", ["x", "w"], ["m"]).Node("Relu", ["m"], ["r"]).Node("Add", ["m", "r"], ["y"]).Output("y")
            .Node("MatMul", ["x", "w"], ["m2"]).Node("Relu", ["m2"], ["r2"]).Output("m2").Output("r2");
        (Graph g, _) = TestModels.Lower(b);
        Assert.Equal(2, TestModels.CountOps(g, OpCode.Relu));
        Assert.All(g.Nodes.Where(n => n.Code == OpCode.FullyConnected), n => Assert.Equal(ClampOptions.None, n.Options));
    }

    [Fact]
    public void Layout_ConvChain_TransposesOnlyAtGraphEdges()
    {
        var b = new OnnxBuilder(13).Input("x", 1, 3, 8, 8)
            .Initializer("w1", [4, 3, 3, 3], W(108, 9)).Initializer("w2", [4, 4, 3, 3], W(144, 10)).Initializer("bias", [4, 1, 1], [1f, 2f, 3f, 4f])
            .Node("Conv", ["x", "w1"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Relu", ["c1"], ["r1"])
            .Node("Add", ["r1", "bias"], ["a"]).Node("Conv", ["a", "w2"], ["c2"])
            .Node("Concat", ["c2", "c2"], ["cat"], ("axis", 1L)).Node("Sigmoid", ["cat"], ["y"]).Output("y", 1, 8, 6, 6);
        (Graph g, _) = TestModels.Lower(b);
        Assert.Equal(
            [OpCode.Transpose, OpCode.Conv2D, OpCode.Add, OpCode.Conv2D, OpCode.Concat, OpCode.Sigmoid, OpCode.Transpose],
            Ops(g));
        Assert.Equal([0, 2, 3, 1], ((TransposeOptions)g.Nodes[0].Options!).Perm.ToArray());
        Assert.Equal([0, 3, 1, 2], ((TransposeOptions)g.Nodes[^1].Options!).Perm.ToArray());
        Assert.Equal([1, 1, 1, 4], g.Nodes[2].Input(1).Shape!); // [C,1,1] constant laid out channels-last
        Assert.Equal([1f, 2f, 3f, 4f], g.Nodes[2].Input(1).Constant!.ToFloatArray());
        Assert.Equal(3, ((ConcatOptions)g.Nodes[4].Options!).Axis); // channel axis of NHWC
        Assert.Equal("y", g.Outputs[0].Name);
        Assert.Equal([1, 8, 6, 6], g.Outputs[0].Shape!); // the graph output keeps the ONNX layout
        Assert.Equal([1, 3, 8, 8], g.Inputs[0].Shape!);
        TestModels.AssertMatchesOrt(b);
    }

    [Fact]
    public void Layout_Conv1D_UsesHeightOneAndNoReshapesBetweenLayers()
    {
        var b = new OnnxBuilder(13).Input("x", 1, 3, 16)
            .Initializer("w1", [4, 3, 3], W(36, 11)).Initializer("w2", [5, 4, 3], W(60, 12))
            .Node("Conv", ["x", "w1"], ["c1"]).Node("Relu", ["c1"], ["r"])
            .Node("MaxPool", ["r"], ["p"], ("kernel_shape", new long[] { 2 }), ("strides", new long[] { 2 }))
            .Node("Conv", ["p", "w2"], ["y"]).Output("y");
        (Graph g, _) = TestModels.Lower(b);
        Node[] convs = [.. g.Nodes.Where(n => n.Code == OpCode.Conv2D)];
        Assert.Equal([4, 1, 3, 3], convs[0].Input(1).Shape!); // [Cout, 1, K, Cin]
        Assert.Equal([1, 1, 14, 4], convs[0].Output(0).Shape!); // N,1,W,C
        Assert.Equal([OpCode.Conv2D, OpCode.MaxPool2D, OpCode.Conv2D], Ops(g).Where(o => o is not (OpCode.Transpose or OpCode.Reshape)));
        Assert.Equal(1, ((Pool2DOptions)g.Nodes.Single(n => n.Code == OpCode.MaxPool2D).Options!).KernelH);
        TestModels.AssertMatchesOrt(b);
    }

    [Theory]
    [InlineData("SAME_UPPER", 1, 2)]
    [InlineData("SAME_LOWER", 2, 1)]
    [InlineData("VALID", 0, 0)]
    public void Conv_AutoPad_BecomesExplicitPads(string autoPad, int begin, int end)
    {
        // input 7, kernel 4, stride 2: SAME output 4, total padding (4−1)·2 + 4 − 7 = 3
        var b = new OnnxBuilder(13).Input("x", 1, 1, 7, 7).Initializer("w", [1, 1, 4, 4], W(16, 13))
            .Node("Conv", ["x", "w"], ["y"], ("auto_pad", autoPad), ("strides", new long[] { 2, 2 })).Output("y");
        (Graph g, _) = TestModels.Lower(b);
        var o = (Conv2DOptions)g.Nodes.Single(n => n.Code == OpCode.Conv2D).Options!;
        Assert.Equal((begin, begin, end, end), (o.PadTop, o.PadLeft, o.PadBottom, o.PadRight));
        Assert.Equal(autoPad == "VALID" ? [1, 1, 2, 2] : new[] { 1, 1, 4, 4 }, g.Outputs[0].Shape!);
        TestModels.AssertMatchesOrt(b);
    }

    [Theory]
    [InlineData(0, 8, 3, 0, 3)]
    [InlineData(1, 8, 3, 0, 4)] // ceil((8 − 3) / 2) + 1
    [InlineData(1, 5, 2, 1, 3)] // ceil((5 + 2 − 2) / 2) + 1 = 4, but the 4th window would start in the end padding: dropped
    public void MaxPool_CeilMode_SetsOutputSize(int ceil, int size, int kernel, int pad, int expected)
    {
        var b = new OnnxBuilder(13).Input("x", 1, 2, size, size)
            .Node("MaxPool", ["x"], ["y"], ("kernel_shape", new long[] { kernel, kernel }), ("strides", new long[] { 2, 2 }), ("ceil_mode", (long)ceil),
                ("pads", new long[] { pad, pad, pad, pad })).Output("y");
        (Graph g, _) = TestModels.Lower(b);
        Assert.Equal([1, 2, expected, expected], g.Outputs[0].Shape!);
        TestModels.AssertMatchesOrt(b);
    }

    [Fact]
    public void Opset_ClipAttributesBeforeEleven_InputsAfter()
    {
        (Graph old, _) = TestModels.Lower(new OnnxBuilder(6).Input("x", 4).Node("Clip", ["x"], ["y"], ("min", -1f), ("max", 2f)).Output("y"));
        Assert.Equal(new ClampOptions(-1f, 2f), old.Nodes.Single().Options);
        (Graph current, _) = TestModels.Lower(new OnnxBuilder(13).Input("x", 4).Initializer("hi", [], [2f])
            .Node("Clip", ["x", "", "hi"], ["y"]).Output("y"));
        Assert.Equal(new ClampOptions(float.NegativeInfinity, 2f), current.Nodes.Single().Options);
    }

    [Fact]
    public void Opset_SoftmaxBeforeThirteen_CoercesTo2D()
    {
        (Graph old, _) = TestModels.Lower(new OnnxBuilder(11).Input("x", 2, 3, 4).Node("Softmax", ["x"], ["y"], ("axis", 1L)).Output("y"));
        Assert.Equal([OpCode.Reshape, OpCode.Softmax, OpCode.Reshape], Ops(old));
        Assert.Equal([2, 12], old.Nodes[1].Output(0).Shape!);
        (Graph current, _) = TestModels.Lower(new OnnxBuilder(13).Input("x", 2, 3, 4).Node("Softmax", ["x"], ["y"], ("axis", 1L)).Output("y"));
        Assert.Equal(new SoftmaxOptions(1, 1f), current.Nodes.Single().Options);
    }

    [Fact]
    public void Opset_SqueezeAxesAttributeBeforeThirteen_InputAfter()
    {
        (Graph old, _) = TestModels.Lower(new OnnxBuilder(11).Input("x", 2, 1, 3).Node("Squeeze", ["x"], ["y"], ("axes", new long[] { 1 })).Output("y"));
        (Graph current, _) = TestModels.Lower(new OnnxBuilder(13).Input("x", 2, 1, 3).Initializer("axes", [1], [1L]).Node("Squeeze", ["x", "axes"], ["y"]).Output("y"));
        Assert.Equal([2, 3], old.Outputs[0].Shape!);
        Assert.Equal([2, 3], current.Outputs[0].Shape!);
        Assert.Equal(OpCode.Reshape, old.Nodes.Single().Code);
    }

    [Fact]
    public void RemoveIdentities_DropoutMaskRead_Fails()
    {
        var b = new OnnxBuilder(13).Input("x", 4).Node("Dropout", ["x"], ["d", "mask"]).Node("Cast", ["mask"], ["y"], ("to", 1L)).Output("y");
        var e = Assert.Throws<UnsupportedOperatorException>(() => TestModels.Lower(b));
        Assert.Contains("mask", e.Message);
    }

    [Fact]
    public void RemoveIdentities_KeepOutputNames()
    {
        (Graph g, List<string> notes) = TestModels.Lower(new OnnxBuilder(13).Input("x", 2, 3)
            .Node("Relu", ["x"], ["r"]).Node("Identity", ["r"], ["y"]).Node("Identity", ["x"], ["copy"]).Output("y").Output("copy"));
        Assert.Contains("removed 1 Identity", notes);
        Assert.Equal(["y", "copy"], g.Outputs.Select(o => o.Name));
        Assert.Equal([OpCode.Relu, OpCode.Reshape], Ops(g));
    }

    [Fact]
    public void UnsupportedOperator_MessageNamesFileNodeOpAndSupportedList()
    {
        var b = new OnnxBuilder(13).Input("x", 1, 4).Node("Relu", ["x"], ["r"]).Node("Erf", ["r"], ["y"]).Output("y");
        string path = b.Save("unsupported");
        try
        {
            var e = Assert.Throws<UnsupportedOperatorException>(() => ModelConverter.Convert(path, new ConvertOptions()));
            Assert.StartsWith(path + ": node 'erf_1' (Erf): ", e.Message);
            Assert.Contains("operator Erf is not supported", e.Message);
            Assert.Contains("supported operators: Abs, Add, AveragePool, BatchNormalization", e.Message);
            Assert.Contains("on constant inputs only: ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Equal("Erf", e.OpType);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnsupportedForm_Conv3D_IsClearlyNamed()
    {
        var b = new OnnxBuilder(13).Input("x", 1, 1, 3, 3, 3).Initializer("w", [1, 1, 2, 2, 2], W(8, 14)).Node("Conv", ["x", "w"], ["y"]).Output("y");
        var e = Assert.Throws<UnsupportedOperatorException>(() => TestModels.Lower(b));
        Assert.Contains("node 'conv_0' (Conv): 3-D convolution is not supported", e.Message);
    }

    [Fact]
    public void FoldedOnlyOperator_OnActivation_SaysSo()
    {
        var b = new OnnxBuilder(13).Input("x", 4).Node("Log", ["x"], ["y"]).Output("y");
        var e = Assert.Throws<UnsupportedOperatorException>(() => TestModels.Lower(b));
        Assert.Contains("Log is supported only on constant inputs", e.Message);
    }

    [Fact]
    public void Convert_DigitsCnn_EmitsLoadableModelWithMetadata()
    {
        string path = Path.Combine(Fixtures.Directory, "digits", "digits_cnn.onnx");
        ConversionResult r = ModelConverter.Convert(path, new ConvertOptions());
        using Model model = Model.FromBytes(r.File, "digits_cnn.eim");
        Assert.Equal("digits_cnn", model.Graph.Name);
        Assert.Equal("13", model.Graph.GetMetadata("onnx_opset"));
        Assert.Equal("digits_cnn.onnx", model.Graph.GetMetadata("source"));
        Assert.Equal([1, 1, 8, 8], model.Graph.Tensors[model.Graph.Inputs[0]].Shape.ToArray());
        Assert.Equal("logits", model.Graph.Tensors[model.Graph.Outputs[0]].Name);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => MathF.Abs(x - y) <= tolerance * (1 + MathF.Abs(y));

        public int GetHashCode(float obj) => 0;
    }

    [Fact]
    public void TransposeCleanup_ChannelShuffleOfAChannelsLastTensor_SwapsInnerAxesOnly()
    {
        // Conv → Reshape [1,2,3,5,4] → Transpose(0,2,1,3,4) → Reshape [1,6,5,4] → Split → Conv, Conv → Concat: read in
        // the ONNX layout this takes six Transposes; in channels-last the shuffle is one swap of two inner axes.
        Graph g = TestModels.AssertMatchesOrt(LoweringMatchesOrtTests.Build("channel_shuffle_then_split"));
        Node[] transposes = [.. g.Nodes.Where(n => n.Code == OpCode.Transpose)];
        Assert.Contains(transposes, t => ((TransposeOptions)t.Options!).Perm.SequenceEqual([0, 1, 2, 4, 3]));
        Assert.Equal(3, transposes.Length); // the graph input to NHWC, the shuffle, the graph output to NCHW
        Assert.Equal(2, TestModels.CountOps(g, OpCode.Slice));
    }
}
