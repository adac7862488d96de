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
/// <para>Folded AVX2 form (<see cref="Folded"/>), used when the accumulator bound given at Prepare rules out every
/// overflow below: with h = (x·m + 2^30) &gt;&gt; 31 and s = right &gt; 0, RoundingDivideByPOT(h, s) =
/// (h + 2^(s−1) − [h &lt; 0]) &gt;&gt; s, and since ⌊(⌊v⌋ + c)/n⌋ = ⌊(v + c)/n⌋ for integer c, the 2^(s−1) moves
/// into the 64-bit product as 2^(30+s). The bias moves there too ((acc + b)·m = acc·m + b·m, exact in 64 bits), so
/// one per-channel 64-bit constant K = b·2^left·m + 2^30 + 2^(30+s) replaces the bias add and the nudge, q = (acc·m + K)
/// &gt;&gt; 31 is h + 2^(s−1), h &lt; 0 is q &lt; 2^(s−1), and the result is (q − [q &lt; 2^(s−1)]) &gt;&gt; s: 11 vector
/// operations for eight channels instead of 15. Exact whenever |acc + b|·2^left and |h| + 2^(s−1) fit in int32,
/// which <see cref="Create"/> checks per channel from the bound; otherwise the mask/threshold form above runs.</para>
/// </summary>
internal unsafe struct Int8Requantizer
{
    public int[] Bias;
    public int[] Multiplier;
    public int[] LeftShift;
    public int[] RightShift;
    public int[] RoundingMask;      // 2^right − 1 (x64 form of RoundingDivideByPOT)
    public int[] RoundingHalf;      // (2^right − 1) >> 1
    public int[] MultiplierOdd;     // [2j] = M[2j+1], [2j+1] = 0: the odd channels' multipliers where vpmuldq reads them
    public bool AnyLeftShift;       // false (the usual case: every effective scale below 1) skips the left shift
    public bool Folded;             // the folded AVX2 form is exact for every channel (see the type's remarks)
    public long[] FoldedConstant;   // per 8 channels: K of the 4 even channels, then K of the 4 odd channels
    public int[] FoldedHalf;        // 2^(right − 1), or int.MinValue when right = 0 (no rounding step)
    public int OutputZeroPoint;
    public int Min;
    public int Max;

    public static int Padded(int channels) => (channels + 15) & ~15;

    /// <summary>
    /// Builds the tables. <paramref name="foldedBias"/> already holds bias − zx·Σw per channel; the effective scale of
    /// channel c is double(inputScale)·double(weightScale[c])/double(outputScale), as TFLite computes it.
    /// <paramref name="maxAbsAccumulator"/> bounds |acc| before the bias (e.g. K·128·128 for an int8 GEMM); it decides
    /// whether the folded AVX2 form is exact.
    /// </summary>
    public static Int8Requantizer Create(ref KernelContext context, ReadOnlySpan<int> foldedBias, float inputScale,
        ReadOnlySpan<float> weightScales, float outputScale, int outputZeroPoint, ClampOptions clamp, long maxAbsAccumulator)
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
            FoldedConstant = context.AllocatePersistent<long>(padded),
            FoldedHalf = context.AllocatePersistent<int>(padded),
            OutputZeroPoint = outputZeroPoint,
            Folded = true,
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

            r.Folded &= FoldedIsExact(maxAbsAccumulator, foldedBias[c], m, r.LeftShift[c], r.RightShift[c]);
            int right = r.RightShift[c];
            long constant = (long)foldedBias[c] * m * (1L << r.LeftShift[c]) + (1L << 30) + (right > 0 ? 1L << (30 + right) : 0);
            r.FoldedConstant[(c & ~7) + ((c & 1) == 0 ? 0 : 4) + ((c & 7) >> 1)] = constant;
            r.FoldedHalf[c] = right > 0 ? 1 << (right - 1) : int.MinValue;
        }

        for (int c = channels; c < padded; c++)
        {
            r.FoldedHalf[c] = int.MinValue; // padding channels: multiplier 0, so q = 2^30 >> 31 = 0, no rounding step
            r.FoldedConstant[(c & ~7) + ((c & 1) == 0 ? 0 : 4) + ((c & 7) >> 1)] = 1L << 30;
        }

        (r.Min, r.Max) = QuantizedMath.ActivationRange(clamp.Min, clamp.Max, outputScale, outputZeroPoint);
        context.Require(r.Min <= r.Max, $"clamp [{clamp.Min}, {clamp.Max}] is empty once quantized to the output's scale");
        return r;
    }

    /// <summary>
    /// True when, for every |acc| ≤ <paramref name="maxAbsAccumulator"/>, the folded form cannot overflow:
    /// acc + bias and its left shift stay in int32 (the scalar code's wrapping never happens), and the quotient
    /// q = h + 2^(right−1) stays in int32 (|h| ≤ |x·m|/2^31 + 1 ≤ |x| + 1, since m &lt; 2^31).
    /// </summary>
    internal static bool FoldedIsExact(long maxAbsAccumulator, int bias, int multiplier, int left, int right)
    {
        long x = maxAbsAccumulator + Math.Abs((long)bias);
        if (left > 0)
        {
            if (left > 31 || x > (int.MaxValue >> left))
            {
                return false;
            }

            x <<= left;
        }

        if (x > int.MaxValue || multiplier < 0)
        {
            return false;
        }

        long half = right > 0 ? 1L << (right - 1) : 0;
        return x + 1 + half <= int.MaxValue;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly sbyte Scalar(int acc, int c)
    {
        int v = OutputZeroPoint + QuantizedMath.MultiplyByQuantizedMultiplier(acc + Bias[c], Multiplier[c], LeftShift[c] - RightShift[c]);
        return (sbyte)Math.Clamp(v, Min, Max);
    }

    /// <summary>The per-channel constants of eight channels, loaded once per tile and used for each of its rows.</summary>
    internal struct Avx2Channels8
    {
        public Vector256<int> Bias, LeftShift, Multiplier, MultiplierOdd, Mask, Half;
        public Vector256<long> ConstantEven, ConstantOdd;
        public Vector256<uint> RightShift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Load8<T>(T[] table, int c) where T : unmanaged
        => Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), c));

    /// <summary>The constants of channels c..c+7 (c a multiple of 8) for the form <typeparamref name="TForm"/> selects.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Avx2Channels8 LoadAvx2<TForm>(int c) where TForm : struct
    {
        var t = new Avx2Channels8
        {
            Multiplier = Load8(Multiplier, c),
            MultiplierOdd = Load8(MultiplierOdd, c),
            RightShift = Load8(RightShift, c).AsUInt32(),
            LeftShift = AnyLeftShift ? Load8(LeftShift, c) : default,
        };
        if (typeof(TForm) == typeof(FoldedForm))
        {
            t.ConstantEven = Load8(FoldedConstant, c);
            t.ConstantOdd = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(FoldedConstant), c + 4));
            t.Half = Load8(FoldedHalf, c);
        }
        else
        {
            t.Bias = Load8(Bias, c);
            t.Mask = Load8(RoundingMask, c);
            t.Half = Load8(RoundingHalf, c);
        }

        return t;
    }

    /// <summary>Selects the folded AVX2 form at JIT time (a type argument, so each form compiles to its own loop).</summary>
    internal struct FoldedForm;

    /// <summary>Selects the mask/threshold AVX2 form.</summary>
    internal struct ThresholdForm;

    /// <summary>16 channels starting at <paramref name="c"/>, AVX2: accumulators of channels c..c+7 and c+8..c+15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Vector128<sbyte> Avx2x16(Vector256<int> acc0, Vector256<int> acc1, int c)
        => Folded
            ? Avx2x16<FoldedForm>(acc0, acc1, LoadAvx2<FoldedForm>(c), LoadAvx2<FoldedForm>(c + 8))
            : Avx2x16<ThresholdForm>(acc0, acc1, LoadAvx2<ThresholdForm>(c), LoadAvx2<ThresholdForm>(c + 8));

    /// <remarks>The zero point is added after the first saturating narrowing, in int16 with saturation: for
    /// |v| ≤ 32767 that is v + zy exactly, and beyond it both forms saturate to the same int8 bound (|zy| ≤ 255).
    /// One 256-bit vpackssdw narrows both halves; it interleaves them by 128-bit lane ([y0 0-3, y1 0-3 | y0 4-7,
    /// y1 4-7]), and one vpermq restores channel order.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector128<sbyte> Avx2x16<TForm>(Vector256<int> acc0, Vector256<int> acc1, in Avx2Channels8 t0, in Avx2Channels8 t1)
        where TForm : struct
    {
        Vector256<int> y0 = Avx2TableMbqm<TForm>(acc0, t0);
        Vector256<int> y1 = Avx2TableMbqm<TForm>(acc1, t1);
        Vector256<short> packed = Avx2.Permute4x64(Avx2.PackSignedSaturate(y0, y1).AsInt64(), 0b11_01_10_00).AsInt16();
        packed = Avx2.AddSaturate(packed, Vector256.Create((short)OutputZeroPoint));
        Vector128<sbyte> b = Sse2.PackSignedSaturate(packed.GetLower(), packed.GetUpper());
        return Sse41.Min(Sse41.Max(b, Vector128.Create((sbyte)Min)), Vector128.Create((sbyte)Max));
    }

    /// <summary>
    /// Requantizes and stores <paramref name="rows"/> rows × 16 channels from accumulators spilled to
    /// <paramref name="acc"/> (row r: acc[2r] channels c..c+7, acc[2r+1] c+8..c+15), <paramref name="count"/> channels
    /// per row. Kept out of line on purpose: inlined into a micro-kernel it exhausts the JIT's inlining budget, and
    /// the remaining calls then pass vectors through memory (measured: 19 % of a K = 28 GEMM in the call). The
    /// channel constants are loaded once for all rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public readonly unsafe void StoreAvx2Rows16(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
    {
        if (Folded)
        {
            StoreAvx2Rows16<FoldedForm>(acc, rows, y, stride, c, count);
        }
        else
        {
            StoreAvx2Rows16<ThresholdForm>(acc, rows, y, stride, c, count);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly unsafe void StoreAvx2Rows16<TForm>(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
        where TForm : struct
    {
        Avx2Channels8 t0 = LoadAvx2<TForm>(c);
        Avx2Channels8 t1 = LoadAvx2<TForm>(c + 8);
        for (int r = 0; r < rows; r++)
        {
            Vector128<sbyte> v = Avx2x16<TForm>(acc[2 * r], acc[2 * r + 1], t0, t1);
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

    /// <summary>The 8-channel form of <see cref="StoreAvx2Rows16"/>: acc[r] holds row r; acc[rows] must be readable
    /// when rows is odd (pairs of rows share one narrowing; the extra row is computed and dropped).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public readonly unsafe void StoreAvx2Rows8(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
    {
        if (Folded)
        {
            StoreAvx2Rows8<FoldedForm>(acc, rows, y, stride, c, count);
        }
        else
        {
            StoreAvx2Rows8<ThresholdForm>(acc, rows, y, stride, c, count);
        }
    }

    /// <remarks>Rows are taken in pairs through the 16-lane narrowing (the pair's two rows in the low and high
    /// 8 bytes), so a pair costs one pack sequence, not two.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly unsafe void StoreAvx2Rows8<TForm>(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
        where TForm : struct
    {
        Avx2Channels8 t = LoadAvx2<TForm>(c);
        int r = 0;
        for (; r < rows; r += 2)
        {
            Vector128<sbyte> v = Avx2x16<TForm>(acc[r], acc[r + 1], t, t);
            sbyte* d = y + (long)r * stride;
            if (count >= 8)
            {
                *(long*)d = v.AsInt64().ToScalar();
                if (r + 1 < rows)
                {
                    *(long*)(d + stride) = v.AsInt64().GetElement(1);
                }
            }
            else
            {
                for (int i = 0; i < count; i++)
                {
                    d[i] = v.GetElement(i);
                    if (r + 1 < rows)
                    {
                        d[stride + i] = v.GetElement(8 + i);
                    }
                }
            }
        }
    }

    /// <summary>
    /// MBQM(acc + bias) of eight channels, before the zero point, in the form <typeparamref name="TForm"/> selects:
    /// folded (see the type's remarks) or <see cref="Avx2HighMulShift"/> with the per-channel constants read from
    /// tables instead of recomputed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector256<int> Avx2TableMbqm<TForm>(Vector256<int> acc, in Avx2Channels8 t) where TForm : struct
    {
        if (typeof(TForm) == typeof(FoldedForm))
        {
            Vector256<int> a = AnyLeftShift ? Avx2.ShiftLeftLogicalVariable(acc, t.LeftShift.AsUInt32()) : acc;
            Vector256<long> even = Avx2.ShiftRightLogical(Avx2.Multiply(a, t.Multiplier) + t.ConstantEven, 31);
            Vector256<long> odd = Avx2.ShiftLeftLogical(Avx2.Multiply(Avx2.ShiftRightLogical(a.AsInt64(), 32).AsInt32(), t.MultiplierOdd) + t.ConstantOdd, 1);
            Vector256<int> q = Avx2.Blend(even.AsInt32(), odd.AsInt32(), 0b1010_1010);
            return Avx2.ShiftRightArithmeticVariable(q + Avx2.CompareGreaterThan(t.Half, q), t.RightShift);
        }

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
