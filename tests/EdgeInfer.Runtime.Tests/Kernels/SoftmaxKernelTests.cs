using System.Runtime.InteropServices;
using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class SoftmaxKernelTests
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
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Invoke_MatchesReference_OnEveryPath(int[] shape, int axis, float beta)
    {
        float[] x = KernelAssert.Random(new Random(axis * 31 + shape.Length), KernelAssert.Count(shape), -6, 6);
        float[] y = KernelAssert.RunEveryPath(OpCode.Softmax, new SoftmaxOptions(axis, beta), [TestTensor.Input(shape, x)], shape);
        KernelAssert.Close(Reference(shape, axis, beta, x), y, 2e-6);
    }

    [Fact]
    public void Invoke_HugeLogits_AreStable()
    {
        float[] y = KernelAssert.RunEveryPath(OpCode.Softmax, new SoftmaxOptions(1, 1), [TestTensor.Input([2, 3], [1000f, 1000f, 990f, -1e30f, 0f, -1e30f])], [2, 3]);
        double sum = 2 + Math.Exp(-10);
        KernelAssert.Close([1 / sum, 1 / sum, Math.Exp(-10) / sum, 0, 1, 0], y, 1e-6);
    }

    [Fact]
    public void Invoke_NaNInASlice_MakesThatSliceNaN_Only()
    {
        float[] y = KernelAssert.RunEveryPath(OpCode.Softmax, new SoftmaxOptions(1, 1), [TestTensor.Input([2, 9], [1, 2, float.NaN, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])], [2, 9]);
        Assert.All(y[..9], v => Assert.True(float.IsNaN(v)));
        Assert.All(y[9..], v => Assert.False(float.IsNaN(v)));
    }

    /// <summary>The result of a slice depends only on its values: softmax over axis 0 of Xᵀ is the transpose of softmax over axis 1 of X.</summary>
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

        float[] byRows = KernelAssert.RunEveryPath(OpCode.Softmax, new SoftmaxOptions(1, 1), [TestTensor.Input([Rows, Cols], x)], [Rows, Cols]);
        float[] byColumns = KernelAssert.RunEveryPath(OpCode.Softmax, new SoftmaxOptions(0, 1), [TestTensor.Input([Cols, Rows], xt)], [Cols, Rows]);
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < Cols; c++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(byRows[r * Cols + c]), BitConverter.SingleToInt32Bits(byColumns[c * Rows + r]));
            }
        }
    }

    [Fact]
    public void Prepare_BadAxisBetaOrShape_IsRefused()
    {
        TestTensor x = TestTensor.Input([2, 3], new float[6]);
        KernelAssert.Refused(OpCode.Softmax, new SoftmaxOptions(2, 1), [x], TestTensor.Output([2, 3]));
        KernelAssert.Refused(OpCode.Softmax, new SoftmaxOptions(-1, 1), [x], TestTensor.Output([2, 3]));
        KernelAssert.Refused(OpCode.Softmax, new SoftmaxOptions(1, float.NaN), [x], TestTensor.Output([2, 3]));
        KernelAssert.Refused(OpCode.Softmax, new SoftmaxOptions(1, 1), [x], TestTensor.Output([3, 2]));
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
                    y[(o * length + k) * inner + i] = Math.Exp(beta * (double)x[(o * length + k) * inner + i] - max) / sum;
                }
            }
        }

        return y;
    }
}
