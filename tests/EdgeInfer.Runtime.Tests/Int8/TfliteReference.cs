using System.Numerics;

namespace EdgeInfer.Runtime.Tests.Int8;

/// <summary>
/// An independent, deliberately plain restatement of TFLite's quantized arithmetic for test references: big-integer
/// products, frexp through Math.ILogB/ScaleB (exact operations), nothing shared with the runtime's code.
/// </summary>
internal static class TfliteReference
{
    public static int Srdhm(int a, int b)
    {
        if (a == int.MinValue && b == int.MinValue)
        {
            return int.MaxValue;
        }

        BigInteger ab = (BigInteger)a * b;
        BigInteger nudge = ab >= 0 ? (BigInteger.One << 30) : 1 - (BigInteger.One << 30);
        return (int)BigInteger.Divide(ab + nudge, BigInteger.One << 31); // truncates toward zero
    }

    public static int Rdbp(int x, int exponent)
    {
        // Round x / 2^e to nearest, ties away from zero, with exact rationals.
        if (exponent == 0)
        {
            return x;
        }

        BigInteger d = BigInteger.One << exponent;
        BigInteger ax = BigInteger.Abs(x);
        BigInteger q = BigInteger.DivRem(ax, d, out BigInteger r);
        if (2 * r >= d)
        {
            q += 1;
        }

        return (int)(x < 0 ? -q : q);
    }

    public static int Mbqm(int x, int m, int shift)
    {
        int left = Math.Max(shift, 0);
        int right = Math.Max(-shift, 0);
        return Rdbp(Srdhm(unchecked(x << left), m), right);
    }

    public static (int M, int Shift) QuantizeMultiplier(double r)
    {
        if (r == 0)
        {
            return (0, 0);
        }

        int e = Math.ILogB(r) + 1;
        double q = Math.ScaleB(r, -e); // in [0.5, 1)
        long fixedPoint = (long)Math.Round(q * 2147483648.0, MidpointRounding.AwayFromZero);
        if (fixedPoint == 2147483648L)
        {
            fixedPoint /= 2;
            e++;
        }

        return e < -31 ? (0, 0) : ((int)fixedPoint, e);
    }

    public static int Requantize(int acc, double realMultiplier, int zeroPoint, int min = -128, int max = 127)
    {
        (int m, int s) = QuantizeMultiplier(realMultiplier);
        return Math.Clamp(zeroPoint + Mbqm(acc, m, s), min, max);
    }

    public static (int Min, int Max) ActivationRange(float min, float max, float scale, int zp)
    {
        int lo = -128, hi = 127;
        if (float.IsFinite(min))
        {
            lo = Math.Max(lo, zp + (int)MathF.Round(min / scale, MidpointRounding.AwayFromZero));
        }

        if (float.IsFinite(max))
        {
            hi = Math.Min(hi, zp + (int)MathF.Round(max / scale, MidpointRounding.AwayFromZero));
        }

        return (lo, hi);
    }
}
