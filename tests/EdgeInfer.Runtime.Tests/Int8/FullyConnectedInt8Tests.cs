using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class FullyConnectedInt8Tests
{
    public static TheoryData<int, int, int, bool> Cases => new()
    {
        { 1, 1, 1, false }, { 1, 7, 3, true }, { 2, 8, 4, false }, { 3, 19, 5, true }, { 5, 64, 10, true },
        { 4, 133, 9, false }, { 7, 33, 17, true }, { 9, 40, 24, true }, { 1, 300, 40, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Invoke_Int8_MatchesTfliteReference(int rows, int depth, int units, bool perChannel)
    {
        var rng = new Random(rows * 1000 + depth * 10 + units);
        sbyte[] x = Int8Data.Random(rng, rows * depth);
        sbyte[] w = Int8Data.Random(rng, units * depth, -127, 127);
        int[] bias = Int8Data.RandomInts(rng, units, -5000, 5000);
        float[] ws = Int8Data.Scales(rng, perChannel ? units : 1, 0.001f, 0.02f);
        (float sx, int zx, float sy, int zy) = (0.05f, rng.Next(-20, 20), 0.08f, rng.Next(-10, 10));
        foreach (ClampOptions clamp in new[] { ClampOptions.None, ClampOptions.Relu, new ClampOptions(-0.5f, 1.5f) })
        {
            sbyte[] y = KernelRunner.RunInt8(OpCode.FullyConnected, clamp,
                [TestTensor.Int8([rows, depth], x, sx, zx), TestTensor.Int8Weights([units, depth], w, ws), TestTensor.Int32Const([units], bias)],
                TestTensor.Int8Output([rows, units], sy, zy));
            Assert.Equal(Reference(x, w, bias, rows, depth, units, sx, zx, ws, sy, zy, clamp), y);
        }
    }

    [Theory]
    [InlineData(13, 8, 48)]
    [InlineData(64, 3, 40)]
    [InlineData(6, 5, 16)]
    public void Invoke_EveryPath_ShallowLayerWithRelu_MatchesTfliteReference(int rows, int depth, int units)
    {
        // K ≤ 8 with ReLU and effective scales below 1: the streamed GEMM form in the folded ReLU requantization,
        // which Avx512 runs four rows per 512-bit step (the rows past the last four on AVX2) and every other path
        // its own way. All must give the reference's bytes.
        var rng = new Random(rows * 100 + depth * 10 + units);
        sbyte[] x = Int8Data.Random(rng, rows * depth);
        sbyte[] w = Int8Data.Random(rng, units * depth, -127, 127);
        int[] bias = Int8Data.RandomInts(rng, units, -20000, 20000);
        float[] ws = Int8Data.Scales(rng, units, 0.001f, 0.02f);
        (float sx, int zx, float sy, int zy) = (0.05f, rng.Next(-20, 20), 0.02f, -128);
        byte[] y = KernelRunner.RunEveryPath(OpCode.FullyConnected, ClampOptions.Relu,
            [TestTensor.Int8([rows, depth], x, sx, zx), TestTensor.Int8Weights([units, depth], w, ws), TestTensor.Int32Const([units], bias)],
            TestTensor.Int8Output([rows, units], sy, zy));
        Assert.Equal(Reference(x, w, bias, rows, depth, units, sx, zx, ws, sy, zy, ClampOptions.Relu), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(y).ToArray());
    }

    /// <summary>TFLite's reference FullyConnected: Σ (x − zx)·w + bias, requantized with each channel's scale (one scale: per tensor).</summary>
    internal static sbyte[] Reference(sbyte[] x, sbyte[] w, int[] bias, int rows, int depth, int units, float sx, int zx, float[] ws,
        float sy, int zy, ClampOptions clamp)
    {
        (int lo, int hi) = TfliteReference.ActivationRange(clamp.Min, clamp.Max, sy, zy);
        var y = new sbyte[rows * units];
        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < units; n++)
            {
                int acc = bias[n];
                for (int k = 0; k < depth; k++)
                {
                    acc += (x[m * depth + k] - zx) * w[n * depth + k];
                }

                y[m * units + n] = (sbyte)TfliteReference.Requantize(acc, (double)sx * ws[ws.Length == 1 ? 0 : n] / sy, zy, lo, hi);
            }
        }

        return y;
    }

    [Fact]
    public void Invoke_EveryPath_GivesIdenticalBytes_OverRandomShapes()
    {
        var rng = new Random(5);
        for (int trial = 0; trial < 60; trial++)
        {
            int rows = rng.Next(1, 71), depth = rng.Next(1, 71), units = rng.Next(1, 71);
            bool perChannel = trial % 2 == 0;
            // Full-range weights including −128, extreme zero points and large multipliers stress every lane.
            TestTensor?[] inputs =
            [
                TestTensor.Int8([rows, depth], Int8Data.Random(rng, rows * depth), 0.1f, rng.Next(-128, 128)),
                TestTensor.Int8Weights([units, depth], Int8Data.Random(rng, units * depth), Int8Data.Scales(rng, perChannel ? units : 1, 0.0005f, 0.05f)),
                trial % 3 == 0 ? null : TestTensor.Int32Const([units], Int8Data.RandomInts(rng, units, -100000, 100000)),
            ];
            IOpOptions clamp = trial % 4 == 0 ? ClampOptions.Relu : ClampOptions.None;
            KernelRunner.RunEveryPath(OpCode.FullyConnected, clamp, inputs, TestTensor.Int8Output([rows, units], rng.Next(1, 4) * 0.07f, rng.Next(-128, 128)));
        }
    }

    [Theory]
    [InlineData(5, 1, 40)]
    [InlineData(9, 2, 40)]
    [InlineData(9, 3, 24)]
    [InlineData(13, 7, 16)]
    [InlineData(5, 112, 1280)]
    [InlineData(9, 57, 8)]
    [InlineData(9, 112, 1280)]
    [InlineData(13, 57, 40)]
    [InlineData(21, 20, 24)]
    public void Invoke_EveryPath_LastStripOfOneRow(int rows, int depth, int units)
    {
        // M ≡ 1 (mod 4): Avx2 runs a last single row alone below nine rows, and the last nine rows as three groups
        // of three from nine on; odd and even pair counts, 16- and 8-wide panels.
        var rng = new Random(rows * 31 + depth * 7 + units);
        TestTensor?[] inputs =
        [
            TestTensor.Int8([rows, depth], Int8Data.Random(rng, rows * depth), 0.1f, rng.Next(-128, 128)),
            TestTensor.Int8Weights([units, depth], Int8Data.Random(rng, units * depth), Int8Data.Scales(rng, units, 0.0005f, 0.05f)),
            TestTensor.Int32Const([units], Int8Data.RandomInts(rng, units, -100000, 100000)),
        ];
        KernelRunner.RunEveryPath(OpCode.FullyConnected, ClampOptions.None, inputs, TestTensor.Int8Output([rows, units], 0.14f, rng.Next(-128, 128)));
    }

    // The AVX2 matrix–vector form (fewer than four rows) adds eight nibble pair sums in int16 before widening: with x
    // and w at their extremes every sum sits at ±3,840·8, the edge of int16, and the depths leave tails of 0, 3 and 31
    // bytes after the 32-byte blocks.
    [Theory]
    [InlineData(1, 1280, 1000)]
    [InlineData(3, 1283, 37)]
    [InlineData(2, 287, 6)]
    public void Invoke_MatrixVector_ExactAtTheInt16Bounds(int rows, int depth, int units)
    {
        var rng = new Random(depth);
        sbyte[] x = [.. Enumerable.Range(0, rows * depth).Select(i => (sbyte)(i % 5 == 4 ? rng.Next(-128, 128) : i / depth % 2 == 0 ? 127 : -128))];
        sbyte[] w = [.. Enumerable.Range(0, units * depth).Select(i => (sbyte)(i % 7 == 6 ? rng.Next(-128, 128) : i / depth % 2 == 0 ? -128 : 127))];
        AssertEveryPathMatchesTflite(rng, rows, depth, units, x, w);
    }

    /// <summary>Runs every path on x [rows, depth] and w [units, depth] and checks each output against TFLite's arithmetic.</summary>
    private static void AssertEveryPathMatchesTflite(Random rng, int rows, int depth, int units, sbyte[] x, sbyte[] w)
    {
        int[] bias = Int8Data.RandomInts(rng, units, -1000, 1000);
        float[] ws = Int8Data.Scales(rng, units, 0.000002f, 0.00001f);
        byte[] y = KernelRunner.RunEveryPath(OpCode.FullyConnected, ClampOptions.None,
            [TestTensor.Int8([rows, depth], x, 0.05f, 0), TestTensor.Int8Weights([units, depth], w, ws), TestTensor.Int32Const([units], bias)],
            TestTensor.Int8Output([rows, units], 0.08f, 2));
        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < units; n++)
            {
                int acc = bias[n];
                for (int k = 0; k < depth; k++)
                {
                    acc += x[m * depth + k] * w[n * depth + k];
                }

                Assert.Equal(TfliteReference.Requantize(acc, (double)0.05f * ws[n] / 0.08f, 2), (sbyte)y[m * units + n]);
            }
        }
    }

    // arm64 Vector128 with symmetric weights, both forms: the matrix–vector one (fewer than four rows, W in place) and
    // the 4×4 GEMM tile (four rows and more) put two products in each int16 lane (SMULL + SMLAL2), which is exact only
    // for weights in [−127, 127], so these weights stop there and x sits at −128 against −127: every lane holds
    // 2·16,256 = 32,512, the edge of int16. Depths leave K tails of 0, 3 and 15 after the 16-byte blocks (the GEMM
    // zero-pads them); channel counts leave partial groups of four and of sixteen, and 8-wide last panels. On x64 this
    // runs the AVX2 forms.
    [Theory]
    [InlineData(1, 1280, 1000)]
    [InlineData(3, 1283, 37)]
    [InlineData(2, 287, 6)]
    [InlineData(1, 16, 3)]
    [InlineData(1, 5, 17)]
    [InlineData(4, 64, 16)]
    [InlineData(5, 287, 21)]
    [InlineData(9, 35, 40)]
    [InlineData(7, 16, 6)]
    [InlineData(6, 1283, 37)]
    public void Invoke_WeightsWithinPlusMinus127_ExactAtTheInt16Bounds(int rows, int depth, int units)
    {
        var rng = new Random(depth + units);
        sbyte[] x = [.. Enumerable.Range(0, rows * depth).Select(i => (sbyte)(i % 5 == 4 ? rng.Next(-128, 128) : i / depth % 2 == 0 ? -128 : 127))];
        sbyte[] w = [.. Enumerable.Range(0, units * depth).Select(i => (sbyte)(i % 7 == 6 ? rng.Next(-127, 128) : i / depth % 2 == 0 ? -127 : 127))];
        AssertEveryPathMatchesTflite(rng, rows, depth, units, x, w);
    }

    [Fact]
    public void Invoke_EveryPath_GivesIdenticalBytes_SymmetricWeights()
    {
        // Weights in [−127, 127], as symmetric quantizers write them: the domain of the arm64 SMULL forms, the
        // matrix–vector one (the first half of the trials, fewer than four rows) and the 4×4 GEMM tile.
        var rng = new Random(11);
        for (int trial = 0; trial < 60; trial++)
        {
            int rows = trial < 30 ? rng.Next(1, 4) : rng.Next(4, 30), depth = rng.Next(1, 90), units = rng.Next(1, 70);
            TestTensor?[] inputs =
            [
                TestTensor.Int8([rows, depth], Int8Data.Random(rng, rows * depth), 0.1f, rng.Next(-128, 128)),
                TestTensor.Int8Weights([units, depth], Int8Data.Random(rng, units * depth, -127, 127), Int8Data.Scales(rng, trial % 2 == 0 ? units : 1, 0.0005f, 0.05f)),
                trial % 3 == 0 ? null : TestTensor.Int32Const([units], Int8Data.RandomInts(rng, units, -100000, 100000)),
            ];
            KernelRunner.RunEveryPath(OpCode.FullyConnected, trial % 4 == 0 ? ClampOptions.Relu : ClampOptions.None, inputs,
                TestTensor.Int8Output([rows, units], rng.Next(1, 4) * 0.07f, rng.Next(-128, 128)));
        }
    }

    [Fact]
    public void Invoke_EveryPath_GivesIdenticalBytes_WithLargeDepthAndMultiplierAboveOne()
    {
        var rng = new Random(9);
        const int rows = 6, depth = 1500, units = 37;
        TestTensor?[] inputs =
        [
            TestTensor.Int8([rows, depth], Int8Data.Random(rng, rows * depth), 0.5f, 3),
            TestTensor.Int8Weights([units, depth], Int8Data.Random(rng, units * depth), Int8Data.Scales(rng, units, 0.5f, 4f)),
            TestTensor.Int32Const([units], Int8Data.RandomInts(rng, units, -1000, 1000)),
        ];
        // Effective scales 0.5·[0.5, 4]/0.05 = 5..40 > 1: the left-shift half of the requantization is exercised.
        KernelRunner.RunEveryPath(OpCode.FullyConnected, ClampOptions.None, inputs, TestTensor.Int8Output([rows, units], 0.05f, -7));
    }

    [Fact]
    public void Prepare_RejectsMalformedNodes()
    {
        sbyte[] x = new sbyte[8], w = new sbyte[16];
        TestTensor input = TestTensor.Int8([2, 4], x, 0.1f, 0);
        TestTensor weights = TestTensor.Int8Weights([4, 4], w, [0.1f]);
        TestTensor output = TestTensor.Int8Output([2, 4], 0.1f, 0);
        Reject([input, weights, null], TestTensor.Output([2, 4]));                                                   // float output
        Reject([input with { Quantization = null }, weights, null], output);                                          // no input params
        Reject([input, weights with { Quantization = new QuantizationInfo([0.1f], [3], -1) }, null], output);         // asymmetric weights
        Reject([input, weights with { Quantization = new QuantizationInfo([0.1f, 0.2f], [0, 0], 1) }, null], output, expectReader: true);
        Reject([input, weights with { IsConstant = false }, null], output);                                           // weights not constant
        Reject([input, weights, TestTensor.Const([4], [1, 2, 3, 4])], output);                                        // float bias
        Reject([input, weights, null], TestTensor.Int8Output([2, 4], 0.1f, 0) with { Quantization = new QuantizationInfo([0.1f, 0.1f, 0.1f, 0.1f], [0, 0, 0, 0], 1) });
        Reject([input, TestTensor.Int8Weights([4, 4], w, [0.1f]) with { Type = DataType.UInt8 }, null], output);
    }

    private static void Reject(TestTensor?[] inputs, TestTensor output, bool expectReader = false)
    {
        Exception e = Assert.ThrowsAny<Exception>(() => KernelRunner.RunInt8(OpCode.FullyConnected, ClampOptions.None, inputs, output));
        Assert.True(e is EdgeInferModelException || (expectReader && e is not null), e.ToString());
    }
}
