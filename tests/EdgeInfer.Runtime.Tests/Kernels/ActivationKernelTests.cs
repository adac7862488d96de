using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class ActivationKernelTests
{
    public sealed record Activation(string Name, OpCode Op, IOpOptions? Options, Func<double, double> Reference)
    {
        public override string ToString() => Name;
    }

    private static readonly Activation[] All =
    [
        new("relu", OpCode.Relu, null, x => Math.Max(x, 0)),
        new("clip", OpCode.Clip, new ClampOptions(-0.5f, 1.25f), x => Math.Clamp(x, -0.5, 1.25)),
        new("clip-lower-only", OpCode.Clip, new ClampOptions(-1f, float.PositiveInfinity), x => Math.Max(x, -1)),
        new("leaky-relu", OpCode.LeakyRelu, new LeakyReluOptions(0.1f), x => x < 0 ? 0.1f * x : x),
        new("sigmoid", OpCode.Sigmoid, null, x => 1 / (1 + Math.Exp(-x))),
        new("tanh", OpCode.Tanh, null, Math.Tanh),
        new("hard-sigmoid", OpCode.HardSigmoid, new HardSigmoidOptions(0.2f, 0.5f), x => Math.Clamp(0.2f * x + 0.5, 0, 1)),
        new("hard-swish", OpCode.HardSwish, null, x => x * Math.Clamp(x + 3, 0, 6) / 6),
        new("swish", OpCode.Swish, null, x => x / (1 + Math.Exp(-x))),
        new("abs", OpCode.Abs, null, Math.Abs),
        new("sqrt", OpCode.Sqrt, null, Math.Sqrt),
        new("exp", OpCode.Exp, null, Math.Exp),
        new("elu", OpCode.Elu, new EluOptions(1f, 1f), x => x > 0 ? x : Math.Exp(x) - 1),
        new("selu", OpCode.Elu, new EluOptions(1.6732632f, 1.050701f), x => (double)1.050701f * (x > 0 ? x : (double)1.6732632f * (Math.Exp(x) - 1))),
    ];

    public static TheoryData<Activation, int> Lengths()
    {
        var data = new TheoryData<Activation, int>();
        foreach (Activation a in All)
        {
            foreach (int n in new[] { 1, 7, 8, 9, 37, 1000 })
            {
                data.Add(a, n);
            }
        }

        return data;
    }

    public static TheoryData<Activation> Each() => [.. All];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Invoke_MatchesDoublePrecisionReference_OnEveryPath(Activation a, int length)
    {
        float[] x = KernelAssert.Random(new Random(length), length, -8, 8);
        float[] y = KernelAssert.RunEveryPath(a.Op, a.Options, [TestTensor.Input([length], x)], [length]);
        KernelAssert.Close([.. x.Select(v => a.Reference(v))], y, 3e-6);
    }

    /// <summary>NaN stays NaN, infinities saturate, signed zeros and subnormals come out the same on every path.</summary>
    [Theory]
    [MemberData(nameof(Each))]
    public void Invoke_SpecialValues_AreTheSameOnEveryPath_AndNaNPropagates(Activation a)
    {
        float[] specials = [float.NaN, -0f, 0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon,
            float.MaxValue, float.MinValue, 1e-30f, -1e-30f, 88f, -88f, 3f, -3f, 1e6f, -1e6f];
        float[] x = [.. specials, .. specials.Reverse(), float.NaN]; // 35 values: full vectors and a tail on every path
        float[] y = KernelAssert.RunEveryPath(a.Op, a.Options, [TestTensor.Input([x.Length], x)], [x.Length]);
        Assert.True(float.IsNaN(y[0]), $"{a.Name}(NaN) = {y[0]}");
        Assert.True(float.IsNaN(y[^1]));
        for (int i = 0; i < x.Length; i++)
        {
            if (double.IsNaN(a.Reference(x[i])))
            {
                Assert.True(float.IsNaN(y[i]), $"{a.Name}({x[i]:R}) = {y[i]:R}, expected NaN");
            }
            else if (!float.IsInfinity(x[i]) && Math.Abs(a.Reference(x[i])) > float.MaxValue)
            {
                Assert.True(float.IsInfinity(y[i]), $"{a.Name}({x[i]:R}) = {y[i]:R}, expected to overflow float");
            }
            else if (!float.IsNaN(x[i]) && !float.IsInfinity(x[i]) && a.Op != OpCode.HardSwish && !(a.Op == OpCode.Exp && x[i] > 88))
            {
                Assert.True(Math.Abs(y[i] - a.Reference(x[i])) <= 1e-6 * Math.Max(1, Math.Abs(a.Reference(x[i]))), $"{a.Name}({x[i]:R}) = {y[i]:R}");
            }
        }
    }

    [Fact]
    public void Abs_ClearsTheSignBit_Sqrt_IsIeee_Exp_IsTheSoftmaxExp()
    {
        float[] x = [-0f, -2.5f, 3f, float.NegativeInfinity, 2f, 1e-40f, 0.25f];
        float[] abs = KernelAssert.RunEveryPath(OpCode.Abs, null, [TestTensor.Input([x.Length], x)], [x.Length]);
        Assert.Equal(x.Select(v => BitConverter.SingleToInt32Bits(MathF.Abs(v))), abs.Select(BitConverter.SingleToInt32Bits));
        float[] sqrt = KernelAssert.RunEveryPath(OpCode.Sqrt, null, [TestTensor.Input([x.Length], x)], [x.Length]);
        Assert.Equal(x.Select(v => BitConverter.SingleToInt32Bits(MathF.Sqrt(v))), sqrt.Select(BitConverter.SingleToInt32Bits));
        float[] exp = KernelAssert.RunEveryPath(OpCode.Exp, null, [TestTensor.Input([x.Length], x)], [x.Length]);
        Assert.Equal(x.Select(v => Runtime.Kernels.Common.FloatMath.Exp(v)), exp);
    }

    [Fact]
    public void Elu_WithNonFiniteOptions_IsRefused()
    {
        TestTensor x = TestTensor.Input([4], [1f, -1f, 0f, 2f]);
        KernelAssert.Refused(OpCode.Elu, new EluOptions(float.NaN, 1f), [x], TestTensor.Output([4]));
        KernelAssert.Refused(OpCode.Elu, new EluOptions(1f, float.PositiveInfinity), [x], TestTensor.Output([4]));
    }

    [Fact]
    public void Relu_KeepsNegativeZero_AndClipWithEmptyRange_GivesMax()
    {
        float[] relu = KernelAssert.RunEveryPath(OpCode.Relu, null, [TestTensor.Input([3], [-0f, -1f, 2f])], [3]);
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(relu[0]));
        Assert.Equal([0f, 2f], relu[1..]);

        // ONNX Clip: min > max sets every value to max.
        float[] clip = KernelAssert.RunEveryPath(OpCode.Clip, new ClampOptions(2, 1), [TestTensor.Input([5], [-3f, 0f, 1.5f, 2.5f, 9f])], [5]);
        Assert.Equal([1f, 1f, 1f, 1f, 1f], clip);
    }

    [Fact]
    public void HardSwish_IsExactOutsideTheRamp()
    {
        float[] y = KernelAssert.RunEveryPath(OpCode.HardSwish, null, [TestTensor.Input([6], [3f, 7.25f, 1e20f, -3f, -5f, -1e20f])], [6]);
        Assert.Equal([3f, 7.25f, 1e20f, -0f, -0f, -0f], y);
    }

    [Theory]
    [MemberData(nameof(Each))]
    public void Prepare_OutputOfAnotherShapeOrType_IsRefused(Activation a)
    {
        KernelAssert.Refused(a.Op, a.Options, [TestTensor.Input([2, 3], new float[6])], TestTensor.Output([3, 2]));
        KernelAssert.Refused(a.Op, a.Options, [TestTensor.Input([2, 3], new float[6])], TestTensor.Output([2, 3], DataType.Int32));
    }

    [Fact]
    public void Prepare_NonFiniteParameters_AreRefused()
    {
        TestTensor x = TestTensor.Input([4], new float[4]);
        KernelAssert.Refused(OpCode.Clip, new ClampOptions(float.NaN, 1), [x], TestTensor.Output([4]));
        KernelAssert.Refused(OpCode.LeakyRelu, new LeakyReluOptions(float.NaN), [x], TestTensor.Output([4]));
        KernelAssert.Refused(OpCode.HardSigmoid, new HardSigmoidOptions(float.PositiveInfinity, 0.5f), [x], TestTensor.Output([4]));
        KernelAssert.Refused(OpCode.Relu, null, [x, x], TestTensor.Output([4]));
    }
}
