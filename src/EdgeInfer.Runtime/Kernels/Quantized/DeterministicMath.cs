namespace EdgeInfer.Runtime.Kernels.Quantized;

/// <summary>
/// exp, log, tanh and the logistic function from IEEE-754 double additions, multiplications and divisions only, so lookup
/// tables built from them are the same bytes on x64 and arm64 (the platforms' libm may differ in the last bit, and a
/// last-bit difference can move a value across a rounding boundary of the table). Accuracy about 1e−15 relative.
/// </summary>
public static class DeterministicMath
{
    private const double Ln2Hi = 6.93147180369123816490e-01; // ln 2 split so that k·Ln2Hi is exact for |k| < 2^20
    private const double Ln2Lo = 1.90821492927058770002e-10;
    private const double InvLn2 = 1.44269504088896338700e+00;

    public static double Exp(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        if (x > 709.78)
        {
            return double.PositiveInfinity;
        }

        if (x < -745.2)
        {
            return 0;
        }

        // x = k·ln2 + r with |r| ≤ ln2/2 (Cody–Waite), exp(r) by its Taylor series to degree 14 (truncation < 1e−17).
        double k = Math.Round(x * InvLn2, MidpointRounding.ToEven);
        double r = (x - k * Ln2Hi) - k * Ln2Lo;
        double p = 1.0 / 87178291200.0; // 1/14!
        double factorial = 87178291200.0;
        for (int n = 14; n >= 1; n--)
        {
            factorial /= n; // exact: every (n−1)! up to 13! is an integer below 2^53
            p = p * r + 1.0 / factorial;
        }

        return Scale(p, (int)k);
    }

    /// <summary>
    /// ln x: x = 2^k·m with m ∈ [√½, √2) from the bits (subnormals scaled by 2^54 first), f = m − 1 (exact),
    /// s = f/(2 + f), ln m = 2·atanh(s) by its series to s²³ (|s| ≤ 0.172: truncation below 1e−18 relative), plus
    /// k·ln 2 split as in <see cref="Exp"/>. ln 0 = −∞, ln +∞ = +∞, negative or NaN → NaN.
    /// </summary>
    public static double Log(double x)
    {
        if (!(x > 0) || double.IsPositiveInfinity(x))
        {
            return x == 0 ? double.NegativeInfinity : x > 0 ? x : double.NaN;
        }

        int k = 0;
        if (x < 2.2250738585072014e-308) // below the smallest normal double
        {
            x *= 18014398509481984.0; // 2^54
            k = -54;
        }

        const long sqrtHalfBits = 0x3FE6_A09E_667F_3BCD; // the double nearest √½
        long offset = BitConverter.DoubleToInt64Bits(x) - sqrtHalfBits;
        k += (int)(offset >> 52);
        double m = BitConverter.Int64BitsToDouble((offset & 0x000F_FFFF_FFFF_FFFF) + sqrtHalfBits);
        double f = m - 1;
        double s = f / (2 + f);
        double z = s * s;
        double series = 0;
        for (int j = 11; j >= 1; j--)
        {
            series = series * z + 2.0 / (2 * j + 1);
        }

        // ln m = 2s + s·z·series, written as f − f²/2 + s·(f²/2 + z·series) so the leading term f is exact.
        double halfSquare = 0.5 * f * f;
        return k * Ln2Hi + (f - (halfSquare - (s * (halfSquare + z * series) + k * Ln2Lo)));
    }

    public static double Tanh(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        double a = Math.Abs(x);
        if (a > 22)
        {
            return x > 0 ? 1 : -1;
        }

        double t = 1 - 2 / (Exp(2 * a) + 1); // absolute error ~1e−16, ample for 8-bit tables
        return x < 0 ? -t : t;
    }

    public static double Logistic(double x) => 1 / (1 + Exp(-x));

    /// <summary>p·2^k by building the power of two from its bits (two steps keep subnormal results right).</summary>
    private static double Scale(double p, int k)
    {
        if (k > 1023)
        {
            p *= BitConverter.Int64BitsToDouble((long)(1023 + 1023) << 52);
            k -= 1023;
        }
        else if (k < -1022)
        {
            p *= BitConverter.Int64BitsToDouble((long)(1023 - 1022) << 52);
            k += 1022;
        }

        return p * BitConverter.Int64BitsToDouble((long)(1023 + k) << 52);
    }
}
