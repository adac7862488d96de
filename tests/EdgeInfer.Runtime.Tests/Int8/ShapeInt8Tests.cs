using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class ShapeInt8Tests
{
    [Fact]
    public void Concat_CopiesMatchingInputs_AndRequantizesOthers()
    {
        var rng = new Random(2);
        sbyte[] a = Int8Data.Random(rng, 2 * 3 * 4), b = Int8Data.Random(rng, 2 * 2 * 4);
        (float sy, int zy) = (0.1f, 5);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.Concat, new ConcatOptions(1),
            [TestTensor.Int8([2, 3, 4], a, sy, zy), TestTensor.Int8([2, 2, 4], b, 0.23f, -9)], TestTensor.Int8Output([2, 5, 4], sy, zy)));
        for (int o = 0; o < 2; o++)
        {
            for (int i = 0; i < 12; i++)
            {
                Assert.Equal(a[o * 12 + i], y[o * 20 + i]);
            }

            for (int i = 0; i < 8; i++)
            {
                Assert.Equal(TfliteReference.Requantize(b[o * 8 + i] - -9, 0.23 / sy, zy), y[o * 20 + 12 + i]);
            }
        }
    }

    [Fact]
    public void Concat_ChannelRunsLongerThanAVector_RequantizedOnEveryPath()
    {
        // A fire module's concatenation: per pixel, runs of 70 and 37 channels, both requantized (64-, 32- and
        // 16-byte lookups, then tails), and one of 16 copied.
        var rng = new Random(7);
        int[] widths = [70, 37, 16];
        (float Scale, int Zero)[] q = [(0.04f, -20), (0.3f, 100), (0.1f, 5)];
        sbyte[][] x = [.. widths.Select(w => Int8Data.Random(rng, 15 * w))];
        (float sy, int zy) = (0.1f, 5);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.Concat, new ConcatOptions(3),
            [.. widths.Select((w, i) => (TestTensor?)TestTensor.Int8([1, 5, 3, w], x[i], q[i].Scale, q[i].Zero))], TestTensor.Int8Output([1, 5, 3, 123], sy, zy)));
        for (int p = 0; p < 15; p++)
        {
            int at = p * 123;
            for (int i = 0; i < 3; i++)
            {
                for (int c = 0; c < widths[i]; c++, at++)
                {
                    sbyte v = x[i][p * widths[i] + c];
                    Assert.Equal(i == 2 ? v : TfliteReference.Requantize(v - q[i].Zero, q[i].Scale / (double)sy, zy), y[at]);
                }
            }
        }
    }

    [Fact]
    public void Reshape_Copies_AndRequiresTheSameQuantization()
    {
        sbyte[] x = [.. Enumerable.Range(0, 12).Select(i => (sbyte)(i * 7 - 40))];
        Assert.Equal(x, KernelRunner.RunInt8(OpCode.Reshape, null, [TestTensor.Int8([3, 4], x, 0.1f, 2)], TestTensor.Int8Output([2, 6], 0.1f, 2)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Reshape, null, [TestTensor.Int8([3, 4], x, 0.1f, 2)], TestTensor.Int8Output([2, 6], 0.1f, 3)));
    }

    [Fact]
    public void Transpose_PermutesAxes()
    {
        int[] shape = [2, 3, 4, 5];
        int[] perm = [0, 3, 1, 2];
        sbyte[] x = Int8Data.Random(new Random(1), 120);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.Transpose, new TransposeOptions(perm),
            [TestTensor.Int8(shape, x, 0.1f, 0)], TestTensor.Int8Output([2, 5, 3, 4], 0.1f, 0)));
        for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
        for (int c = 0; c < 4; c++)
        for (int d = 0; d < 5; d++)
        {
            Assert.Equal(x[((a * 3 + b) * 4 + c) * 5 + d], y[((a * 5 + d) * 3 + b) * 4 + c]);
        }

        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Transpose, new TransposeOptions([0, 1, 1, 2]),
            [TestTensor.Int8(shape, x, 0.1f, 0)], TestTensor.Int8Output([2, 3, 3, 4], 0.1f, 0)));
    }

    [Theory]
    [InlineData(2, 3, 4, 5)]
    [InlineData(1, 3, 9, 7)]
    [InlineData(1, 8, 2, 3)]
    [InlineData(3, 1, 5, 1)]
    [InlineData(1, 3, 2, 37)]   // three channels: 16-pixel shuffle blocks and a tail
    [InlineData(2, 3, 3, 16)]
    public void Transpose_NchwToNhwc_ShortInnerAxis(int n, int c, int h, int w)
    {
        // The layout-swap fast path (inner output axis ≤ 8 long, next axis contiguous in the input).
        sbyte[] x = Int8Data.Random(new Random(n * 1000 + c * 100 + h * 10 + w), n * c * h * w);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.Transpose, new TransposeOptions([0, 2, 3, 1]),
            [TestTensor.Int8([n, c, h, w], x, 0.1f, 0)], TestTensor.Int8Output([n, h, w, c], 0.1f, 0)));
        for (int a = 0; a < n; a++)
        for (int b = 0; b < c; b++)
        for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
        {
            Assert.Equal(x[((a * c + b) * h + i) * w + j], y[((a * h + i) * w + j) * c + b]);
        }
    }

    [Fact]
    public void MatMul_MatchesTfliteReference_WithBatchBroadcast()
    {
        var rng = new Random(8);
        (int batch, int m, int k, int n) = (3, 5, 7, 6);
        sbyte[] a = Int8Data.Random(rng, batch * m * k), b = Int8Data.Random(rng, k * n);
        (float sa, int za, float sb, int zb, float sy, int zy) = (0.05f, 4, 0.03f, -6, 0.2f, 1);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.MatMul, ClampOptions.None,
            [TestTensor.Int8([batch, m, k], a, sa, za), TestTensor.Int8Const([1, k, n], b, sb, zb)], TestTensor.Int8Output([batch, m, n], sy, zy)));
        for (int t = 0; t < batch; t++)
        for (int r = 0; r < m; r++)
        for (int c = 0; c < n; c++)
        {
            int acc = 0;
            for (int i = 0; i < k; i++)
            {
                acc += (a[(t * m + r) * k + i] - za) * (b[i * n + c] - zb);
            }

            Assert.Equal(TfliteReference.Requantize(acc, (double)sa * sb / sy, zy), y[(t * m + r) * n + c]);
        }
    }

    [Fact]
    public void Quantize_DividesRoundsAwayAndSaturates()
    {
        float[] x = [0f, 0.25f, -0.25f, 0.75f, 100f, -100f, float.NaN, 1.2f];
        byte[] y = KernelRunner.Run(OpCode.Quantize, null, [TestTensor.Input([8], x)], [TestTensor.Int8Output([8], 0.5f, 3)])[0];
        // x/0.5 = 0, 0.5→1, −0.5→−1, 1.5→2, 200, −200, NaN, 2.4→2; then + 3 and saturate.
        Assert.Equal(new sbyte[] { 3, 4, 2, 5, 127, -128, 3, 5 }, ElementwiseInt8Tests.Bytes(y));
    }

    [Fact]
    public void QuantizeInt8_Requantizes()
    {
        sbyte[] x = [.. Enumerable.Range(-128, 256).Select(v => (sbyte)v)];
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.Quantize, null, [TestTensor.Int8([256], x, 0.07f, -3)], TestTensor.Int8Output([256], 0.05f, 10)));
        for (int i = 0; i < 256; i++)
        {
            Assert.Equal(TfliteReference.Requantize(x[i] + 3, 0.07 / 0.05f, 10), y[i]);
        }
    }

    [Fact]
    public void Dequantize_PerTensorAndPerChannel()
    {
        sbyte[] x = [-128, -1, 0, 5, 127, 64];
        float[] y = KernelRunner.RunFloat(OpCode.Dequantize, null, [TestTensor.Int8([6], x, 0.5f, 2)], [6]);
        Assert.Equal(x.Select(v => 0.5f * (v - 2)).ToArray(), y);
        var perChannel = new TestTensor([2, 3], DataType.Int8, TestTensor.ToBytes(x), Quantization: new QuantizationInfo([0.5f, 0.25f], [0, 0], 0));
        float[] z = KernelRunner.RunFloat(OpCode.Dequantize, null, [perChannel], [2, 3]);
        Assert.Equal(new[] { -64f, -0.5f, 0f, 1.25f, 31.75f, 16f }, z);
    }
}
