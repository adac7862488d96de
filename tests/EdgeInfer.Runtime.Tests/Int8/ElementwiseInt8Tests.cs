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
