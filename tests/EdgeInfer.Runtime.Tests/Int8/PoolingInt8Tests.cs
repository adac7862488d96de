using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class PoolingInt8Tests
{
    // N, H, W, C, KH, KW, stride, pad, dilation, countIncludePad[, ceil]
    public static TheoryData<int[]> Windows => new()
    {
        new[] { 1, 6, 6, 3, 2, 2, 2, 0, 1, 0 },
        new[] { 2, 7, 5, 4, 3, 3, 2, 1, 1, 0 },
        new[] { 1, 7, 5, 4, 3, 3, 2, 1, 1, 1 },
        new[] { 1, 9, 9, 2, 3, 2, 1, 2, 2, 0 },
        new[] { 1, 5, 5, 17, 5, 5, 1, 2, 1, 1 },
        // Vector max pooling: 16- and 8-channel chunks with and without scalar tails.
        new[] { 1, 8, 8, 8, 2, 2, 2, 0, 1, 0 },
        new[] { 2, 6, 7, 16, 3, 3, 2, 1, 1, 0 },
        new[] { 1, 7, 6, 24, 3, 2, 1, 1, 1, 0 },
        new[] { 1, 5, 5, 31, 3, 3, 2, 1, 2, 0 },
        new[] { 1, 4, 4, 40, 2, 2, 1, 1, 1, 0 },
        // The unpadded 2×2 max path: 8, 16 and 24 channels, odd sizes (last row and column unused), overlapping
        // windows (stride 1), two images.
        new[] { 2, 7, 7, 24, 2, 2, 2, 0, 1, 0 },
        new[] { 1, 5, 6, 16, 2, 2, 1, 0, 1, 0 },
        new[] { 1, 9, 4, 8, 2, 2, 3, 0, 1, 0 },
        // ceil_mode (GoogLeNet's and SqueezeNet's pools): a last window that runs past the input (and past the
        // padding, where count_include_pad does not count it), 16-channel vector and scalar tails.
        new[] { 1, 7, 7, 16, 3, 3, 2, 0, 1, 0, 1 },
        new[] { 2, 6, 5, 19, 3, 3, 2, 1, 1, 1, 1 },
        new[] { 1, 6, 6, 8, 3, 3, 2, 1, 1, 0, 1 },
        new[] { 1, 8, 8, 3, 2, 2, 3, 0, 1, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Windows))]
    public void MaxAndAverage_MatchTfliteReference(int[] p)
    {
        (int n, int h, int w, int c, int kh, int kw, int s, int pad, int d, bool include) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9] == 1);
        int up = p.Length > 10 && p[10] == 1 ? s - 1 : 0; // ceil_mode rounds the window count up
        int ho = (h + 2 * pad - d * (kh - 1) - 1 + up) / s + 1, wo = (w + 2 * pad - d * (kw - 1) - 1 + up) / s + 1;
        var rng = new Random(p.Sum());
        sbyte[] x = Int8Data.Random(rng, n * h * w * c);
        (float scale, int zp) = (0.1f, -7);
        var clamp = new ClampOptions(-3, 6);
        (int lo, int hi) = TfliteReference.ActivationRange(clamp.Min, clamp.Max, scale, zp);
        var options = new Pool2DOptions(kh, kw, s, s, d, d, pad, pad, pad, pad, include, clamp);
        foreach (OpCode op in new[] { OpCode.MaxPool2D, OpCode.AveragePool2D })
        {
            sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(op, options, [TestTensor.Int8([n, h, w, c], x, scale, zp)], TestTensor.Int8Output([n, ho, wo, c], scale, zp)));
            for (int b = 0; b < n; b++)
            for (int oh = 0; oh < ho; oh++)
            for (int ow = 0; ow < wo; ow++)
            for (int ch = 0; ch < c; ch++)
            {
                int max = -128, sum = 0, count = 0;
                for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++)
                {
                    int ih = oh * s - pad + i * d, iw = ow * s - pad + j * d;
                    if (ih >= h + pad || iw >= w + pad)
                    {
                        continue; // past the padding: a ceil_mode window's overhang, never a term
                    }

                    if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                    {
                        if (include)
                        {
                            sum += zp;
                            count++;
                        }

                        continue;
                    }

                    int v = x[((b * h + ih) * w + iw) * c + ch];
                    max = Math.Max(max, v);
                    sum += v;
                    count++;
                }

                // TFLite: round half away from zero with C's truncating division.
                int avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                int expected = op == OpCode.MaxPool2D ? max : avg;
                Assert.Equal(Math.Clamp(expected, lo, hi), y[((b * ho + oh) * wo + ow) * c + ch]);
            }
        }
    }

    [Fact]
    public void Pooling_RejectsDifferentOutputQuantization()
    {
        var options = new Pool2DOptions(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, ClampOptions.None);
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.MaxPool2D, options,
            [TestTensor.Int8([1, 4, 4, 1], new sbyte[16], 0.1f, 0)], TestTensor.Int8Output([1, 2, 2, 1], 0.2f, 0)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.AveragePool2D, options,
            [TestTensor.Int8([1, 4, 4, 1], new sbyte[16], 0.1f, 0)], TestTensor.Int8Output([1, 2, 2, 1], 0.1f, 1)));
    }

    [Theory]
    [InlineData(1, 3, 3, 40, 0.05f, 0.02f)]
    [InlineData(2, 3, 3, 1280, 0.02f, 0.05f)]   // MobileNet's last pool, twice: 40 blocks of 32 channels per image
    [InlineData(2, 7, 5, 9, 0.1f, 0.1f)]
    [InlineData(1, 1, 1, 3, 0.3f, 0.01f)]
    public void GlobalAveragePool_MatchesTfliteReference(int n, int h, int w, int c, float sx, float sy)
    {
        var rng = new Random(n + h + w + c);
        sbyte[] x = Int8Data.Random(rng, n * h * w * c);
        (int zx, int zy) = (13, -40);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.GlobalAveragePool, null,
            [TestTensor.Int8([n, h, w, c], x, sx, zx)], TestTensor.Int8Output([n, 1, 1, c], sy, zy)));
        for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
        {
            int acc = 0;
            for (int i = 0; i < h * w; i++)
            {
                acc += x[(b * h * w + i) * c + ch] - zx;
            }

            Assert.Equal(TfliteReference.Requantize(acc, sx / ((double)sy * h * w), zy), y[b * c + ch]);
        }
    }
}
