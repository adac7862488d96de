using System.Runtime.Intrinsics;
using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class ElementwiseInt8Tests
{
    public static TheoryData<int[], int[], int[]> Shapes => new()
    {
        { [2, 3, 5], [2, 3, 5], [2, 3, 5] },
        { [1, 4, 4, 7], [7], [1, 4, 4, 7] },
        { [3, 1, 5], [1, 4, 1], [3, 4, 5] },
        { [1], [2, 3], [2, 3] },
        { [5, 1], [5, 9], [5, 9] },
        // Runs of 16 and more with tails (the vector paths' steps): squeeze-and-excitation scaling, a scalar operand
        // on either side (inner stride 0), a column broadcast along rows.
        { [1, 4, 3, 40], [1, 1, 1, 40], [1, 4, 3, 40] },
        { [1, 1, 1, 17], [1, 2, 5, 17], [1, 2, 5, 17] },
        { [1], [3, 37], [3, 37] },
        { [3, 37], [1], [3, 37] },
        { [2, 1, 33], [2, 5, 33], [2, 5, 33] },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AddSub_MatchTfliteReference_WithBroadcasting(int[] shapeA, int[] shapeB, int[] shapeY)
    {
        var rng = new Random(shapeY.Sum());
        sbyte[] a = Int8Data.Random(rng, shapeA.Aggregate(1, (p, d) => p * d));
        sbyte[] b = Int8Data.Random(rng, shapeB.Aggregate(1, (p, d) => p * d));
        (float sa, int za, float sb, int zb, float sy, int zy) = (0.05f, 7, 0.12f, -30, 0.09f, 4);
        foreach (OpCode op in new[] { OpCode.Add, OpCode.Sub })
        {
            foreach (ClampOptions clamp in new[] { ClampOptions.None, ClampOptions.Relu })
            {
                TestTensor?[] inputs = [TestTensor.Int8(shapeA, a, sa, za), TestTensor.Int8Const(shapeB, b, sb, zb)];
                sbyte[] y = Bytes(KernelRunner.RunEveryPath(op, clamp, inputs, TestTensor.Int8Output(shapeY, sy, zy)));
                (int lo, int hi) = TfliteReference.ActivationRange(clamp.Min, clamp.Max, sy, zy);
                double twiceMax = 2 * (double)Math.Max(sa, sb);
                var (m1, s1) = TfliteReference.QuantizeMultiplier(sa / twiceMax);
                var (m2, s2) = TfliteReference.QuantizeMultiplier(sb / twiceMax);
                var (mo, so) = TfliteReference.QuantizeMultiplier(twiceMax / ((1 << 20) * (double)sy));
                Broadcast(shapeA, shapeB, shapeY, (i, ia, ib) =>
                {
                    int x1 = TfliteReference.Mbqm((a[ia] - za) * (1 << 20), m1, s1);
                    int x2 = TfliteReference.Mbqm((b[ib] - zb) * (1 << 20), m2, s2);
                    int raw = op == OpCode.Add ? x1 + x2 : x1 - x2;
                    Assert.Equal(Math.Clamp(zy + TfliteReference.Mbqm(raw, mo, so), lo, hi), y[i]);
                });
            }
        }
    }

    // Every pair of int8 values in one flat run (the vector paths' loops), at scale ratios whose input rescalings
    // have right shifts of 0 (equal scales: the multiplier is exactly 1/2) up to 13, with extreme zero points.
    [Theory]
    [InlineData(0.05f, 0.05f, 0.1f, 0, 0, 0)]
    [InlineData(0.05f, 0.12f, 0.09f, 7, -30, 4)]
    [InlineData(0.003f, 0.9f, 0.5f, -128, 127, -128)]
    [InlineData(0.7f, 0.0001f, 0.02f, 127, -128, 127)]
    public void AddSub_EveryPairOfValues_MatchesTfliteReference(float sa, float sb, float sy, int za, int zb, int zy)
    {
        sbyte[] a = [.. Enumerable.Range(0, 65536).Select(i => (sbyte)(i >> 8))];
        sbyte[] b = [.. Enumerable.Range(0, 65536).Select(i => (sbyte)i)];
        double twiceMax = 2 * (double)Math.Max(sa, sb);
        var (m1, s1) = TfliteReference.QuantizeMultiplier(sa / twiceMax);
        var (m2, s2) = TfliteReference.QuantizeMultiplier(sb / twiceMax);
        var (mo, so) = TfliteReference.QuantizeMultiplier(twiceMax / ((1 << 20) * (double)sy));
        foreach (OpCode op in new[] { OpCode.Add, OpCode.Sub })
        {
            sbyte[] y = Bytes(KernelRunner.RunEveryPath(op, ClampOptions.None,
                [TestTensor.Int8([65536], a, sa, za), TestTensor.Int8([65536], b, sb, zb)], TestTensor.Int8Output([65536], sy, zy)));
            for (int i = 0; i < 65536; i++)
            {
                int x1 = TfliteReference.Mbqm((a[i] - za) * (1 << 20), m1, s1);
                int x2 = TfliteReference.Mbqm((b[i] - zb) * (1 << 20), m2, s2);
                int raw = op == OpCode.Add ? x1 + x2 : x1 - x2;
                Assert.Equal(Math.Clamp(zy + TfliteReference.Mbqm(raw, mo, so), -128, 127), y[i]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Mul_MatchesTfliteReference_WithBroadcasting(int[] shapeA, int[] shapeB, int[] shapeY)
    {
        var rng = new Random(shapeY.Sum() + 1);
        sbyte[] a = Int8Data.Random(rng, shapeA.Aggregate(1, (p, d) => p * d));
        sbyte[] b = Int8Data.Random(rng, shapeB.Aggregate(1, (p, d) => p * d));
        (float sa, int za, float sb, int zb, float sy, int zy) = (0.05f, -3, 0.02f, 11, 0.01f, -5);
        sbyte[] y = Bytes(KernelRunner.RunEveryPath(OpCode.Mul, new ClampOptions(-1, 1),
            [TestTensor.Int8(shapeA, a, sa, za), TestTensor.Int8(shapeB, b, sb, zb)], TestTensor.Int8Output(shapeY, sy, zy)));
        (int lo, int hi) = TfliteReference.ActivationRange(-1, 1, sy, zy);
        Broadcast(shapeA, shapeB, shapeY, (i, ia, ib) =>
            Assert.Equal(TfliteReference.Requantize((a[ia] - za) * (b[ib] - zb), (double)sa * sb / sy, zy, lo, hi), y[i]));
    }

    // Every pair of int8 values in one flat run, at effective scales below 1 (right shifts) and above 1 (a left shift),
    // with extreme zero points: every product the vector paths can meet.
    [Theory]
    [InlineData(0.05f, 0.02f, 0.01f, -3, 11, -5)]
    [InlineData(0.003f, 0.9f, 0.5f, -128, 127, -128)]
    [InlineData(0.7f, 0.3f, 0.02f, 127, -128, 127)]
    [InlineData(0.01f, 0.01f, 0.9f, 0, 0, 0)]
    public void Mul_EveryPairOfValues_MatchesTfliteReference(float sa, float sb, float sy, int za, int zb, int zy)
    {
        sbyte[] a = [.. Enumerable.Range(0, 65536).Select(i => (sbyte)(i >> 8))];
        sbyte[] b = [.. Enumerable.Range(0, 65536).Select(i => (sbyte)i)];
        sbyte[] y = Bytes(KernelRunner.RunEveryPath(OpCode.Mul, ClampOptions.None,
            [TestTensor.Int8([65536], a, sa, za), TestTensor.Int8([65536], b, sb, zb)], TestTensor.Int8Output([65536], sy, zy)));
        for (int i = 0; i < 65536; i++)
        {
            Assert.Equal(TfliteReference.Requantize((a[i] - za) * (b[i] - zb), (double)sa * sb / sy, zy, -128, 127), y[i]);
        }
    }

    [Fact]
    public void Prepare_RejectsMalformedNodes()
    {
        TestTensor a = TestTensor.Int8([2, 3], new sbyte[6], 0.1f, 0);
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Add, ClampOptions.None, [a, a with { Shape = [4] , Data = new byte[4] }], TestTensor.Int8Output([2, 3], 0.1f, 0)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Add, ClampOptions.None, [a, TestTensor.Input([2, 3], new float[6])], TestTensor.Int8Output([2, 3], 0.1f, 0)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Mul, ClampOptions.None, [a, a], TestTensor.Int8Output([2, 3], 0.1f, 0) with { Quantization = null }));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Sub, ClampOptions.None, [a, a], TestTensor.Int8Output([3, 3], 0.1f, 0)));
    }

    internal static sbyte[] Bytes(byte[] b) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(b).ToArray();

    /// <summary>Calls back (output index, index into A, index into B) for every output element, NumPy-style.</summary>
    private static void Broadcast(int[] sa, int[] sb, int[] sy, Action<int, int, int> check)
    {
        int count = sy.Aggregate(1, (p, d) => p * d);
        for (int i = 0; i < count; i++)
        {
            int rem = i, ia = 0, ib = 0, strideA = 1, strideB = 1;
            var idx = new int[sy.Length];
            for (int d = sy.Length - 1; d >= 0; d--)
            {
                idx[d] = rem % sy[d];
                rem /= sy[d];
            }

            for (int d = sy.Length - 1; d >= 0; d--)
            {
                int da = d - (sy.Length - sa.Length), db = d - (sy.Length - sb.Length);
                if (da >= 0)
                {
                    ia += (sa[da] == 1 ? 0 : idx[d]) * strideA;
                    strideA *= sa[da];
                }

                if (db >= 0)
                {
                    ib += (sb[db] == 1 ? 0 : idx[d]) * strideB;
                    strideB *= sb[db];
                }
            }

            check(i, ia, ib);
        }
    }
}

/// <summary>
/// Add's AVX2 input rescaling against TFLite's MultiplyByQuantizedMultiplier on every int8 value: multipliers whose
/// low 11 bits make d·ml land on the 2^10 tie of the split high multiply, right shifts 0..24 (ties of the rounding
/// shift, positive and negative), zero points at both extremes.
/// </summary>
public class AddRescaleAvx2Tests
{
    [Fact]
    public void Apply_MatchesMultiplyByQuantizedMultiplier_ForEveryValue()
    {
        Assert.SkipUnless(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "AVX2 only");
        var rng = new Random(23);
        int[] multipliers = [1 << 30, (1 << 30) + 1024, (1 << 30) + 512, int.MaxValue, (1 << 30) + 3 * 1024 + 7, .. Enumerable.Range(0, 12).Select(_ => rng.Next(1 << 30, int.MaxValue))];
        foreach (int m in multipliers)
        {
            foreach (int right in new[] { 0, 1, 2, 5, 11, 12, 13, 20, 24 })
            {
                foreach (int zero in new[] { -128, -1, 0, 3, 127 })
                {
                    var rescale = new EdgeInfer.Runtime.Kernels.RescaleAvx2(zero, m, -right);
                    for (int q0 = -128; q0 < 128; q0 += 8)
                    {
                        var q = Vector256.Create(q0, q0 + 1, q0 + 2, q0 + 3, q0 + 4, q0 + 5, q0 + 6, q0 + 7);
                        var actual = rescale.Apply(q);
                        for (int lane = 0; lane < 8; lane++)
                        {
                            int expected = TfliteReference.Mbqm((q0 + lane - zero) * (1 << 20), m, -right);
                            Assert.Equal(expected, actual.GetElement(lane));
                        }
                    }
                }
            }
        }
    }
}
