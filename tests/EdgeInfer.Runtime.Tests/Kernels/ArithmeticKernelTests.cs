using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class ArithmeticKernelTests
{
    public static TheoryData<string, int[], int[], int[]> Shapes => new()
    {
        { "same shape", [2, 3, 17], [2, 3, 17], [2, 3, 17] },
        { "scalar b (rank 0)", [4, 9], [], [4, 9] },
        { "scalar a", [1], [5, 7], [5, 7] },
        { "per channel", [2, 4, 5, 11], [11], [2, 4, 5, 11] },
        { "per channel and batch (squeeze-excite)", [2, 4, 5, 11], [2, 1, 1, 11], [2, 4, 5, 11] },
        { "one value per pixel", [2, 3, 3, 6], [2, 3, 3, 1], [2, 3, 3, 6] },
        { "both broadcast", [3, 1, 5], [1, 4, 1], [3, 4, 5] },
        { "row against column", [6, 1], [1, 6], [6, 6] },
        { "lower rank b", [2, 3, 5], [3, 5], [2, 3, 5] },
        { "lower rank a inside", [5], [2, 3, 5], [2, 3, 5] },
        { "rank 8", [2, 1, 2, 1, 2, 1, 2, 3], [1, 2, 1, 2, 1, 2, 1, 3], [2, 2, 2, 2, 2, 2, 2, 3] },
    };

    private static readonly (OpCode Op, Func<double, double, double> F)[] Operators =
    [
        (OpCode.Add, (a, b) => a + b),
        (OpCode.Sub, (a, b) => a - b),
        (OpCode.Mul, (a, b) => a * b),
        (OpCode.Div, (a, b) => a / b),
    ];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Invoke_BroadcastsLikeNumPy_OnEveryPath(string name, int[] aShape, int[] bShape, int[] outShape)
    {
        var rng = new Random(name.Length);
        float[] a = KernelAssert.Random(rng, KernelAssert.Count(aShape), 0.5f, 2);
        float[] b = KernelAssert.Random(rng, KernelAssert.Count(bShape), 0.5f, 2);
        foreach ((OpCode op, Func<double, double, double> f) in Operators)
        {
            foreach (ClampOptions clamp in new[] { ClampOptions.None, new ClampOptions(0.75f, 1.5f) })
            {
                // The second operand as a constant as well: either input may come from the model.
                float[] y = KernelAssert.RunEveryPath(op, clamp, [TestTensor.Input(aShape, a), TestTensor.Const(bShape, b)], outShape);
                double[] expected = Reference(aShape, a, bShape, b, outShape, f);
                KernelAssert.Close([.. expected.Select(v => Math.Clamp(v, clamp.Min, clamp.Max))], y, 2e-7);
            }
        }
    }

    [Fact]
    public void Invoke_NonCommutativeOperators_KeepOperandOrder_WhenTheFirstIsBroadcast()
    {
        float[] sub = KernelAssert.RunEveryPath(OpCode.Sub, ClampOptions.None, [TestTensor.Const([], [10f]), TestTensor.Input([5], [1f, 2, 3, 4, 5])], [5]);
        Assert.Equal([9f, 8, 7, 6, 5], sub);
        float[] div = KernelAssert.RunEveryPath(OpCode.Div, ClampOptions.None, [TestTensor.Input([2, 1], [1f, -1]), TestTensor.Input([3], [2f, 0, -4])], [2, 3]);
        Assert.Equal([0.5f, float.PositiveInfinity, -0.25f, -0.5f, float.NegativeInfinity, 0.25f], div);
    }

    [Fact]
    public void Invoke_NaNPropagatesThroughTheClamp()
    {
        float[] y = KernelAssert.RunEveryPath(OpCode.Add, ClampOptions.Relu, [TestTensor.Input([9], [float.NaN, -1, 1, 2, 3, 4, 5, 6, float.NaN]), TestTensor.Const([1], [0f])], [9]);
        Assert.True(float.IsNaN(y[0]) && float.IsNaN(y[8]));
        Assert.Equal(0f, y[1]);
    }

    public static TheoryData<int[], int[], int[]> Malformed => new()
    {
        { [2, 3], [4, 3], [2, 3] },       // 2 against 4
        { [2, 3], [3], [2, 4] },          // output is not the broadcast shape
        { [2, 3], [3], [1, 2, 3] },       // output rank above the inputs'
        { [2, 3], [3], [6] },             // same elements, wrong shape
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Prepare_ShapesThatDoNotBroadcast_AreRefused(int[] aShape, int[] bShape, int[] outShape)
    {
        foreach ((OpCode op, _) in Operators)
        {
            KernelAssert.Refused(op, ClampOptions.None,
                [TestTensor.Input(aShape, new float[KernelAssert.Count(aShape)]), TestTensor.Input(bShape, new float[KernelAssert.Count(bShape)])],
                TestTensor.Output(outShape));
        }
    }

    [Fact]
    public void Prepare_WrongTypeOrClampOrInputCount_IsRefused()
    {
        TestTensor a = TestTensor.Input([4], new float[4]);
        KernelAssert.Refused(OpCode.Add, ClampOptions.None, [a, new TestTensor([4], DataType.Int32, new byte[16])], TestTensor.Output([4]));
        KernelAssert.Refused(OpCode.Mul, new ClampOptions(1, -1), [a, a], TestTensor.Output([4]));
        KernelAssert.Refused(OpCode.Sub, ClampOptions.None, [a], TestTensor.Output([4]));
    }

    /// <summary>Broadcasting by its definition: each output index maps to an operand index with broadcast axes at 0.</summary>
    private static double[] Reference(int[] aShape, float[] a, int[] bShape, float[] b, int[] outShape, Func<double, double, double> f)
    {
        int rank = outShape.Length;
        var y = new double[KernelAssert.Count(outShape)];
        var index = new int[rank];
        for (int i = 0; i < y.Length; i++)
        {
            int rest = i;
            for (int d = rank - 1; d >= 0; d--)
            {
                index[d] = rest % outShape[d];
                rest /= outShape[d];
            }

            y[i] = f(a[Offset(aShape, index)], b[Offset(bShape, index)]);
        }

        return y;
    }

    private static int Offset(int[] shape, int[] outIndex)
    {
        int offset = 0, shift = outIndex.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++)
        {
            offset = offset * shape[d] + (shape[d] == 1 ? 0 : outIndex[d + shift]);
        }

        return offset;
    }
}
