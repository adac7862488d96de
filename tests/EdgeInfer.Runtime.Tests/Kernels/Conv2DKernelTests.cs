using System.Runtime.InteropServices;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class Conv2DKernelTests
{
    /// <summary>One convolution geometry: NHWC input, OHWI weights, options.</summary>
    public sealed record Case(string Name, int N, int H, int W, int Cin, int Cout, int KH, int KW,
        int StrideH = 1, int StrideW = 1, int DilationH = 1, int DilationW = 1,
        int PadTop = 0, int PadLeft = 0, int PadBottom = 0, int PadRight = 0, int Groups = 1, bool Bias = true, bool Relu6 = false)
    {
        public int OH => (H + PadTop + PadBottom - DilationH * (KH - 1) - 1) / StrideH + 1;
        public int OW => (W + PadLeft + PadRight - DilationW * (KW - 1) - 1) / StrideW + 1;
        public int CinG => Cin / Groups;
        public Conv2DOptions Options => new(StrideH, StrideW, DilationH, DilationW, PadTop, PadLeft, PadBottom, PadRight, Groups,
            Relu6 ? new ClampOptions(0, 6) : ClampOptions.None);
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases => new()
    {
        new Case("pointwise", 1, 5, 7, 13, 9, 1, 1),
        new Case("pointwise-batch-strided", 2, 6, 5, 8, 6, 1, 1, StrideH: 2, StrideW: 3),
        new Case("pointwise-grouped", 1, 4, 3, 12, 6, 1, 1, Groups: 3, Relu6: true),
        new Case("3x3-same", 1, 7, 9, 3, 5, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        new Case("3x3-stride2-asymmetric-pad", 2, 8, 7, 5, 4, 3, 3, StrideH: 2, StrideW: 2, PadLeft: 1, PadBottom: 1, Relu6: true),
        new Case("3x3-dilated", 1, 9, 9, 4, 3, 3, 3, DilationH: 2, DilationW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        new Case("3x3-grouped", 1, 6, 5, 6, 4, 3, 3, Groups: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        new Case("3x3-deep-tail", 1, 5, 6, 19, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Bias: false),
        new Case("5x5-wide-rows", 1, 7, 11, 8, 10, 5, 5, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        new Case("kernel-larger-than-input", 1, 2, 2, 3, 2, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        new Case("single-input-channel", 1, 6, 6, 1, 9, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        new Case("1d", 2, 1, 20, 3, 17, 1, 5, PadLeft: 2, PadRight: 2),
        new Case("1d-strided-dilated", 1, 1, 31, 4, 6, 1, 3, StrideW: 2, DilationW: 3, PadRight: 1),
        new Case("depthwise-3x3", 1, 7, 6, 11, 11, 3, 3, Groups: 11, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Relu6: true),
        new Case("depthwise-multiplier3-5x5-stride2", 1, 9, 8, 5, 15, 5, 5, StrideH: 2, StrideW: 2, Groups: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        new Case("depthwise-dilated-no-bias", 2, 8, 8, 16, 16, 3, 3, DilationH: 2, DilationW: 2, Groups: 16, PadTop: 2, PadLeft: 1, PadBottom: 0, PadRight: 2, Bias: false),
        new Case("depthwise-wide-channels", 1, 5, 5, 37, 37, 3, 3, StrideH: 2, Groups: 37, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        new Case("depthwise-1x1-padded", 1, 3, 4, 6, 12, 1, 1, Groups: 6, PadTop: 1, PadLeft: 1),
        new Case("depthwise-1d", 1, 1, 16, 10, 10, 1, 9, Groups: 10, PadLeft: 4, PadRight: 4),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Invoke_MatchesDoublePrecisionReference_OnEveryPath(Case c)
    {
        (float[] x, float[] w, float[]? b) = Data(c);
        float[] y = KernelAssert.RunEveryPath(OpCode.Conv2D, c.Options, Inputs(c, x, w, b), [c.N, c.OH, c.OW, c.Cout]);
        KernelAssert.Close(Reference(c, x, w, b), y);
    }

    /// <summary>
    /// Every strategy (pointwise, depthwise, im2col) must compute the documented sequence: one FMA chain over the
    /// (ci, ky, kx) terms (padded taps as zero terms), plus bias, then the clamp — bit for bit.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Invoke_ComputesTheCanonicalOrder_BitForBit(Case c)
    {
        (float[] x, float[] w, float[]? b) = Data(c);
        float[] y = KernelRunner.RunFloat(OpCode.Conv2D, c.Options, Inputs(c, x, w, b), [c.N, c.OH, c.OW, c.Cout]);
        float[] expected = Canonical(c, x, w, b);
        KernelAssert.SameBytes(MemoryMarshal.AsBytes(expected.AsSpan()), MemoryMarshal.AsBytes(y.AsSpan()), c.Name);
    }

    /// <summary>Weights computed at load (derived tensors) are filled after Prepare: the kernel must not pack them early.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Invoke_LoadTimeWeights_GiveTheConstantWeightsBytes(Case c)
    {
        (float[] x, float[] w, float[]? b) = Data(c);
        TestTensor?[] derived = [TestTensor.Input([c.N, c.H, c.W, c.Cin], x), TestTensor.Derived([c.Cout, c.KH, c.KW, c.CinG], w),
            b is null ? null : TestTensor.Derived([c.Cout], b)];
        foreach (KernelPath path in KernelPaths.Supported)
        {
            byte[] expected = KernelRunner.Run(OpCode.Conv2D, c.Options, Inputs(c, x, w, b), [TestTensor.Output([c.N, c.OH, c.OW, c.Cout])], path)[0];
            byte[] actual = KernelRunner.Run(OpCode.Conv2D, c.Options, derived, [TestTensor.Output([c.N, c.OH, c.OW, c.Cout])], path)[0];
            KernelAssert.SameBytes(expected, actual, $"{c.Name} on {path}");
        }
    }

    [Fact]
    public void Invoke_PointwiseConv_EqualsFullyConnectedBitForBit()
    {
        var rng = new Random(5);
        float[] x = KernelAssert.Random(rng, 6 * 4 * 21);
        float[] w = KernelAssert.Random(rng, 10 * 21);
        float[] b = KernelAssert.Random(rng, 10);
        foreach (KernelPath path in KernelPaths.Supported)
        {
            byte[] conv = KernelRunner.Run(OpCode.Conv2D, new Conv2DOptions(1, 1, 1, 1, 0, 0, 0, 0, 1, ClampOptions.None),
                [TestTensor.Input([1, 6, 4, 21], x), TestTensor.Const([10, 1, 1, 21], w), TestTensor.Const([10], b)], [TestTensor.Output([1, 6, 4, 10])], path)[0];
            byte[] fc = KernelRunner.Run(OpCode.FullyConnected, ClampOptions.None,
                [TestTensor.Input([24, 21], x), TestTensor.Const([10, 21], w), TestTensor.Const([10], b)], [TestTensor.Output([24, 10])], path)[0];
            KernelAssert.SameBytes(fc, conv, $"pointwise conv against FullyConnected on {path}");
        }
    }

    public static TheoryData<string, Conv2DOptions, int[], int[], int[]> Malformed => new()
    {
        { "weights rank 3", Options(), [1, 5, 5, 4], [8, 3, 12], [1, 3, 3, 8] },
        { "weight channels", Options(), [1, 5, 5, 4], [8, 3, 3, 3], [1, 3, 3, 8] },
        { "groups do not divide", Options(groups: 3), [1, 5, 5, 4], [6, 3, 3, 1], [1, 3, 3, 6] },
        { "group channels", Options(groups: 2), [1, 5, 5, 4], [8, 3, 3, 4], [1, 3, 3, 8] },
        { "zero stride", Options(stride: 0), [1, 5, 5, 4], [8, 3, 3, 4], [1, 3, 3, 8] },
        { "zero dilation", Options(dilation: 0), [1, 5, 5, 4], [8, 3, 3, 4], [1, 3, 3, 8] },
        { "negative pad", Options(pad: -1), [1, 5, 5, 4], [8, 3, 3, 4], [1, 1, 1, 8] },
        { "output height", Options(), [1, 5, 5, 4], [8, 3, 3, 4], [1, 4, 3, 8] },
        { "output channels", Options(), [1, 5, 5, 4], [8, 3, 3, 4], [1, 3, 3, 7] },
        { "output batch", Options(), [1, 5, 5, 4], [8, 3, 3, 4], [2, 3, 3, 8] },
        { "kernel larger than padded input", Options(), [1, 2, 2, 4], [8, 3, 3, 4], [1, 1, 1, 8] },
        { "input rank 3", Options(), [5, 5, 4], [8, 3, 3, 4], [1, 3, 3, 8] },
        { "NaN clamp", Options(clamp: new ClampOptions(float.NaN, 6)), [1, 5, 5, 4], [8, 3, 3, 4], [1, 3, 3, 8] },
        { "empty clamp", Options(clamp: new ClampOptions(6, 0)), [1, 5, 5, 4], [8, 3, 3, 4], [1, 3, 3, 8] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Prepare_MalformedNode_IsRefused(string problem, Conv2DOptions options, int[] input, int[] weights, int[] output)
    {
        _ = problem;
        KernelAssert.Refused(OpCode.Conv2D, options,
            [TestTensor.Input(input, new float[KernelAssert.Count(input)]), TestTensor.Const(weights, new float[KernelAssert.Count(weights)]), null],
            TestTensor.Output(output));
    }

    [Fact]
    public void Prepare_BiasOfWrongLengthOrType_IsRefused()
    {
        TestTensor in0 = TestTensor.Input([1, 3, 3, 2], new float[18]);
        TestTensor w = TestTensor.Const([4, 1, 1, 2], new float[8]);
        KernelAssert.Refused(OpCode.Conv2D, Options(), [in0, w, TestTensor.Const([3], new float[3])], TestTensor.Output([1, 3, 3, 4]));
        KernelAssert.Refused(OpCode.Conv2D, Options(), [in0, w, new TestTensor([4], DataType.Int32, new byte[16], IsConstant: true)], TestTensor.Output([1, 3, 3, 4]));
        KernelAssert.Refused(OpCode.Conv2D, Options(), [in0, new TestTensor([4, 1, 1, 2], DataType.Int8, new byte[8], IsConstant: true)], TestTensor.Output([1, 3, 3, 4]));
    }

    private static Conv2DOptions Options(int stride = 1, int dilation = 1, int pad = 0, int groups = 1, ClampOptions? clamp = null)
        => new(stride, stride, dilation, dilation, pad, pad, pad, pad, groups, clamp ?? ClampOptions.None);

    private static (float[] X, float[] W, float[]? B) Data(Case c)
    {
        var rng = new Random(c.Name.Length * 7919 + c.Cin * 31 + c.Cout);
        float[] x = KernelAssert.Random(rng, c.N * c.H * c.W * c.Cin);
        float[] w = KernelAssert.Random(rng, c.Cout * c.KH * c.KW * c.CinG);
        float[]? b = c.Bias ? KernelAssert.Random(rng, c.Cout) : null;
        return (x, w, b);
    }

    private static TestTensor?[] Inputs(Case c, float[] x, float[] w, float[]? b) =>
        [TestTensor.Input([c.N, c.H, c.W, c.Cin], x), TestTensor.Const([c.Cout, c.KH, c.KW, c.CinG], w), b is null ? null : TestTensor.Const([c.Cout], b)];

    /// <summary>The convolution as its definition reads, in double precision, padded taps skipped.</summary>
    private static double[] Reference(Case c, float[] x, float[] w, float[]? b)
    {
        var y = new double[c.N * c.OH * c.OW * c.Cout];
        int coutG = c.Cout / c.Groups;
        for (int n = 0; n < c.N; n++)
        for (int oy = 0; oy < c.OH; oy++)
        for (int ox = 0; ox < c.OW; ox++)
        for (int co = 0; co < c.Cout; co++)
        {
            int g = co / coutG;
            double sum = b?[co] ?? 0;
            for (int ky = 0; ky < c.KH; ky++)
            for (int kx = 0; kx < c.KW; kx++)
            {
                int iy = oy * c.StrideH - c.PadTop + ky * c.DilationH;
                int ix = ox * c.StrideW - c.PadLeft + kx * c.DilationW;
                if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W)
                {
                    continue;
                }

                for (int ci = 0; ci < c.CinG; ci++)
                {
                    sum += (double)x[((n * c.H + iy) * c.W + ix) * c.Cin + g * c.CinG + ci] * w[((co * c.KH + ky) * c.KW + kx) * c.CinG + ci];
                }
            }

            y[((n * c.OH + oy) * c.OW + ox) * c.Cout + co] = c.Relu6 ? Math.Clamp(sum, 0, 6) : sum;
        }

        return y;
    }

    /// <summary>The documented float sequence: one FMA chain over the (ci, ky, kx) terms (zeros for padding), + bias, clamp.</summary>
    private static float[] Canonical(Case c, float[] x, float[] w, float[]? b)
    {
        var y = new float[c.N * c.OH * c.OW * c.Cout];
        int coutG = c.Cout / c.Groups;
        int k = c.KH * c.KW * c.CinG;
        var patch = new float[k];
        var weights = new float[k];
        ClampOptions clamp = c.Options.Clamp;
        for (int n = 0; n < c.N; n++)
        for (int oy = 0; oy < c.OH; oy++)
        for (int ox = 0; ox < c.OW; ox++)
        for (int co = 0; co < c.Cout; co++)
        {
            int g = co / coutG, t = 0;
            for (int ci = 0; ci < c.CinG; ci++)
            for (int ky = 0; ky < c.KH; ky++)
            for (int kx = 0; kx < c.KW; kx++)
            {
                int iy = oy * c.StrideH - c.PadTop + ky * c.DilationH;
                int ix = ox * c.StrideW - c.PadLeft + kx * c.DilationW;
                bool inside = iy >= 0 && iy < c.H && ix >= 0 && ix < c.W;
                patch[t] = inside ? x[((n * c.H + iy) * c.W + ix) * c.Cin + g * c.CinG + ci] : 0f;
                weights[t++] = w[((co * c.KH + ky) * c.KW + kx) * c.CinG + ci];
            }

            float dot = CanonicalOrder.Chain(patch, weights);
            float v = b is null ? dot : dot + b[co];
            y[((n * c.OH + oy) * c.OW + ox) * c.Cout + co] = CanonicalOrder.Clamp(v, clamp.Min, clamp.Max);
        }

        return y;
    }
}
