using EdgeInfer.Format;
using EdgeInfer.Runtime.Kernels.Quantized;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class ActivationInt8Tests
{
    private static readonly sbyte[] AllBytes = [.. Enumerable.Range(-128, 256).Select(v => (sbyte)v)];

    public static TheoryData<OpCode> Ops => new()
    {
        OpCode.Relu, OpCode.Clip, OpCode.LeakyRelu, OpCode.HardSigmoid, OpCode.HardSwish, OpCode.Swish, OpCode.Sigmoid, OpCode.Tanh,
        OpCode.Abs, OpCode.Sqrt, OpCode.Exp, OpCode.Elu,
    };

    [Theory]
    [MemberData(nameof(Ops))]
    public void Invoke_EveryInputByte_MatchesTheRealFunctionRequantized(OpCode op)
    {
        (float sx, int zx) = (0.047f, 9);
        (float sy, int zy) = op switch
        {
            OpCode.Sigmoid or OpCode.HardSigmoid => (1f / 256, -128),
            OpCode.Tanh => (1f / 128, 0),
            OpCode.Exp => (1f, -128), // e^x for x in [−6.4, 5.5]: 0 to 245
            _ => (0.031f, -17),
        };
        (IOpOptions? options, Func<double, double> f) = op switch
        {
            OpCode.Relu => ((IOpOptions?)null, (Func<double, double>)(x => Math.Max(x, 0))),
            OpCode.Clip => (new ClampOptions(-1.5f, 2.25f), x => Math.Clamp(x, -1.5, 2.25)),
            OpCode.LeakyRelu => (new LeakyReluOptions(0.1f), x => x >= 0 ? x : (double)0.1f * x),
            OpCode.HardSigmoid => (new HardSigmoidOptions(0.2f, 0.5f), x => Math.Clamp((double)0.2f * x + (double)0.5f, 0, 1)),
            OpCode.HardSwish => (null, x => x * Math.Clamp(x + 3, 0, 6) / 6),
            OpCode.Swish => (null, x => x / (1 + Math.Exp(-x))),
            OpCode.Sigmoid => (null, x => 1 / (1 + Math.Exp(-x))),
            OpCode.Abs => (null, Math.Abs),
            OpCode.Sqrt => (null, Math.Sqrt),
            OpCode.Exp => (null, Math.Exp),
            OpCode.Elu => (new EluOptions(1.6732632f, 1.050701f), x => (double)1.050701f * (x > 0 ? x : (double)1.6732632f * (Math.Exp(x) - 1))),
            _ => (null, Math.Tanh),
        };
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(op, options, [TestTensor.Int8([256], AllBytes, sx, zx)], TestTensor.Int8Output([256], sy, zy)));
        for (int i = 0; i < 256; i++)
        {
            double real = f((double)sx * (AllBytes[i] - zx)) / sy;
            if (double.IsNaN(real))
            {
                Assert.Equal(zy, y[i]); // √ of a negative real: int8 has no NaN, the table holds the zero point
                continue;
            }

            // The platform's exp/tanh may differ from the kernel's deterministic ones in the last bits; allow that
            // only where the scaled value sits on a rounding boundary.
            int expected = Math.Clamp(zy + (int)Math.Round(real, MidpointRounding.AwayFromZero), -128, 127);
            bool nearTie = Math.Abs(Math.Abs(real - Math.Truncate(real)) - 0.5) < 1e-9;
            Assert.True(expected == y[i] || nearTie, $"{op} q={AllBytes[i]}: expected {expected}, got {y[i]}");
        }
    }

    // The vector lookups (64, 32 or 16 bytes per step, then the scalar tail) on bytes in random order, so that every
    // step mixes both halves and every row of the table; every path must equal the table read one byte at a time.
    [Theory]
    [InlineData(OpCode.Sigmoid, 1061)]
    [InlineData(OpCode.HardSwish, 4099)]
    [InlineData(OpCode.Tanh, 63)]
    [InlineData(OpCode.Swish, 200)]
    public void Invoke_RandomBytesAndTails_EveryPathReadsTheTable(OpCode op, int count)
    {
        var rng = new Random(count);
        sbyte[] x = Int8Data.Random(rng, count);
        TestTensor output = TestTensor.Int8Output([count], 0.02f, 3);
        sbyte[] table = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(op, null, [TestTensor.Int8([256], AllBytes, 0.047f, 9)], output with { Shape = [256] }));
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(op, null, [TestTensor.Int8([count], x, 0.047f, 9)], output));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(table[x[i] + 128], y[i]);
        }
    }

    [Fact]
    public void DeterministicMath_AgreesWithTheLibrary()
    {
        for (double x = -40; x <= 40; x += 0.01)
        {
            Assert.Equal(Math.Exp(x), DeterministicMath.Exp(x), Math.Exp(x) * 1e-14);
            Assert.Equal(Math.Tanh(x), DeterministicMath.Tanh(x), 1e-15);
            Assert.Equal(1 / (1 + Math.Exp(-x)), DeterministicMath.Logistic(x), 1e-15);
        }

        Assert.Equal(1.0, DeterministicMath.Exp(0));
        Assert.Equal(0.0, DeterministicMath.Exp(-800));
        Assert.Equal(double.PositiveInfinity, DeterministicMath.Exp(800));
    }

    /// <summary>The int8 LogSoftmax's log: within 2 ulp of the library's over the whole double range, and its special values.</summary>
    [Fact]
    public void DeterministicMath_Log_AgreesWithTheLibrary()
    {
        var rng = new Random(50);
        var x = new List<double> { double.Epsilon, 4.9e-320, 2.2250738585072014e-308, 1, Math.BitIncrement(1.0), Math.BitDecrement(1.0), 0.5, 2, Math.Sqrt(0.5), Math.Sqrt(2), double.MaxValue };
        for (int e = -1074; e <= 1023; e++)
        {
            x.Add(Math.ScaleB(1.0, e));
            x.Add(Math.ScaleB(1 + rng.NextDouble(), Math.Max(e, -1022)));
        }

        for (int i = 0; i < 100_000; i++)
        {
            x.Add(1 + (rng.NextDouble() - 0.5) * 0.01);
            x.Add(rng.NextDouble() * 300);
        }

        foreach (double v in x)
        {
            double expected = Math.Log(v);
            double ulp = Math.Max(Math.BitIncrement(Math.Abs(expected)) - Math.Abs(expected), double.Epsilon);
            Assert.True(Math.Abs(DeterministicMath.Log(v) - expected) <= 2 * ulp, $"log({v:R}) = {DeterministicMath.Log(v):R}, library {expected:R}");
        }

        Assert.Equal(0.0, DeterministicMath.Log(1));
        Assert.Equal(double.NegativeInfinity, DeterministicMath.Log(0));
        Assert.Equal(double.NegativeInfinity, DeterministicMath.Log(-0.0));
        Assert.Equal(double.PositiveInfinity, DeterministicMath.Log(double.PositiveInfinity));
        Assert.True(double.IsNaN(DeterministicMath.Log(-1)));
        Assert.True(double.IsNaN(DeterministicMath.Log(double.NegativeInfinity)));
        Assert.True(double.IsNaN(DeterministicMath.Log(double.NaN)));
    }

    [Fact]
    public void Prepare_RejectsMissingQuantization()
    {
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Tanh, null,
            [TestTensor.Int8([4], new sbyte[4], 0.1f, 0)], TestTensor.Output([4], DataType.Int8)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Relu, null,
            [TestTensor.Int8([4], new sbyte[4], 0.1f, 0)], TestTensor.Int8Output([5], 0.1f, 0)));
    }
}
