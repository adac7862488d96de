using System.Runtime.InteropServices;
using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class PoolingKernelTests
{
    public sealed record Case(string Name, int N, int H, int W, int C, int KH, int KW, int StrideH, int StrideW,
        int DilationH = 1, int DilationW = 1, int PadTop = 0, int PadLeft = 0, int PadBottom = 0, int PadRight = 0,
        bool CountIncludePad = false, bool CeilH = false, bool CeilW = false, bool Relu = false)
    {
        public int OH => Size(H, PadTop, PadBottom, KH, StrideH, DilationH, CeilH);
        public int OW => Size(W, PadLeft, PadRight, KW, StrideW, DilationW, CeilW);
        public Pool2DOptions Options => new(KH, KW, StrideH, StrideW, DilationH, DilationW, PadTop, PadLeft, PadBottom, PadRight,
            CountIncludePad, Relu ? ClampOptions.Relu : ClampOptions.None);
        public override string ToString() => Name;

        private static int Size(int size, int before, int after, int k, int s, int d, bool ceil)
        {
            int span = size + before + after - d * (k - 1) - 1;
            return (ceil ? (span + s - 1) / s : span / s) + 1;
        }
    }

    public static TheoryData<Case> Cases => new()
    {
        new Case("2x2-stride2", 1, 8, 6, 13, 2, 2, 2, 2),
        new Case("3x3-stride2-pad1", 2, 7, 9, 8, 3, 3, 2, 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        new Case("3x3-pad1-include-pad", 1, 5, 6, 9, 3, 3, 1, 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, CountIncludePad: true),
        new Case("ceil-mode", 1, 8, 7, 5, 3, 3, 2, 2, CeilH: true, CeilW: true),
        new Case("ceil-mode-pad-include-pad", 1, 8, 8, 4, 3, 3, 2, 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, CountIncludePad: true, CeilH: true, CeilW: true),
        new Case("dilated-asymmetric-pad", 1, 9, 10, 7, 3, 2, 1, 2, DilationH: 2, DilationW: 3, PadTop: 2, PadRight: 2, CountIncludePad: true),
        new Case("large-window", 2, 9, 9, 17, 9, 9, 1, 1, PadTop: 4, PadLeft: 4, PadBottom: 4, PadRight: 4, Relu: true),
        new Case("1d", 1, 1, 23, 6, 1, 4, 1, 3, PadLeft: 1, PadRight: 2),
        new Case("global-as-window", 1, 5, 7, 33, 5, 7, 1, 1),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MaxPool_MatchesReference_OnEveryPath(Case c)
    {
        float[] x = Data(c);
        float[] y = KernelAssert.RunEveryPath(OpCode.MaxPool2D, c.Options, [TestTensor.Input([c.N, c.H, c.W, c.C], x)], [c.N, c.OH, c.OW, c.C]);
        KernelAssert.Close(Reference(c, x, average: false), y, 0);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AveragePool_MatchesReference_OnEveryPath(Case c)
    {
        float[] x = Data(c);
        float[] y = KernelAssert.RunEveryPath(OpCode.AveragePool2D, c.Options, [TestTensor.Input([c.N, c.H, c.W, c.C], x)], [c.N, c.OH, c.OW, c.C]);
        KernelAssert.Close(Reference(c, x, average: true), y);
    }

    [Fact]
    public void AveragePool_SumsInTheCanonicalOrder_BitForBit()
    {
        var c = new Case("canonical", 1, 6, 6, 11, 4, 4, 1, 1, PadTop: 1, PadLeft: 2, PadBottom: 2, PadRight: 1);
        float[] x = Data(c);
        float[] y = KernelRunner.RunFloat(OpCode.AveragePool2D, c.Options, [TestTensor.Input([c.N, c.H, c.W, c.C], x)], [c.N, c.OH, c.OW, c.C]);
        for (int oy = 0; oy < c.OH; oy++)
        for (int ox = 0; ox < c.OW; ox++)
        for (int ch = 0; ch < c.C; ch++)
        {
            var terms = new List<float>();
            for (int ky = 0; ky < c.KH; ky++)
            for (int kx = 0; kx < c.KW; kx++)
            {
                int iy = oy - c.PadTop + ky, ix = ox - c.PadLeft + kx;
                if (iy >= 0 && iy < c.H && ix >= 0 && ix < c.W)
                {
                    terms.Add(x[(iy * c.W + ix) * c.C + ch]);
                }
            }

            Assert.Equal(CanonicalOrder.Sum(terms) / terms.Count, y[(oy * c.OW + ox) * c.C + ch]);
        }
    }

    [Fact]
    public void MaxPool_NaNInTheWindow_GivesNaN_AndPositiveZeroBeatsNegative_OnEveryPath()
    {
        // 1×2×2×9: channel 0 has a NaN among numbers, channel 1 is {−0, +0, −0, −0}, channel 8 (the vector tail) a NaN.
        var x = new float[36];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = i % 9 - 4;
        }

        x[9 * 2] = float.NaN;
        x[1] = -0f; x[9 + 1] = 0f; x[18 + 1] = -0f; x[27 + 1] = -0f;
        x[27 + 8] = float.NaN;
        var options = new Pool2DOptions(2, 2, 1, 1, 1, 1, 0, 0, 0, 0, false, ClampOptions.None);
        float[] y = KernelAssert.RunEveryPath(OpCode.MaxPool2D, options, [TestTensor.Input([1, 2, 2, 9], x)], [1, 1, 1, 9]);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(BitConverter.SingleToInt32Bits(0f), BitConverter.SingleToInt32Bits(y[1]));
        Assert.True(float.IsNaN(y[8]));
        Assert.Equal(-2f, y[2]);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 5)]
    [InlineData(13, 13)]
    public void GlobalAveragePool_MatchesReference_OnEveryPath(int h, int w)
    {
        const int N = 2, C = 19;
        float[] x = KernelAssert.Random(new Random(h * 100 + w), N * h * w * C);
        float[] y = KernelAssert.RunEveryPath(OpCode.GlobalAveragePool, null, [TestTensor.Input([N, h, w, C], x)], [N, 1, 1, C]);
        var expected = new double[N * C];
        for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
        {
            double sum = 0;
            var terms = new List<float>();
            for (int p = 0; p < h * w; p++)
            {
                sum += x[(n * h * w + p) * C + c];
                terms.Add(x[(n * h * w + p) * C + c]);
            }

            expected[n * C + c] = sum / (h * w);
            Assert.Equal(CanonicalOrder.Sum(terms) / (h * w), y[n * C + c]);
        }

        KernelAssert.Close(expected, y);
    }

    public static TheoryData<string, Pool2DOptions, int[]> Malformed => new()
    {
        { "zero kernel", new Pool2DOptions(0, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, ClampOptions.None), [1, 4, 4, 3] },
        { "zero stride", new Pool2DOptions(2, 2, 0, 2, 1, 1, 0, 0, 0, 0, false, ClampOptions.None), [1, 4, 4, 3] },
        { "zero dilation", new Pool2DOptions(2, 2, 2, 2, 1, 0, 0, 0, 0, 0, false, ClampOptions.None), [1, 4, 4, 3] },
        { "negative pad", new Pool2DOptions(2, 2, 2, 2, 1, 1, -1, 0, 0, 0, false, ClampOptions.None), [1, 4, 4, 3] },
        { "output below floor", new Pool2DOptions(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, ClampOptions.None), [1, 3, 4, 3] },
        { "output above ceil", new Pool2DOptions(3, 3, 2, 2, 1, 1, 0, 0, 0, 0, false, ClampOptions.None), [1, 9, 9, 4] },
        { "output channels", new Pool2DOptions(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, ClampOptions.None), [1, 4, 4, 2] },
        { "window entirely in padding", new Pool2DOptions(2, 2, 1, 1, 1, 1, 3, 0, 0, 0, false, ClampOptions.None), [1, 10, 7, 3] },
        { "empty clamp", new Pool2DOptions(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, new ClampOptions(1, 0)), [1, 4, 4, 3] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Prepare_MalformedNode_IsRefused(string problem, Pool2DOptions options, int[] output)
    {
        _ = problem;
        TestTensor input = TestTensor.Input([1, 8, 8, 3], new float[192]);
        KernelAssert.Refused(OpCode.MaxPool2D, options, [input], TestTensor.Output(output));
        KernelAssert.Refused(OpCode.AveragePool2D, options, [input], TestTensor.Output(output));
    }

    [Fact]
    public void GlobalAveragePool_WrongOutputOrRank_IsRefused()
    {
        KernelAssert.Refused(OpCode.GlobalAveragePool, null, [TestTensor.Input([1, 4, 4, 3], new float[48])], TestTensor.Output([1, 3]));
        KernelAssert.Refused(OpCode.GlobalAveragePool, null, [TestTensor.Input([1, 4, 4, 3], new float[48])], TestTensor.Output([1, 1, 1, 4]));
        KernelAssert.Refused(OpCode.GlobalAveragePool, null, [TestTensor.Input([4, 4, 3], new float[48])], TestTensor.Output([1, 1, 3]));
    }

    private static float[] Data(Case c) => KernelAssert.Random(new Random(c.Name.GetHashCode(StringComparison.Ordinal) & 0xFFFF), c.N * c.H * c.W * c.C, -2, 2);

    /// <summary>ONNX semantics written out: clip to the input; max ignores padding; mean over in-input or padded-extent count.</summary>
    private static double[] Reference(Case c, float[] x, bool average)
    {
        var y = new double[c.N * c.OH * c.OW * c.C];
        for (int n = 0; n < c.N; n++)
        for (int oy = 0; oy < c.OH; oy++)
        for (int ox = 0; ox < c.OW; ox++)
        for (int ch = 0; ch < c.C; ch++)
        {
            double max = double.NegativeInfinity, sum = 0;
            int inside = 0, padded = 0;
            for (int ky = 0; ky < c.KH; ky++)
            for (int kx = 0; kx < c.KW; kx++)
            {
                int iy = oy * c.StrideH - c.PadTop + ky * c.DilationH;
                int ix = ox * c.StrideW - c.PadLeft + kx * c.DilationW;
                if (iy >= -c.PadTop && iy < c.H + c.PadBottom && ix >= -c.PadLeft && ix < c.W + c.PadRight)
                {
                    padded++;
                }

                if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W)
                {
                    continue;
                }

                double v = x[((n * c.H + iy) * c.W + ix) * c.C + ch];
                max = Math.Max(max, v);
                sum += v;
                inside++;
            }

            double r = average ? sum / (c.CountIncludePad ? padded : inside) : max;
            y[((n * c.OH + oy) * c.OW + ox) * c.C + ch] = c.Relu ? Math.Max(r, 0) : r;
        }

        return y;
    }
}
