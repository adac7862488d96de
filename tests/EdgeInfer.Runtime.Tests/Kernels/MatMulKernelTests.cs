using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class MatMulKernelTests
{
    public static TheoryData<int[], int[], int[]> Shapes => new()
    {
        { [3, 5], [5, 4], [3, 4] },
        { [1, 17], [17, 9], [1, 9] },
        { [2, 3, 5], [5, 4], [2, 3, 4] },
        { [3, 5], [2, 5, 4], [2, 3, 4] },
        { [2, 1, 3, 21], [4, 21, 6], [2, 4, 3, 6] },
        { [2, 7, 8], [2, 8, 3], [2, 7, 3] },
        { [1, 2, 9, 33], [3, 1, 33, 5], [3, 2, 9, 5] },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Invoke_MatchesReference_WhicheverOperandIsConstant_SameBytes(int[] aShape, int[] bShape, int[] outShape)
    {
        var rng = new Random(aShape.Sum() + bShape.Sum());
        float[] a = KernelAssert.Random(rng, KernelAssert.Count(aShape));
        float[] b = KernelAssert.Random(rng, KernelAssert.Count(bShape));
        float[] activation = KernelAssert.RunEveryPath(OpCode.MatMul, ClampOptions.None, [TestTensor.Input(aShape, a), TestTensor.Input(bShape, b)], outShape);
        float[] constant = KernelAssert.RunEveryPath(OpCode.MatMul, ClampOptions.None, [TestTensor.Input(aShape, a), TestTensor.Const(bShape, b)], outShape);
        float[] derived = KernelAssert.RunEveryPath(OpCode.MatMul, ClampOptions.None, [TestTensor.Input(aShape, a), TestTensor.Derived(bShape, b)], outShape);
        float[] constantA = KernelAssert.RunEveryPath(OpCode.MatMul, ClampOptions.None, [TestTensor.Const(aShape, a), TestTensor.Input(bShape, b)], outShape);
        Assert.Equal(activation, constant);
        Assert.Equal(activation, derived);
        Assert.Equal(activation, constantA);
        KernelAssert.Close(Reference(aShape, a, bShape, b, outShape), activation);
    }

    [Fact]
    public void Invoke_EqualsFullyConnectedBitForBit_AndAppliesTheClamp()
    {
        var rng = new Random(11);
        float[] a = KernelAssert.Random(rng, 6 * 19);
        float[] b = KernelAssert.Random(rng, 19 * 7);
        var wt = new float[7 * 19];
        for (int k = 0; k < 19; k++)
        {
            for (int n = 0; n < 7; n++)
            {
                wt[n * 19 + k] = b[k * 7 + n];
            }
        }

        float[] matmul = KernelAssert.RunEveryPath(OpCode.MatMul, ClampOptions.Relu, [TestTensor.Input([6, 19], a), TestTensor.Input([19, 7], b)], [6, 7]);
        float[] fc = KernelAssert.RunEveryPath(OpCode.FullyConnected, ClampOptions.Relu, [TestTensor.Input([6, 19], a), TestTensor.Const([7, 19], wt), null], [6, 7]);
        Assert.Equal(fc, matmul);
        Assert.All(matmul, v => Assert.True(v >= 0));
    }

    [Fact]
    public void Prepare_Malformed_IsRefused()
    {
        TestTensor a = TestTensor.Input([2, 3, 5], new float[30]);
        KernelAssert.Refused(OpCode.MatMul, ClampOptions.None, [a, TestTensor.Input([4, 4], new float[16])], TestTensor.Output([2, 3, 4]));     // K differs
        KernelAssert.Refused(OpCode.MatMul, ClampOptions.None, [a, TestTensor.Input([3, 5, 4], new float[60])], TestTensor.Output([3, 3, 4])); // batch 2 against 3
        KernelAssert.Refused(OpCode.MatMul, ClampOptions.None, [a, TestTensor.Input([5, 4], new float[20])], TestTensor.Output([2, 3, 5]));   // N
        KernelAssert.Refused(OpCode.MatMul, ClampOptions.None, [a, TestTensor.Input([5], new float[5])], TestTensor.Output([2, 3]));          // rank 1
        KernelAssert.Refused(OpCode.MatMul, new ClampOptions(float.NaN, 0), [a, TestTensor.Input([5, 4], new float[20])], TestTensor.Output([2, 3, 4]));
    }

    private static double[] Reference(int[] aShape, float[] a, int[] bShape, float[] b, int[] outShape)
    {
        int rank = outShape.Length, m = aShape[^2], k = aShape[^1], n = bShape[^1];
        int batches = outShape[..^2].Aggregate(1, (x, d) => x * d);
        var y = new double[batches * m * n];
        var index = new int[rank - 2];
        for (int ob = 0; ob < batches; ob++)
        {
            int rest = ob;
            for (int d = rank - 3; d >= 0; d--)
            {
                index[d] = rest % outShape[d];
                rest /= outShape[d];
            }

            int ai = BatchOffset(aShape, index), bi = BatchOffset(bShape, index);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                    {
                        sum += (double)a[(ai * m + i) * k + p] * b[(bi * k + p) * n + j];
                    }

                    y[(ob * m + i) * n + j] = sum;
                }
            }
        }

        return y;
    }

    private static int BatchOffset(int[] shape, int[] outIndex)
    {
        int axes = shape.Length - 2, shift = outIndex.Length - axes, offset = 0;
        for (int d = 0; d < axes; d++)
        {
            offset = offset * shape[d] + (shape[d] == 1 ? 0 : outIndex[d + shift]);
        }

        return offset;
    }
}
