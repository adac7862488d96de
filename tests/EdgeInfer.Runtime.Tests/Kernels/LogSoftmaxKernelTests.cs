using EdgeInfer.Format;
using EdgeInfer.Runtime.Kernels.Common;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class LogSoftmaxKernelTests
{
    public static TheoryData<int[], int, float> Cases => new()
    {
        { [3, 10], 1, 1f },
        { [1, 1000], 1, 1f },
        { [4, 6], 0, 1f },
        { [2, 5, 7], 1, 1f },
        { [2, 3, 4, 13], 3, 0.5f },
        { [2, 9, 4, 5], 1, -1.3f },
        { [2, 3, 4, 5], 2, 2f },
        { [17], 0, 1f },
        { [3, 1], 1, 1f },
        { [1, 4, 11], 2, 1f },
    };

    /// <summary>
    /// Against the definition in double. Each output is fl(fl(βx − m) − L): two roundings of values up to the
    /// range of the logits, plus L's error, so the bound is a few float ulps of the larger of |βx − m| and L.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Invoke_MatchesReference_OnEveryPath(int[] shape, int axis, float beta)
    {
        float[] x = KernelAssert.Random(new Random(axis * 31 + shape.Length + shape[^1]), KernelAssert.Count(shape), -6, 6);
        float[] y = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(axis, beta), [TestTensor.Input(shape, x)], shape);
        KernelAssert.Close(Reference(shape, axis, beta, x), y, 2e-6);
    }

    /// <summary>The sum and maximum are Softmax's: exp of LogSoftmax's output is Softmax's output to within the exp's own rounding.</summary>
    [Fact]
    public void Exp_OfTheOutput_IsSoftmax()
    {
        int[] shape = [4, 33];
        float[] x = KernelAssert.Random(new Random(5), 4 * 33, -8, 8);
        float[] log = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(1, 1), [TestTensor.Input(shape, x)], shape);
        float[] softmax = KernelAssert.RunEveryPath(OpCode.Softmax, new SoftmaxOptions(1, 1), [TestTensor.Input(shape, x)], shape);
        KernelAssert.Close([.. softmax.Select(v => (double)v)], [.. log.Select(FloatMath.Exp)], 1e-6);
    }

    [Fact]
    public void Invoke_HugeRangesAndNegativeInfinity_StayFiniteOrMinusInfinity()
    {
        float[] x =
        [
            1000f, 1000f, 990f, -1e30f,
            -1e30f, 0f, -1e30f, 1e30f,
            float.NegativeInfinity, 2f, float.NegativeInfinity, 2f,
        ];
        float[] y = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(1, 1), [TestTensor.Input([3, 4], x)], [3, 4]);
        double log = Math.Log(2 + Math.Exp(-10));
        KernelAssert.Close([-log, -log, -10 - log, -1e30 - 1000, -2e30, -1e30, -2e30, 0, double.NegativeInfinity, -Math.Log(2), double.NegativeInfinity, -Math.Log(2)], y, 1e-6);
        Assert.True(float.IsNegativeInfinity(y[8]) && float.IsNegativeInfinity(y[10]));
    }

    /// <summary>A one-element axis gives exactly 0 (z − m = 0, the sum is 1, log 1 = +0), also along an inner axis.</summary>
    [Fact]
    public void Invoke_OneElementAxis_IsZero()
    {
        float[] x = KernelAssert.Random(new Random(7), 2 * 9, -100, 100);
        float[] rows = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(1, 1), [TestTensor.Input([18, 1], x)], [18, 1]);
        float[] columns = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(1, 2), [TestTensor.Input([2, 1, 9], x)], [2, 1, 9]);
        Assert.All(rows, v => Assert.Equal(0, BitConverter.SingleToInt32Bits(v)));
        Assert.All(columns, v => Assert.Equal(0, BitConverter.SingleToInt32Bits(v)));
    }

    [Fact]
    public void Invoke_NaNOrPlusInfinityInASlice_MakesThatSliceNaN_Only()
    {
        float[] x = [1, 2, float.NaN, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, float.PositiveInfinity, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        float[] y = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(1, 1), [TestTensor.Input([3, 9], x)], [3, 9]);
        Assert.All(y[..18], v => Assert.True(float.IsNaN(v)));
        Assert.All(y[18..], v => Assert.True(v < 0));
    }

    /// <summary>The result of a slice depends only on its values: over axis 0 of Xᵀ it is the transpose of over axis 1 of X.</summary>
    [Fact]
    public void Invoke_AxisPosition_DoesNotChangeTheBits()
    {
        const int Rows = 5, Cols = 27;
        float[] x = KernelAssert.Random(new Random(3), Rows * Cols, -4, 4);
        var xt = new float[x.Length];
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < Cols; c++)
            {
                xt[c * Rows + r] = x[r * Cols + c];
            }
        }

        float[] byRows = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(1, 1), [TestTensor.Input([Rows, Cols], x)], [Rows, Cols]);
        float[] byColumns = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(0, 1), [TestTensor.Input([Cols, Rows], xt)], [Cols, Rows]);
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < Cols; c++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(byRows[r * Cols + c]), BitConverter.SingleToInt32Bits(byColumns[c * Rows + r]));
            }
        }
    }

    /// <summary>Each element is exactly fl(fl(fl(βx) − m) − L) with L = FloatMath.Log of Softmax's sum, as the kernel documents.</summary>
    [Fact]
    public void Invoke_IsTheDocumentedSequence_BitForBit()
    {
        float[] x = KernelAssert.Random(new Random(11), 37, -20, 20);
        float[] y = KernelAssert.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(0, 0.75f), [TestTensor.Input([37], x)], [37]);
        float[] z = [.. x.Select(v => v * 0.75f)];
        float m = z.Max();
        float[] e = [.. z.Select(v => FloatMath.Exp(v - m))];
        float log = FloatMath.Log(CanonicalSum(e));
        Assert.Equal(z.Select(v => BitConverter.SingleToInt32Bits(v - m - log)), y.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Prepare_BadAxisBetaOrShape_IsRefused()
    {
        TestTensor x = TestTensor.Input([2, 3], new float[6]);
        KernelAssert.Refused(OpCode.LogSoftmax, new SoftmaxOptions(2, 1), [x], TestTensor.Output([2, 3]));
        KernelAssert.Refused(OpCode.LogSoftmax, new SoftmaxOptions(-1, 1), [x], TestTensor.Output([2, 3]));
        KernelAssert.Refused(OpCode.LogSoftmax, new SoftmaxOptions(1, float.PositiveInfinity), [x], TestTensor.Output([2, 3]));
        KernelAssert.Refused(OpCode.LogSoftmax, new SoftmaxOptions(1, 1), [x], TestTensor.Output([3, 2]));
    }

    /// <summary>docs/kernels.md's canonical order: eight lanes over the first K − K mod 8 terms, the fixed tree, then the tail.</summary>
    private static float CanonicalSum(float[] t)
    {
        var lanes = new float[8];
        int k8 = t.Length - t.Length % 8;
        for (int k = 0; k < k8; k++)
        {
            lanes[k % 8] += t[k];
        }

        float s = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
        for (int k = k8; k < t.Length; k++)
        {
            s += t[k];
        }

        return s;
    }

    private static double[] Reference(int[] shape, int axis, float beta, float[] x)
    {
        int outer = shape[..axis].Aggregate(1, (a, d) => a * d), length = shape[axis], inner = shape[(axis + 1)..].Aggregate(1, (a, d) => a * d);
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int k = 0; k < length; k++)
                {
                    max = Math.Max(max, beta * (double)x[(o * length + k) * inner + i]);
                }

                for (int k = 0; k < length; k++)
                {
                    sum += Math.Exp(beta * (double)x[(o * length + k) * inner + i] - max);
                }

                for (int k = 0; k < length; k++)
                {
                    y[(o * length + k) * inner + i] = beta * (double)x[(o * length + k) * inner + i] - max - Math.Log(sum);
                }
            }
        }

        return y;
    }
}
