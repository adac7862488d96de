using System.Runtime.Intrinsics;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class FloatMathTests
{
    // Maximum errors in units in the last place of the correctly rounded result, measured over the samples below
    // (docs/kernels.md quotes the measured values); a change that loses accuracy fails here.
    private const double ExpMaxUlp = 1.0;
    private const double SigmoidMaxUlp = 2.5;
    private const double TanhMaxUlp = 2.0;
    private const double LogMaxUlp = 1.0;

    [Fact]
    public void Exp_DenseRange_IsWithinOneUlpOfDoublePrecision()
    {
        double worst = MaxUlpError(FloatMath.Exp, Math.Exp, out float at);
        Assert.True(worst <= ExpMaxUlp, $"exp max error {worst:F3} ulp at {at:R}");
    }

    [Fact]
    public void Sigmoid_DenseRange_IsWithinTwoAndAHalfUlpOfDoublePrecision()
    {
        double worst = MaxUlpError(FloatMath.Sigmoid, x => 1 / (1 + Math.Exp(-x)), out float at);
        Assert.True(worst <= SigmoidMaxUlp, $"sigmoid max error {worst:F3} ulp at {at:R}");
    }

    [Fact]
    public void Tanh_DenseRange_IsWithinTwoUlpOfDoublePrecision()
    {
        double worst = MaxUlpError(FloatMath.Tanh, Math.Tanh, out float at);
        Assert.True(worst <= TanhMaxUlp, $"tanh max error {worst:F3} ulp at {at:R}");
    }

    /// <summary>
    /// log over every positive float bit pattern a step apart (subnormals to FLT_MAX), the dense grid, the range
    /// around 1 where the result cancels, and every power of two (exact k·ln 2 plus nothing).
    /// </summary>
    [Fact]
    public void Log_WholeRange_IsWithinOneUlpOfDoublePrecision()
    {
        var x = new List<float>(Samples(step: 16411, grid: 1 << 18));
        for (int i = -(1 << 16); i <= 1 << 16; i++)
        {
            x.Add(1f + i / 65536f);
        }

        for (int e = -149; e <= 127; e++)
        {
            x.Add(MathF.ScaleB(1f, e));
        }

        double worst = 0;
        float at = 0;
        foreach (float v in x)
        {
            float y = FloatMath.Log(v);
            if (!(v > 0) || float.IsPositiveInfinity(v))
            {
                continue; // the special values, asserted below
            }

            double exact = Math.Log(v);
            double error = Math.Abs(y - exact) / Ulp((float)exact);
            if (error > worst)
            {
                worst = error;
                at = v;
            }
        }

        Assert.True(worst <= LogMaxUlp, $"log max error {worst:F3} ulp at {at:R}");
    }

    [Fact]
    public void Log_SpecialValues()
    {
        Assert.Equal(float.NegativeInfinity, FloatMath.Log(0f));
        Assert.Equal(float.NegativeInfinity, FloatMath.Log(-0f));
        Assert.Equal(float.PositiveInfinity, FloatMath.Log(float.PositiveInfinity));
        Assert.Equal(BitConverter.SingleToInt32Bits(0f), BitConverter.SingleToInt32Bits(FloatMath.Log(1f)));
        Assert.Equal(MathF.Log(2f), FloatMath.Log(2f));
        Assert.Equal((float)Math.Log(float.Epsilon), FloatMath.Log(float.Epsilon));
        Assert.Equal((float)Math.Log(float.MaxValue), FloatMath.Log(float.MaxValue));
        // Created NaNs have fixed bits (x64's default NaN is negative, arm64's positive); an input NaN keeps its payload.
        Assert.Equal(0x7FC0_0000, BitConverter.SingleToInt32Bits(FloatMath.Log(-1f)));
        Assert.Equal(0x7FC0_0000, BitConverter.SingleToInt32Bits(FloatMath.Log(float.NegativeInfinity)));
        Assert.Equal(0x7FC0_0000, BitConverter.SingleToInt32Bits(FloatMath.Log(-float.Epsilon)));
        Assert.Equal(unchecked((int)0xFFC0_1234), BitConverter.SingleToInt32Bits(FloatMath.Log(BitConverter.Int32BitsToSingle(unchecked((int)0xFFC0_1234)))));
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(89f, float.PositiveInfinity)]
    [InlineData(1000f, float.PositiveInfinity)]
    [InlineData(-104f, 0f)]
    [InlineData(-1000f, 0f)]
    public void Exp_SpecialValues(float x, float expected) => Assert.Equal(expected, FloatMath.Exp(x));

    [Fact]
    public void SpecialValues_KeepSignsAndNaN()
    {
        Assert.True(float.IsNaN(FloatMath.Exp(float.NaN)));
        Assert.Equal(1f, FloatMath.Exp(-0f));
        Assert.True(float.IsNaN(FloatMath.Sigmoid(float.NaN)));
        Assert.True(float.IsNaN(FloatMath.Tanh(float.NaN)));
        Assert.Equal(0.5f, FloatMath.Sigmoid(0f));
        Assert.Equal(0.5f, FloatMath.Sigmoid(-0f));
        Assert.Equal(1f, FloatMath.Sigmoid(float.PositiveInfinity));
        Assert.Equal(0f, FloatMath.Sigmoid(float.NegativeInfinity));
        Assert.Equal(1f, FloatMath.Sigmoid(100f));
        Assert.True(FloatMath.Sigmoid(-100f) is > 0 and < 1e-43f); // e^-100 ≈ 3.7e-44, a subnormal, not flushed
        Assert.Equal(BitConverter.SingleToInt32Bits(0f), BitConverter.SingleToInt32Bits(FloatMath.Tanh(0f)));
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(FloatMath.Tanh(-0f)));
        Assert.Equal(1f, FloatMath.Tanh(float.PositiveInfinity));
        Assert.Equal(-1f, FloatMath.Tanh(float.NegativeInfinity));
        Assert.Equal(-1f, FloatMath.Tanh(-20f));
        Assert.Equal(1e-30f, FloatMath.Tanh(1e-30f));
    }

    [Fact]
    public void VectorForms_GiveTheScalarBits_ForEveryInputClass()
    {
        float[] x = Samples(step: 65521, grid: 1 << 14);
        AssertSameBits(x, static v => FloatMath.Exp(v), static v => FloatMath.Exp(v), static v => FloatMath.Exp(v));
        AssertSameBits(x, static v => FloatMath.Sigmoid(v), static v => FloatMath.Sigmoid(v), static v => FloatMath.Sigmoid(v));
        AssertSameBits(x, static v => FloatMath.Tanh(v), static v => FloatMath.Tanh(v), static v => FloatMath.Tanh(v));
        AssertSameBits(x, static v => FloatMath.Log(v), static v => FloatMath.Log(v), static v => FloatMath.Log(v));
    }

    private static void AssertSameBits(float[] x, Func<ScalarFloat, ScalarFloat> scalar, Func<Float128, Float128> v128, Func<Float256, Float256> v256)
    {
        var expected = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            expected[i] = scalar(ScalarFloat.Create(x[i])).Value;
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (int i = 0; i + 4 <= x.Length; i += 4)
            {
                Vector128<float> r = v128(Float128.Load(ref x[0], i)).Value;
                for (int j = 0; j < 4; j++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected[i + j]), BitConverter.SingleToInt32Bits(r[j]));
                }
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (int i = 0; i + 8 <= x.Length; i += 8)
            {
                Vector256<float> r = v256(Float256.Load(ref x[0], i)).Value;
                for (int j = 0; j < 8; j++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected[i + j]), BitConverter.SingleToInt32Bits(r[j]));
                }
            }
        }
    }

    /// <summary>
    /// Every step-th float bit pattern over the whole line (both signs, subnormals to infinities, NaNs included), plus
    /// a uniform grid of <paramref name="grid"/> + 1 points over [−20, 20] and the special values.
    /// </summary>
    private static float[] Samples(int step, int grid)
    {
        var values = new List<float> { 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue };
        for (long bits = 0; bits <= uint.MaxValue; bits += step)
        {
            values.Add(BitConverter.UInt32BitsToSingle((uint)bits));
        }

        for (int i = 0; i <= grid; i++)
        {
            values.Add(-20f + 40f * i / grid);
        }

        while (values.Count % 8 != 0)
        {
            values.Add(1f);
        }

        return [.. values];
    }

    private static double MaxUlpError(Func<float, float> f, Func<double, double> reference, out float worstAt)
    {
        double worst = 0;
        worstAt = 0;
        foreach (float x in Samples(step: 16411, grid: 1 << 18))
        {
            float y = f(x);
            double exact = reference(x);
            if (float.IsNaN(x))
            {
                Assert.True(float.IsNaN(y), $"f(NaN) = {y}");
                continue;
            }

            float rounded = (float)exact;
            if (float.IsInfinity(rounded) || float.IsInfinity(y))
            {
                Assert.True(y == rounded, $"f({x:R}) = {y:R}, correctly rounded {rounded:R}");
                continue;
            }

            double error = Math.Abs(y - exact) / Ulp(rounded);
            if (error > worst)
            {
                worst = error;
                worstAt = x;
            }
        }

        return worst;
    }

    /// <summary>The spacing of floats at |v|'s binade (2^-149 among subnormals).</summary>
    private static double Ulp(float v)
    {
        float a = Math.Abs(v);
        return a < float.MaxValue ? (double)MathF.BitIncrement(a) - a : (double)a - MathF.BitDecrement(a);
    }
}
