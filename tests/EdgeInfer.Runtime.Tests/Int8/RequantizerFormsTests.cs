using EdgeInfer.Format;
using EdgeInfer.Runtime.Kernels.Quantized;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

/// <summary>
/// The two AVX2 requantization forms (folded bias and rounding constant, and the mask/threshold form kept for layers
/// whose bounds rule the folded one out) against TFLite's reference arithmetic, at the multipliers where rounding
/// ties are common (exact powers of two), with left shifts, right shifts up to 31, and biases at the int32 edge.
/// </summary>
public class RequantizerFormsTests
{
    // Effective multipliers sx·ws/sy per output channel: powers of two give m = 2^30, so both rounding steps meet
    // exact ties; 0.75 and 0.999 give right = 0; ≥ 1 gives left shifts; 2^−32 gives right = 31.
    private static readonly double[] Multipliers =
    [
        0.5, 0.25, 0.125, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128, 1.0 / 1024, 1.0 / 4096, 0.75, 0.999, 1.0, 1.5, 3.7,
        0.3, 0.011, 0.0007, 2.9e-6, Math.Pow(2, -20), Math.Pow(2, -31), Math.Pow(2, -32), 0.6180339, 0.04, 0.0123,
    ];

    // The clamps select the forms: none (the folded form with its negative-tie step), [0, ∞) (Min = zy: the ReLU form
    // skips that step), [2, 50] (Min above zy and Max inside int8: the ReLU form plus the explicit clamp).
    [Theory]
    [InlineData(false, float.NegativeInfinity, float.PositiveInfinity)]
    [InlineData(true, float.NegativeInfinity, float.PositiveInfinity)]
    [InlineData(false, 0f, float.PositiveInfinity)]
    [InlineData(false, 2f, 50f)]
    [InlineData(true, 0f, 6f)]
    public void Avx2Forms_MatchTfliteReference_AtTiesShiftsAndBiasEdges(bool hugeBias, float clampMin, float clampMax)
    {
        var rng = new Random(hugeBias ? 17 : 3);
        int units = Multipliers.Length; // 24: one 16-wide and one 8-wide panel
        const int depth = 3;
        const int rows = 13;            // 4-row tiles, a last tile of one row, and the 8-channel pair store
        sbyte[] x = Int8Data.Random(rng, rows * depth);
        sbyte[] w = Int8Data.Random(rng, units * depth);
        int[] bias = Int8Data.RandomInts(rng, units, -3000, 3000);
        if (hugeBias)
        {
            // One channel near the int32 edge rules the folded form out for the whole layer.
            bias[5] = int.MaxValue - 100_000;
            bias[6] = int.MinValue + 100_000;
        }

        float[] ws = [.. Multipliers.Select(m => (float)m)];
        int zx = 0, zy = rng.Next(-5, 5);
        byte[] raw = KernelRunner.RunEveryPath(OpCode.FullyConnected, new ClampOptions(clampMin, clampMax),
            [TestTensor.Int8([rows, depth], x, 1f, zx), TestTensor.Int8Weights([units, depth], w, ws), TestTensor.Int32Const([units], bias)],
            TestTensor.Int8Output([rows, units], 1f, zy));
        int lo = float.IsFinite(clampMin) ? zy + (int)clampMin : sbyte.MinValue;
        int hi = float.IsFinite(clampMax) ? Math.Min(sbyte.MaxValue, zy + (int)clampMax) : sbyte.MaxValue;
        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < units; n++)
            {
                int acc = bias[n];
                for (int k = 0; k < depth; k++)
                {
                    acc += x[m * depth + k] * w[n * depth + k];
                }

                Assert.Equal(Math.Clamp(TfliteReference.Requantize(acc, (double)ws[n], zy), lo, hi), (sbyte)raw[m * units + n]);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Avx2Forms_MatchReference_OverRandomAccumulatorsNearEveryTie(bool relu)
    {
        // Depth 1 with x = ±1 makes acc = bias ± w exactly, so biases drawn around multiples of 2^(s−1) of each
        // channel's final shift land on the ties of both rounding steps, positive and negative. Depth 1 takes the
        // streamed GEMM form; with ReLU the clamp also runs on the ties.
        var rng = new Random(11);
        int units = Multipliers.Length;
        const int rows = 64;
        sbyte[] x = [.. Enumerable.Range(0, rows).Select(i => (sbyte)(i % 2 == 0 ? 1 : -1))];
        sbyte[] w = Int8Data.Random(rng, units, -3, 3);
        int[] bias = [.. Enumerable.Range(0, units).Select(n => (rng.Next(-40, 40) << rng.Next(0, 12)) + rng.Next(-2, 3))];
        float[] ws = [.. Multipliers.Select(m => (float)m)];
        byte[] raw = KernelRunner.RunEveryPath(OpCode.FullyConnected, relu ? ClampOptions.Relu : ClampOptions.None,
            [TestTensor.Int8([rows, 1], x, 1f, 0), TestTensor.Int8Weights([units, 1], w, ws), TestTensor.Int32Const([units], bias)],
            TestTensor.Int8Output([rows, units], 1f, 0));
        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < units; n++)
            {
                int expected = TfliteReference.Requantize(bias[n] + x[m] * w[n], (double)ws[n], 0);
                Assert.Equal(relu ? Math.Max(expected, 0) : expected, (sbyte)raw[m * units + n]);
            }
        }
    }

    [Theory]
    [InlineData(1280L * 128 * 128, 100_000, 1 << 30, 0, 10, 0, true)]            // a classifier layer: folded
    [InlineData(1280L * 128 * 128, 100_000, 1 << 30, 0, 10, -128, true)]         // with zy·2^10 folded in as well
    [InlineData(9L * 255 * 128, -2_000_000, int.MaxValue, 0, 31, 0, true)]     // depthwise, the largest right shift
    [InlineData(9L * 255 * 128, -2_000_000, int.MaxValue, 0, 31, 1, false)]    // zy·2^31 cannot fold into int32
    [InlineData(1L << 20, 0, 1 << 30, 0, 22, 127, true)]                          // K ≈ 127·2^53 < 2^61
    [InlineData(1L << 20, 0, 1 << 30, 0, 24, 127, false)]                         // q fits int32, but K ≈ 2^62: 2K would not fit
    [InlineData(1L << 20, 0, 1 << 30, 0, 24, -128, false)]                        // 128·2^24 = 2^31 alone
    [InlineData(1L << 30, 0, 1 << 30, 0, 8, 0, false)]                            // acc fits int32, 2·acc does not
    [InlineData(64L * 128 * 128, int.MaxValue - 1000, 1 << 30, 0, 8, 0, false)]   // acc + bias can leave int32
    [InlineData(1L << 30, 0, 1 << 30, 0, 31, 0, false)]                          // |h| + 2^30 can leave int32
    [InlineData(1000, 0, 1 << 30, 20, 0, 5, false)]                              // a left shift: the threshold form
    [InlineData(1000, 0, 1 << 30, 1, 0, 0, false)]                               // even a small one
    public void FoldedIsExact_DecidesFromTheBounds(long maxAbsAcc, int bias, int multiplier, int left, int right, int zeroPoint, bool expected)
        => Assert.Equal(expected, Int8Requantizer.FoldedIsExact(maxAbsAcc, bias, multiplier, left, right, zeroPoint));
}
