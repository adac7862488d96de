using System.Runtime.CompilerServices;

namespace EdgeInfer.Runtime.Kernels.Quantized;

/// <summary>
/// The fixed-point arithmetic of TFLite's int8 kernels, so that models already quantized by TFLite run bit-exactly:
/// <list type="bullet">
/// <item><see cref="QuantizeMultiplier"/> turns a real multiplier r into (m, shift) with r ≈ m·2^(shift−31),
/// m ∈ [2^30, 2^31) (or 0), from an exact frexp.</item>
/// <item><see cref="MultiplyByQuantizedMultiplier"/> = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x·2^left, m), right)
/// with left = max(shift, 0), right = max(−shift, 0).</item>
/// </list>
/// All integer arithmetic wraps (two's complement), as the C++ reference does on every real compiler; nothing here
/// depends on the platform's floating-point library.
/// </summary>
public static class QuantizedMath
{
    /// <summary>
    /// round(a·b / 2^31), ties toward +∞ (which is what gemmlowp's nudge and truncating division amount to), and
    /// INT_MIN·INT_MIN, the one product that does not fit, saturates to INT_MAX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SaturatingRoundingDoublingHighMul(int a, int b)
    {
        if (a == b && a == int.MinValue)
        {
            return int.MaxValue;
        }

        long ab = (long)a * b;
        long nudge = ab >= 0 ? (1L << 30) : 1 - (1L << 30);
        return (int)((ab + nudge) / (1L << 31)); // C#'s long division truncates toward zero, as C++'s does
    }

    /// <summary>x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundingDivideByPOT(int x, int exponent)
    {
        int mask = (int)((1L << exponent) - 1);
        int remainder = x & mask;
        int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }

    /// <summary>x·m·2^(shift−31), rounded the TFLite way (double rounding: the high multiply, then the shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MultiplyByQuantizedMultiplier(int x, int multiplier, int shift)
    {
        int left = shift > 0 ? shift : 0;
        int right = shift > 0 ? 0 : -shift;
        return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(unchecked(x * (1 << left)), multiplier), right);
    }

    /// <summary>
    /// TFLite's QuantizeMultiplier: r = q·2^shift with q ∈ [0.5, 1) (frexp), m = round(q·2^31) ties away from zero;
    /// m = 2^31 (q rounds up to 1) becomes 2^30 with shift + 1; shifts below −31 flush to (0, 0).
    /// </summary>
    public static (int Multiplier, int Shift) QuantizeMultiplier(double realMultiplier)
    {
        if (realMultiplier == 0)
        {
            return (0, 0);
        }

        double q = Frexp(realMultiplier, out int shift);
        long fixedPoint = (long)Math.Round(q * (1L << 31), MidpointRounding.AwayFromZero); // q·2^31 is exact in double
        if (fixedPoint == 1L << 31)
        {
            fixedPoint /= 2;
            shift++;
        }

        if (shift < -31)
        {
            return (0, 0);
        }

        return ((int)fixedPoint, shift);
    }

    /// <summary>
    /// Splits a finite x into a fraction f with |f| ∈ [0.5, 1) and an exponent e such that x = f·2^e (C's frexp),
    /// by reading the IEEE-754 fields: no libm, the same bits everywhere. frexp(0) = (0, 0); NaN and ±∞ come back
    /// unchanged with exponent 0.
    /// </summary>
    public static double Frexp(double x, out int exponent)
    {
        long bits = BitConverter.DoubleToInt64Bits(x);
        int biased = (int)((bits >> 52) & 0x7FF);
        if (biased == 0x7FF || x == 0)
        {
            exponent = 0;
            return x;
        }

        int adjust = 0;
        if (biased == 0)
        {
            // Subnormal: scale by 2^54 (exact) to normalise, then undo it in the exponent.
            bits = BitConverter.DoubleToInt64Bits(x * 18014398509481984.0);
            biased = (int)((bits >> 52) & 0x7FF);
            adjust = -54;
        }

        exponent = biased - 1022 + adjust;
        // Keep sign and mantissa, set the biased exponent to 1022 so that the magnitude lies in [0.5, 1).
        bits = (bits & unchecked((long)0x800FFFFFFFFFFFFFUL)) | (1022L << 52);
        return BitConverter.Int64BitsToDouble(bits);
    }

    /// <summary>
    /// TFLite's CalculateActivationRangeQuantized for an int8 output: each finite bound v becomes zp + round(v/scale)
    /// (float division, ties away from zero), intersected with [−128, 127]. Infinite bounds leave the type's limit.
    /// </summary>
    public static (int Min, int Max) ActivationRange(float min, float max, float scale, int zeroPoint)
    {
        int lo = sbyte.MinValue;
        int hi = sbyte.MaxValue;
        if (float.IsFinite(min))
        {
            lo = Math.Max(lo, QuantizeBound(min, scale, zeroPoint));
        }

        if (float.IsFinite(max))
        {
            hi = Math.Min(hi, QuantizeBound(max, scale, zeroPoint));
        }

        return (lo, hi);
    }

    private static int QuantizeBound(float value, float scale, int zeroPoint)
    {
        float q = MathF.Round(value / scale, MidpointRounding.AwayFromZero);
        // Clamp before converting: a bound far outside the int8 range only has to stay outside it.
        return zeroPoint + (int)Math.Clamp(q, -1e6f, 1e6f);
    }

    /// <summary>Rounds half away from zero and saturates to int8, for table building in double.</summary>
    public static sbyte SaturateToInt8(double value)
    {
        double r = Math.Round(value, MidpointRounding.AwayFromZero);
        return r <= sbyte.MinValue ? sbyte.MinValue : r >= sbyte.MaxValue ? sbyte.MaxValue : (sbyte)r;
    }
}
