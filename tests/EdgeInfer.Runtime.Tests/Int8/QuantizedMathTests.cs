using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Tests.Int8;

/// <summary>The fixed-point primitives against values worked out by hand from TFLite's definitions.</summary>
public class QuantizedMathTests
{
    [Theory]
    [InlineData(int.MinValue, int.MinValue, int.MaxValue)]          // the one saturating product
    [InlineData(1 << 30, 1 << 30, 1 << 29)]                         // 2^60 / 2^31
    [InlineData(1 << 30, 3, 2)]                                     // 1.5 → 2
    [InlineData(-(1 << 30), 3, -1)]                                 // −1.5 → −1: ties go up
    [InlineData(-(1 << 30), 1, 0)]                                  // −0.5 → 0
    [InlineData((1 << 30) + 1, -1, -1)]                             // −0.5000000005 → −1
    [InlineData(int.MinValue, int.MaxValue, -2147483647)]           // exact
    [InlineData(int.MaxValue, int.MaxValue, 2147483646)]            // 2^31 − 2 + 2^−31
    [InlineData(0, int.MinValue, 0)]
    public void SaturatingRoundingDoublingHighMul_HandValues(int a, int b, int expected)
    {
        Assert.Equal(expected, QuantizedMath.SaturatingRoundingDoublingHighMul(a, b));
        Assert.Equal(expected, TfliteReference.Srdhm(a, b));
    }

    [Theory]
    [InlineData(5, 1, 3)]                  // 2.5 → 3
    [InlineData(-5, 1, -3)]                // −2.5 → −3 (away from zero)
    [InlineData(7, 2, 2)]                  // 1.75
    [InlineData(-6, 2, -2)]                // −1.5 → −2
    [InlineData(-5, 2, -1)]                // −1.25
    [InlineData(6, 2, 2)]                  // 1.5 → 2
    [InlineData(-7, 0, -7)]                // exponent 0 is the identity
    [InlineData(int.MinValue, 31, -1)]
    [InlineData(int.MaxValue, 31, 1)]      // 0.99999…
    [InlineData(-(1 << 30), 31, -1)]       // −0.5 → −1
    [InlineData(1 << 30, 31, 1)]           // 0.5 → 1
    [InlineData((1 << 30) - 1, 31, 0)]
    [InlineData(int.MinValue, 1, -(1 << 30))]
    public void RoundingDivideByPOT_HandValues(int x, int exponent, int expected)
    {
        Assert.Equal(expected, QuantizedMath.RoundingDivideByPOT(x, exponent));
        Assert.Equal(expected, TfliteReference.Rdbp(x, exponent));
    }

    [Theory]
    [InlineData(100, 1 << 30, 0, 50)]
    [InlineData(3, 1 << 30, 0, 2)]        // 1.5 → 2
    [InlineData(-3, 1 << 30, 0, -1)]      // −1.5 → −1 (the high multiply rounds ties up)
    [InlineData(-3, 1 << 30, -1, -1)]     // −0.75: −1, then −0.5 → −1
    [InlineData(5, 1 << 30, -1, 2)]       // 1.25: double rounding 2.5 → 3, 1.5 → 2
    [InlineData(3, 1 << 30, 2, 6)]        // left shift first: 12 · 0.5
    [InlineData(1000, 1610612736, -3, 94)] // 1000 · 0.75 / 8 = 93.75
    public void MultiplyByQuantizedMultiplier_HandValues(int x, int m, int shift, int expected)
    {
        Assert.Equal(expected, QuantizedMath.MultiplyByQuantizedMultiplier(x, m, shift));
        Assert.Equal(expected, TfliteReference.Mbqm(x, m, shift));
    }

    [Theory]
    [InlineData(0.5, 1 << 30, 0)]
    [InlineData(1.0, 1 << 30, 1)]
    [InlineData(0.75, 1610612736, 0)]
    [InlineData(0.3, 1288490189, -1)]                 // 0.6·2^31 = 1288490188.8
    [InlineData(1 - 1.0 / (1L << 33), 1 << 30, 1)]    // q·2^31 rounds to 2^31: halved, shift + 1
    [InlineData(1.0 / (1L << 32), 1 << 30, -31)]      // the smallest shift kept
    [InlineData(1.0 / (1L << 33), 0, 0)]              // shift −32 flushes to zero
    [InlineData(0.0, 0, 0)]
    [InlineData(-0.75, -1610612736, 0)]
    [InlineData(3.0, 1610612736, 2)]
    public void QuantizeMultiplier_HandValues(double real, int multiplier, int shift)
    {
        Assert.Equal((multiplier, shift), QuantizedMath.QuantizeMultiplier(real));
        Assert.Equal((multiplier, shift), TfliteReference.QuantizeMultiplier(real));
    }

    [Fact]
    public void Frexp_ReadsTheBits()
    {
        // A loop rather than a theory: under qemu-aarch64 the reflection invoke stub for (double, double, int)
        // theories crashed in the full run (it passes alone and with tiered compilation off): an emulator issue.
        (double X, double Fraction, int Exponent)[] cases =
        [
            (8.0, 0.5, 4),
            (-3.0, -0.75, 2),
            (0.1, 0.8, -3),
            (double.Epsilon, 0.5, -1073),                 // smallest subnormal
            (double.MaxValue, 0.99999999999999989, 1024),
            (0.0, 0.0, 0),
        ];
        foreach ((double x, double fraction, int exponent) in cases)
        {
            double f = QuantizedMath.Frexp(x, out int e);
            Assert.Equal(fraction, f);
            Assert.Equal(exponent, e);
        }
    }

    [Fact]
    public void Frexp_MatchesILogBScaleB_OverManyValues()
    {
        var rng = new Random(3);
        for (int i = 0; i < 10_000; i++)
        {
            double x = BitConverter.Int64BitsToDouble(rng.NextInt64() & 0x7FEF_FFFF_FFFF_FFFF) * (i % 2 == 0 ? 1 : -1);
            if (x == 0)
            {
                continue;
            }

            double f = QuantizedMath.Frexp(x, out int e);
            Assert.Equal(Math.ILogB(x) + 1, e);
            Assert.Equal(Math.ScaleB(x, -e), f);
        }
    }

    [Fact]
    public void Primitives_MatchTheBigIntegerReference_OnRandomValues()
    {
        var rng = new Random(11);
        for (int i = 0; i < 20_000; i++)
        {
            int a = rng.Next(int.MinValue, int.MaxValue);
            int b = i % 3 == 0 ? rng.Next(1 << 30, int.MaxValue) : rng.Next(int.MinValue, int.MaxValue);
            int e = rng.Next(0, 32);
            Assert.Equal(TfliteReference.Srdhm(a, b), QuantizedMath.SaturatingRoundingDoublingHighMul(a, b));
            Assert.Equal(TfliteReference.Rdbp(a, e), QuantizedMath.RoundingDivideByPOT(a, e));
            int small = rng.Next(-70000, 70000);
            int shift = rng.Next(-31, 8);
            Assert.Equal(TfliteReference.Mbqm(small, b, shift), QuantizedMath.MultiplyByQuantizedMultiplier(small, b, shift));
        }
    }

    [Theory]
    [InlineData(0f, float.PositiveInfinity, 0.5f, -10, -10, 127)]      // ReLU
    [InlineData(0f, 6f, 0.5f, -10, -10, 2)]                             // ReLU6
    [InlineData(-100f, 100f, 0.5f, -10, -128, 127)]                      // wider than int8
    [InlineData(0.25f, float.PositiveInfinity, 0.5f, -10, -9, 127)]     // 0.5 rounds away from zero
    [InlineData(float.NegativeInfinity, float.PositiveInfinity, 0.1f, 3, -128, 127)]
    public void ActivationRange_QuantizesTheRealBounds(float min, float max, float scale, int zp, int lo, int hi)
        => Assert.Equal((lo, hi), QuantizedMath.ActivationRange(min, max, scale, zp));
}
