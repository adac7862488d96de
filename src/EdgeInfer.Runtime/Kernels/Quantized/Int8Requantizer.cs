using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime.Kernels.Quantized;

/// <summary>
/// Per-output-channel requantization of int32 accumulators to int8, prepared once:
/// y[c] = clamp(zy + MultiplyByQuantizedMultiplier(acc + Bias[c], M[c], shift[c]), Min, Max), with shift[c] split
/// into LeftShift[c] = max(shift, 0) and RightShift[c] = max(−shift, 0) so vector code needs no branches.
/// Tables are padded with neutral entries (bias 0, multiplier 0, shifts 0) to a multiple of 16 channels, so the
/// vector epilogues may load whole vectors past the last real channel.
/// <para>The vector forms are exact re-statements of the scalar arithmetic:
/// SaturatingRoundingDoublingHighMul(a, m) = (a·m + 2^30) &gt;&gt; 31 for every pair except INT_MIN·INT_MIN
/// (m ≥ 0 here, so that pair never occurs), which is AArch64's SQRDMULH and, on x64, two vpmuldq on the even and
/// odd lanes; RoundingDivideByPOT keeps the mask/threshold formula (x64) or SRSHL after a −1 fix-up of negative
/// values (AArch64, as gemmlowp's NEON code), both ties-away-from-zero.</para>
/// </summary>
internal struct Int8Requantizer
{
    public int[] Bias;
    public int[] Multiplier;
    public int[] LeftShift;
    public int[] RightShift;
    public int[] RoundingMask;      // 2^right − 1 (x64 form of RoundingDivideByPOT)
    public int[] RoundingHalf;      // (2^right − 1) >> 1
    public int[] MultiplierOdd;     // [2j] = M[2j+1], [2j+1] = 0: the odd channels' multipliers where vpmuldq reads them
    public bool AnyLeftShift;       // false (the usual case: every effective scale below 1) skips the left shift
    public int OutputZeroPoint;
    public int Min;
    public int Max;

    public static int Padded(int channels) => (channels + 15) & ~15;

    /// <summary>
    /// Builds the tables. <paramref name="foldedBias"/> already holds bias − zx·Σw per channel; the effective scale of
    /// channel c is double(inputScale)·double(weightScale[c])/double(outputScale), as TFLite computes it.
    /// </summary>
    public static Int8Requantizer Create(ref KernelContext context, ReadOnlySpan<int> foldedBias, float inputScale,
        ReadOnlySpan<float> weightScales, float outputScale, int outputZeroPoint, ClampOptions clamp)
    {
        int channels = foldedBias.Length;
        int padded = Padded(channels);
        var r = new Int8Requantizer
        {
            Bias = context.AllocatePersistent<int>(padded),
            Multiplier = context.AllocatePersistent<int>(padded),
            LeftShift = context.AllocatePersistent<int>(padded),
            RightShift = context.AllocatePersistent<int>(padded),
            RoundingMask = context.AllocatePersistent<int>(padded),
            RoundingHalf = context.AllocatePersistent<int>(padded),
            MultiplierOdd = context.AllocatePersistent<int>(padded),
            OutputZeroPoint = outputZeroPoint,
        };
        for (int c = 0; c < channels; c++)
        {
            double weightScale = weightScales.Length == 1 ? weightScales[0] : weightScales[c];
            (int m, int shift) = QuantizedMath.QuantizeMultiplier((double)inputScale * weightScale / outputScale);
            r.Bias[c] = foldedBias[c];
            r.Multiplier[c] = m;
            r.LeftShift[c] = Math.Max(shift, 0);
            r.RightShift[c] = Math.Max(-shift, 0);
            r.RoundingMask[c] = (int)((1L << r.RightShift[c]) - 1);
            r.RoundingHalf[c] = r.RoundingMask[c] >> 1;
            r.AnyLeftShift |= r.LeftShift[c] != 0;
            if ((c & 1) == 1)
            {
                r.MultiplierOdd[c - 1] = m;
            }
        }

        (r.Min, r.Max) = QuantizedMath.ActivationRange(clamp.Min, clamp.Max, outputScale, outputZeroPoint);
        context.Require(r.Min <= r.Max, $"clamp [{clamp.Min}, {clamp.Max}] is empty once quantized to the output's scale");
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly sbyte Scalar(int acc, int c)
    {
        int v = OutputZeroPoint + QuantizedMath.MultiplyByQuantizedMultiplier(acc + Bias[c], Multiplier[c], LeftShift[c] - RightShift[c]);
        return (sbyte)Math.Clamp(v, Min, Max);
    }

    /// <summary>The per-channel constants of eight channels, loaded once per tile and used for each of its rows.</summary>
    private struct Avx2Channels8
    {
        public Vector256<int> Bias, LeftShift, Multiplier, MultiplierOdd, Mask, Half;
        public Vector256<uint> RightShift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Avx2Channels8 LoadAvx2(int c) => new()
    {
        Bias = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Bias), c)),
        LeftShift = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(LeftShift), c)),
        Multiplier = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Multiplier), c)),
        MultiplierOdd = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(MultiplierOdd), c)),
        Mask = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(RoundingMask), c)),
        Half = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(RoundingHalf), c)),
        RightShift = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(RightShift), c)).AsUInt32(),
    };

    /// <summary>16 channels starting at <paramref name="c"/>, AVX2: accumulators of channels c..c+7 and c+8..c+15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Vector128<sbyte> Avx2x16(Vector256<int> acc0, Vector256<int> acc1, int c)
        => Avx2x16(acc0, acc1, LoadAvx2(c), LoadAvx2(c + 8));

    /// <remarks>The zero point is added after the first saturating narrowing, in int16 with saturation: for
    /// |v| ≤ 32767 that is v + zy exactly, and beyond it both forms saturate to the same int8 bound (|zy| ≤ 255).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector128<sbyte> Avx2x16(Vector256<int> acc0, Vector256<int> acc1, in Avx2Channels8 t0, in Avx2Channels8 t1)
    {
        Vector256<int> y0 = Avx2TableMbqm(acc0, t0);
        Vector256<int> y1 = Avx2TableMbqm(acc1, t1);
        Vector128<short> zero = Vector128.Create((short)OutputZeroPoint);
        Vector128<short> lo = Sse2.AddSaturate(Sse2.PackSignedSaturate(y0.GetLower(), y0.GetUpper()), zero);
        Vector128<short> hi = Sse2.AddSaturate(Sse2.PackSignedSaturate(y1.GetLower(), y1.GetUpper()), zero);
        Vector128<sbyte> b = Sse2.PackSignedSaturate(lo, hi);
        return Sse41.Min(Sse41.Max(b, Vector128.Create((sbyte)Min)), Vector128.Create((sbyte)Max));
    }

    /// <summary>
    /// Requantizes and stores a tile of up to four rows × 16 channels from accumulators spilled to
    /// <paramref name="acc"/> (row r: acc[2r] channels c..c+7, acc[2r+1] c+8..c+15), <paramref name="count"/> channels
    /// per row. Kept out of line on purpose: inlined four times into a micro-kernel it exhausts the JIT's inlining
    /// budget, and the remaining calls then pass vectors through memory (measured: 19 % of a K = 28 GEMM in the call).
    /// The channel constants are loaded once for all rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public readonly unsafe void StoreAvx2Rows16(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
    {
        Avx2Channels8 t0 = LoadAvx2(c);
        Avx2Channels8 t1 = LoadAvx2(c + 8);
        for (int r = 0; r < rows; r++)
        {
            Vector128<sbyte> v = Avx2x16(acc[2 * r], acc[2 * r + 1], t0, t1);
            sbyte* d = y + (long)r * stride;
            if (count >= 16)
            {
                v.Store(d);
            }
            else
            {
                for (int i = 0; i < count; i++)
                {
                    d[i] = v.GetElement(i);
                }
            }
        }
    }

    /// <summary>The 8-channel form of <see cref="StoreAvx2Rows16"/>: acc[r] holds row r.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public readonly unsafe void StoreAvx2Rows8(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
    {
        Avx2Channels8 t = LoadAvx2(c);
        for (int r = 0; r < rows; r++)
        {
            Vector128<sbyte> v = Avx2x8(acc[r], t);
            sbyte* d = y + (long)r * stride;
            if (count >= 8)
            {
                *(long*)d = v.AsInt64().ToScalar();
            }
            else
            {
                for (int i = 0; i < count; i++)
                {
                    d[i] = v.GetElement(i);
                }
            }
        }
    }

    /// <summary>Eight channels with their loaded constants, AVX2, in the low 8 bytes of the result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector128<sbyte> Avx2x8(Vector256<int> acc, in Avx2Channels8 t)
    {
        Vector256<int> y = Avx2TableMbqm(acc, t);
        Vector128<short> s = Sse2.AddSaturate(Sse2.PackSignedSaturate(y.GetLower(), y.GetUpper()), Vector128.Create((short)OutputZeroPoint));
        Vector128<sbyte> b = Sse2.PackSignedSaturate(s, s);
        return Sse41.Min(Sse41.Max(b, Vector128.Create((sbyte)Min)), Vector128.Create((sbyte)Max));
    }

    /// <summary>
    /// MBQM(acc + bias) of eight channels, before the zero point: <see cref="Avx2Mbqm(Vector256{int}, Vector256{int}, Vector256{uint}, Vector256{uint})"/>
    /// with the per-channel constants (odd multipliers in place, rounding mask and half mask) read from tables
    /// instead of recomputed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector256<int> Avx2TableMbqm(Vector256<int> acc, in Avx2Channels8 t)
    {
        Vector256<int> x = acc + t.Bias;
        if (AnyLeftShift)
        {
            x = Avx2.ShiftLeftLogicalVariable(x, t.LeftShift.AsUInt32());
        }

        return Avx2HighMulShift(x, t.Multiplier, t.MultiplierOdd, t.RightShift, t.Mask, t.Half);
    }

    /// <summary>MultiplyByQuantizedMultiplier on eight lanes with per-lane multipliers and shifts (m ≥ 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Avx2Mbqm(Vector256<int> x, Vector256<int> m, Vector256<uint> left, Vector256<uint> right)
    {
        Vector256<int> mask = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, right) - Vector256<int>.One;
        return Avx2HighMulShift(Avx2.ShiftLeftLogicalVariable(x, left), m, Avx2.ShiftRightLogical(m.AsInt64(), 32).AsInt32(), right,
            mask, Avx2.ShiftRightArithmetic(mask, 1));
    }

    /// <summary>
    /// SaturatingRoundingDoublingHighMul(x, m) then RoundingDivideByPOT(·, right) on eight lanes: two vpmuldq on the
    /// even and odd lanes (<paramref name="mOdd"/> holds each odd lane's multiplier in the even position below it),
    /// then the mask/threshold rounding with <paramref name="mask"/> = 2^right − 1 and <paramref name="half"/> = mask &gt;&gt; 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Avx2HighMulShift(Vector256<int> x, Vector256<int> m, Vector256<int> mOdd, Vector256<uint> right,
        Vector256<int> mask, Vector256<int> half)
    {
        Vector256<long> nudge = Vector256.Create(1L << 30);
        Vector256<long> even = Avx2.ShiftRightLogical(Avx2.Multiply(x, m) + nudge, 31);
        Vector256<long> odd = Avx2.ShiftLeftLogical(Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), mOdd) + nudge, 1);
        Vector256<int> high = Avx2.Blend(even.AsInt32(), odd.AsInt32(), 0b1010_1010);
        Vector256<int> threshold = half - Avx2.ShiftRightArithmetic(high, 31);
        return Avx2.ShiftRightArithmeticVariable(high, right) - Avx2.CompareGreaterThan(high & mask, threshold);
    }

    /// <summary>16 channels starting at <paramref name="c"/> on 128-bit vectors (AdvSimd, or x64 with AVX2's variable shifts, else scalar).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Vector128<sbyte> V128x16(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3, int c)
    {
        if (AdvSimd.IsSupported)
        {
            Vector128<short> lo = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(NeonChannels(a0, c)), NeonChannels(a1, c + 4));
            Vector128<short> hi = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(NeonChannels(a2, c + 8)), NeonChannels(a3, c + 12));
            Vector128<sbyte> b = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(lo), hi);
            return AdvSimd.Min(AdvSimd.Max(b, Vector128.Create((sbyte)Min)), Vector128.Create((sbyte)Max));
        }

        if (Avx2.IsSupported)
        {
            Vector128<short> lo = Sse2.PackSignedSaturate(X64Channels(a0, c), X64Channels(a1, c + 4));
            Vector128<short> hi = Sse2.PackSignedSaturate(X64Channels(a2, c + 8), X64Channels(a3, c + 12));
            Vector128<sbyte> b = Sse2.PackSignedSaturate(lo, hi);
            return Sse41.Min(Sse41.Max(b, Vector128.Create((sbyte)Min)), Vector128.Create((sbyte)Max));
        }

        Span<int> acc = stackalloc int[16];
        a0.CopyTo(acc);
        a1.CopyTo(acc[4..]);
        a2.CopyTo(acc[8..]);
        a3.CopyTo(acc[12..]);
        Span<sbyte> y = stackalloc sbyte[16];
        for (int i = 0; i < 16; i++)
        {
            y[i] = Scalar(acc[i], c + i);
        }

        return Vector128.Create((ReadOnlySpan<sbyte>)y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector128<int> NeonChannels(Vector128<int> acc, int c)
    {
        Vector128<int> x = acc + Vector128.LoadUnsafe(ref Unsafe.Add(ref Bias[0], c));
        Vector128<int> m = Vector128.LoadUnsafe(ref Unsafe.Add(ref Multiplier[0], c));
        Vector128<int> left = Vector128.LoadUnsafe(ref Unsafe.Add(ref LeftShift[0], c));
        Vector128<int> right = Vector128.LoadUnsafe(ref Unsafe.Add(ref RightShift[0], c));
        return NeonMbqm(x, m, left, right) + Vector128.Create(OutputZeroPoint);
    }

    /// <summary>MultiplyByQuantizedMultiplier on four AArch64 lanes: SSHL, SQRDMULH, then a ties-away rounding shift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> NeonMbqm(Vector128<int> x, Vector128<int> m, Vector128<int> left, Vector128<int> right)
    {
        x = AdvSimd.ShiftLogical(x, left);
        Vector128<int> high = AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, m);
        Vector128<int> negRight = -right;
        // −1 for negative values when shifting (the sign bit of −right is set exactly when right > 0): SRSHL rounds
        // ties up, and one less turns that into ties away from zero.
        Vector128<int> fixup = AdvSimd.ShiftRightArithmetic(high & negRight, 31);
        return AdvSimd.ShiftArithmeticRounded(AdvSimd.AddSaturate(high, fixup), negRight);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector128<int> X64Channels(Vector128<int> acc, int c)
    {
        Vector128<int> x = acc + Vector128.LoadUnsafe(ref Unsafe.Add(ref Bias[0], c));
        Vector128<int> m = Vector128.LoadUnsafe(ref Unsafe.Add(ref Multiplier[0], c));
        Vector128<uint> left = Vector128.LoadUnsafe(ref Unsafe.Add(ref LeftShift[0], c)).AsUInt32();
        Vector128<uint> right = Vector128.LoadUnsafe(ref Unsafe.Add(ref RightShift[0], c)).AsUInt32();
        return X64Mbqm(x, m, left, right) + Vector128.Create(OutputZeroPoint);
    }

    /// <summary>The x64 128-bit form of <see cref="Avx2Mbqm"/> (needs AVX2 for the per-lane shifts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> X64Mbqm(Vector128<int> x, Vector128<int> m, Vector128<uint> left, Vector128<uint> right)
    {
        x = Avx2.ShiftLeftLogicalVariable(x, left);
        Vector128<long> nudge = Vector128.Create(1L << 30);
        Vector128<long> even = Sse2.ShiftRightLogical(Sse41.Multiply(x, m) + nudge, 31);
        Vector128<long> odd = Sse41.Multiply(Sse2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), Sse2.ShiftRightLogical(m.AsInt64(), 32).AsInt32());
        odd = Sse2.ShiftLeftLogical(odd + nudge, 1);
        Vector128<int> high = Avx2.Blend(even.AsInt32(), odd.AsInt32(), 0b1010);
        Vector128<int> mask = Avx2.ShiftLeftLogicalVariable(Vector128<int>.One, right) - Vector128<int>.One;
        Vector128<int> threshold = Sse2.ShiftRightArithmetic(mask, 1) - Sse2.ShiftRightArithmetic(high, 31);
        Vector128<int> result = Avx2.ShiftRightArithmeticVariable(high, right);
        return result - Sse2.CompareGreaterThan(high & mask, threshold);
    }
}
