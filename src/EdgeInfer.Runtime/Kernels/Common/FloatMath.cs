using System.Runtime.CompilerServices;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// exp, log, sigmoid and tanh for float32, written once over <see cref="IFloatVector{TSelf}"/> so that the scalar,
/// 128-bit and 256-bit forms run the same operation sequence and give the same bits (MathF.Exp and friends differ
/// between platforms and from any vector form, so the runtime cannot use them).
/// <para><b>exp(x)</b>: x is clamped to [−104, 89] (NaN passes); n = round(x·log2 e) by the 1.5·2²³ trick (the
/// rounding happens inside one fused multiply-add, ties to even); r = x − n·ln 2 with ln 2 split in two (Cody and
/// Waite), the first product cancelling exactly; e^r on |r| ≤ ln2/2 by a degree-6 polynomial (1 + r + r²·q(r),
/// q fitted for minimum relative error, Horner with FMA); then ·2^n as two factors 2^⌊n/2⌋·2^(n−⌊n/2⌋), each a
/// normal float for every n the clamp allows, so the result overflows to +∞ above ln(FLT_MAX) and rounds correctly
/// through the subnormals to 0 below −103.97 in one final rounding.</para>
/// <para><b>sigmoid(x)</b> = 1/(1+e) for x ≥ 0 and e/(1+e) for x &lt; 0, with e = exp(−|x|) ≤ 1: never overflows and
/// keeps relative accuracy in the subnormal tail for very negative x.</para>
/// <para><b>tanh(x)</b> = sign(x)·(1−e)/(1+e) with e = exp(−2|x|) for |x| ≥ 0.625; below, where 1−e would cancel,
/// |x|·(1 + x²·p(x²)) with p a fitted polynomial of degree 4. ±0 keep their sign; NaN stays NaN.</para>
/// <para><b>log(x)</b>: subnormals are first scaled by 2²³ (exact); x = 2^k·m with m ∈ [√½, √2) read from the bits;
/// f = m − 1 (exact); with s = f/(2 + f), log(1 + f) = 2·atanh(s) = f − f²/2 + s·(f²/2 + R), R = 2s²/3 + 2s⁴/5 + … +
/// 2s¹⁰/11 (the atanh series, |s| ≤ 0.172, truncated below 10⁻¹⁰ relative), Horner with FMA; then + k·ln 2 with ln 2
/// split so that k·Ln2High is exact. log(±0) = −∞, log(+∞) = +∞, log(x &lt; 0) = NaN (one fixed quiet NaN, not the
/// CPU's default NaN, whose sign differs between x64 and arm64), a NaN input is returned as it is.</para>
/// Measured maximum errors against double precision are in docs/kernels.md and asserted by FloatMathTests.
/// </summary>
internal static class FloatMath
{
    private const float ExpLowest = -104f;    // below: exp < 2^-150, rounds to +0
    private const float ExpHighest = 89f;     // above: exp > FLT_MAX, +inf
    private const float Log2E = 1.44269504f;
    private const float RoundingShift = 12582912f;      // 1.5·2^23: adding it rounds |v| < 2^22 to an integer
    private const int RoundingShiftBits = 0x4B40_0000;  // its bits; n sits in the low mantissa bits of v + shift
    private const float Ln2High = 0.693147182f;  // (float)ln 2: n·Ln2High is subtracted from x without rounding
    private const float Ln2Low = -1.9046542e-9f;  // ln 2 − Ln2High

    // e^r ≈ 1 + r + r²·(E0 + E1·r + E2·r² + E3·r³ + E4·r⁴) on |r| ≤ ln2/2 (fitted, relative error 3e-9 in double).
    private const float E0 = 0.49999994f;
    private const float E1 = 0.16666521f;
    private const float E2 = 0.04166839f;
    private const float E3 = 0.008368717f;
    private const float E4 = 0.0013814598f;

    private const int SqrtHalfBits = 0x3F35_04F3;   // the float just below √½: the mantissa range starts here
    private const int SmallestNormalBits = 0x0080_0000;
    private const float SubnormalScale = 8388608f; // 2^23: a subnormal times this is normal, exactly
    private const int QuietNaNBits = 0x7FC0_0000;
    private const float LogLn2High = 0.693145751953125f;  // ln 2 to 16 bits: k·LogLn2High is exact for |k| < 2^8
    private const float LogLn2Low = 1.42860677e-06f;      // ln 2 − LogLn2High

    // 2·atanh(s) = 2s + s·R, R = z·(L1 + z·(L2 + z·(L3 + z·(L4 + z·L5)))), z = s²: the series' own coefficients 2/(2j + 1).
    private const float L1 = 2f / 3;
    private const float L2 = 2f / 5;
    private const float L3 = 2f / 7;
    private const float L4 = 2f / 9;
    private const float L5 = 2f / 11;

    private const float TanhPolynomialLimit = 0.625f;

    // tanh(x) ≈ x·(1 + u·(T0 + T1·u + ... + T4·u⁴)), u = x², on |x| < 0.625 (fitted for relative error, 4e-9 in double).
    private const float T0 = -0.3333328f;
    private const float T1 = 0.13331442f;
    private const float T2 = -0.053739723f;
    private const float T3 = 0.02063911f;
    private const float T4 = -0.005705011f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Exp<T>(T x) where T : struct, IFloatVector<T>
    {
        x = FloatVector.Clamp(x, T.Create(ExpLowest), T.Create(ExpHighest));
        T shifted = T.FusedMultiplyAdd(x, T.Create(Log2E), T.Create(RoundingShift));
        T n = shifted - T.Create(RoundingShift);
        T r = T.FusedMultiplyAdd(n, T.Create(-Ln2High), x);
        r = T.FusedMultiplyAdd(n, T.Create(-Ln2Low), r);

        T q = T.FusedMultiplyAdd(T.Create(E4), r, T.Create(E3));
        q = T.FusedMultiplyAdd(q, r, T.Create(E2));
        q = T.FusedMultiplyAdd(q, r, T.Create(E1));
        q = T.FusedMultiplyAdd(q, r, T.Create(E0));
        T p = T.FusedMultiplyAdd(q, r, T.Create(1f));
        p = T.FusedMultiplyAdd(p, r, T.Create(1f));

        // n as an int32 in every lane, then 2^n = 2^n1 · 2^n2 with n1 = n >> 1: n ∈ [−150, 129] keeps both biased
        // exponents inside [52, 192], so neither factor is subnormal or infinite and p·2^n1 is exact.
        T integer = T.SubtractInt32(shifted, T.CreateFromBits(RoundingShiftBits));
        T half = T.ShiftRightArithmeticInt32(integer, 1);
        T rest = T.SubtractInt32(integer, half);
        T scale1 = T.ShiftLeftInt32(T.AddInt32(half, T.CreateFromBits(127)), 23);
        T scale2 = T.ShiftLeftInt32(T.AddInt32(rest, T.CreateFromBits(127)), 23);
        return p * scale1 * scale2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Log<T>(T x) where T : struct, IFloatVector<T>
    {
        // Subnormals (and the inputs handled at the end: zeros, negatives) are scaled up so the bits hold a normal float.
        T tiny = T.LessThan(x, T.CreateFromBits(SmallestNormalBits));
        T normal = T.Select(tiny, x * T.Create(SubnormalScale), x);

        // Subtracting √½'s bits moves the binade boundary to √½: the exponent field of the difference is k, and the
        // mantissa field put back on √½'s bits is m ∈ [√½, √2).
        T offset = T.SubtractInt32(normal, T.CreateFromBits(SqrtHalfBits));
        T k = T.SubtractInt32(T.ShiftRightArithmeticInt32(offset, 23), T.And(tiny, T.CreateFromBits(23)));
        T m = T.AddInt32(T.And(offset, T.CreateFromBits(0x007F_FFFF)), T.CreateFromBits(SqrtHalfBits));
        T kf = T.AddInt32(k, T.CreateFromBits(RoundingShiftBits)) - T.Create(RoundingShift); // int → float, exact

        T f = m - T.Create(1f); // exact (Sterbenz)
        T s = f / (f + T.Create(2f));
        T z = s * s;
        T halfSquare = T.Create(0.5f) * (f * f);
        T r = T.FusedMultiplyAdd(T.Create(L5), z, T.Create(L4));
        r = T.FusedMultiplyAdd(r, z, T.Create(L3));
        r = T.FusedMultiplyAdd(r, z, T.Create(L2));
        r = T.FusedMultiplyAdd(r, z, T.Create(L1));
        r = r * z;
        T correction = T.FusedMultiplyAdd(s, halfSquare + r, kf * T.Create(LogLn2Low));
        T log = T.FusedMultiplyAdd(kf, T.Create(LogLn2High), f - (halfSquare - correction));

        // x > 0 and finite takes the polynomial; +∞ and NaN come back as they are, ±0 gives −∞, anything negative NaN.
        T special = T.Select(T.LessThan(x, T.Zero), T.CreateFromBits(QuietNaNBits), x);
        special = T.Select(T.LessThan(FloatVector.Abs(x), T.CreateFromBits(1)), T.Create(float.NegativeInfinity), special);
        T finitePositive = T.And(T.GreaterThan(x, T.Zero), T.LessThan(x, T.Create(float.PositiveInfinity)));
        return T.Select(finitePositive, log, special);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sigmoid<T>(T x) where T : struct, IFloatVector<T>
    {
        T e = Exp(FloatVector.Negate(FloatVector.Abs(x)));
        T numerator = T.Select(T.LessThan(x, T.Zero), e, T.Create(1f));
        return numerator / (T.Create(1f) + e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Tanh<T>(T x) where T : struct, IFloatVector<T>
    {
        T a = FloatVector.Abs(x);
        T one = T.Create(1f);

        T e = Exp(FloatVector.Negate(a + a));
        T large = (one - e) / (one + e);

        T u = a * a;
        T p = T.FusedMultiplyAdd(T.Create(T4), u, T.Create(T3));
        p = T.FusedMultiplyAdd(p, u, T.Create(T2));
        p = T.FusedMultiplyAdd(p, u, T.Create(T1));
        p = T.FusedMultiplyAdd(p, u, T.Create(T0));
        T small = a * T.FusedMultiplyAdd(p, u, one);

        // Both results are non-negative (or NaN); the sign of x is put back with one OR, which keeps −0 and NaN.
        T magnitude = T.Select(T.LessThan(a, T.Create(TanhPolynomialLimit)), small, large);
        return T.Or(magnitude, FloatVector.SignBit(x));
    }

    public static float Exp(float x) => Exp(ScalarFloat.Create(x)).Value;

    public static float Log(float x) => Log(ScalarFloat.Create(x)).Value;

    public static float Sigmoid(float x) => Sigmoid(ScalarFloat.Create(x)).Value;

    public static float Tanh(float x) => Tanh(ScalarFloat.Create(x)).Value;
}
