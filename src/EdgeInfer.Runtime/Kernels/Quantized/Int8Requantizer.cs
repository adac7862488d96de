using System.Diagnostics.CodeAnalysis;
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
/// <para>Folded AVX2 form (<see cref="Folded"/>), for layers without a left shift (every effective scale below 1, the
/// usual case) whose accumulator bound, given at Prepare, rules out every overflow below. With h = (x·m + 2^30) &gt;&gt; 31
/// and s = right &gt; 0, RoundingDivideByPOT(h, s) = (h + 2^(s−1) − [h &lt; 0]) &gt;&gt; s, and since ⌊(⌊v⌋ + c)/n⌋ =
/// ⌊(v + c)/n⌋ for integer c, the 2^(s−1) moves into the 64-bit product as 2^(30+s). The bias moves there too
/// ((acc + b)·m = acc·m + b·m, exact in 64 bits), and so does the output zero point (⌊(q + zy·2^s)/2^s⌋ = ⌊q/2^s⌋ + zy):
/// one per-channel 64-bit constant K = b·m + 2^30 + 2^(30+s) + zy·2^(31+s) replaces the bias add, the nudge and the
/// zero-point add. Then q = (acc·m + K) &gt;&gt; 31 is h + 2^(s−1) + zy·2^s, h &lt; 0 is q below that threshold, and
/// the result with zy added is (q − [h &lt; 0]) &gt;&gt; s. Exact whenever |acc + b| and |h| + 2^(s−1) + |zy|·2^s fit
/// in int32, which <see cref="FoldedIsExact"/> checks per channel; otherwise the mask/threshold form above runs.</para>
/// <para>Doubled accumulators: on the AVX2 path, whenever the folded form is used, the kernels pack their int16
/// weights doubled (|2w| ≤ 256 still fits vpmaddwd's operands and the pair sums), so the accumulator arrives as 2·acc
/// and the tables hold 2K. Then 2·acc·m + 2K = 2(acc·m + K) carries q in its high 32 bits, where the odd lanes'
/// product already has it: 10 vector operations per eight channels, against 15 for the threshold form. This also
/// needs |2·acc| in int32 and |K| ≤ 2^61, which <see cref="FoldedIsExact"/> checks too.</para>
/// <para>When the clamp's lower bound is at or above zy (ReLU, ReLU6: <see cref="ClampsNegatives"/>), the
/// negative-tie step is skipped (<see cref="FoldedReluForm"/>, 8 operations): for h &lt; 0 both ⌊q/2^s⌋ and
/// ⌊(q − 1)/2^s⌋ are ≤ 0, so zy plus either clamps to the same lower bound.</para>
/// <para>Results are narrowed 32 at a time (<see cref="PackAvx2{TForm}"/>: two vpackssdw and one vpacksswb, whose
/// saturation is the int8 range) and clamped only when the clamp is narrower than int8
/// (<see cref="ClampIsSaturation"/>).</para>
/// </summary>
internal unsafe partial struct Int8Requantizer
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
    public bool ClampsNegatives;    // Min ≥ zy: every negative MBQM result clamps to Min
    public bool ClampIsSaturation;  // [Min, Max] = [−128, 127]: int8 saturation is the whole clamp
    public long[] FoldedConstant;   // per 8 channels: K of the 4 even channels, then K of the 4 odd channels
    public int[] FoldedHalf;        // 2^(right − 1) + zy·2^right, or int.MinValue when right = 0 (no rounding step)
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
        (int min, int max) = QuantizedMath.ActivationRange(clamp.Min, clamp.Max, outputScale, outputZeroPoint);
        context.Require(min <= max, $"clamp [{clamp.Min}, {clamp.Max}] is empty once quantized to the output's scale");
        var multipliers = new (int, int)[foldedBias.Length];
        for (int c = 0; c < multipliers.Length; c++)
        {
            double weightScale = weightScales.Length == 1 ? weightScales[0] : weightScales[c];
            multipliers[c] = QuantizedMath.QuantizeMultiplier((double)inputScale * weightScale / outputScale);
        }

        return Create(ref context, foldedBias, multipliers, outputZeroPoint, min, max, maxAbsAccumulator);
    }

    /// <summary>
    /// Builds the tables from each channel's (multiplier, shift) as QuantizeMultiplier gives them (one entry: every
    /// channel), for operators whose multiplier is not a product of scales (a mean's 1/(H·W)), and the int8 clamp.
    /// </summary>
    public static Int8Requantizer Create(ref KernelContext context, scoped ReadOnlySpan<int> foldedBias, scoped ReadOnlySpan<(int Multiplier, int Shift)> multipliers,
        int outputZeroPoint, int min, int max, long maxAbsAccumulator)
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
            (int m, int shift) = multipliers.Length == 1 ? multipliers[0] : multipliers[c];
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

            bool exact = FoldedIsExact(maxAbsAccumulator, foldedBias[c], m, r.LeftShift[c], r.RightShift[c], outputZeroPoint);
            r.Folded &= exact;
            int right = r.RightShift[c];
            if (exact)
            {
                r.FoldedConstant[FoldedSlot(c)] = 2 * (long)FoldedConstantOf(foldedBias[c], m, right, outputZeroPoint);
                r.FoldedHalf[c] = right > 0 ? (int)((1L << (right - 1)) + ((long)outputZeroPoint << right)) : int.MinValue;
            }
        }

        for (int c = channels; c < padded; c++)
        {
            // Padding channels: multiplier 0, so q = zy (K = 2^30 + zy·2^31, doubled), no rounding step.
            r.FoldedHalf[c] = int.MinValue;
            r.FoldedConstant[FoldedSlot(c)] = 2 * ((1L << 30) + ((long)outputZeroPoint << 31));
        }

        (r.Min, r.Max) = (min, max);
        r.ClampsNegatives = r.Min >= outputZeroPoint;
        r.ClampIsSaturation = r.Min == sbyte.MinValue && r.Max == sbyte.MaxValue;
        return r;
    }

    /// <summary>Where channel c's K sits: per 8 channels, the 4 even channels' constants, then the 4 odd ones'.</summary>
    private static int FoldedSlot(int c) => (c & ~7) + ((c & 1) == 0 ? 0 : 4) + ((c & 7) >> 1);

    /// <summary>
    /// What the AVX2 kernels multiply their sums by before the requantization: 2 with the folded form, which takes
    /// doubled accumulators (see the type's remarks), else 1. Kernels double their packed weights, or their sums.
    /// </summary>
    internal readonly int Avx2AccumulatorScale => Folded ? 2 : 1;

    /// <summary>The AVX2 requantization form the tables allow (see the type's remarks).</summary>
    internal readonly Avx2Form Form => !Folded ? Avx2Form.Threshold : ClampsNegatives ? Avx2Form.FoldedRelu : Avx2Form.Folded;

    /// <summary>
    /// True when the folded form applies and, for every |acc| ≤ <paramref name="maxAbsAccumulator"/>, cannot overflow:
    /// no left shift; acc + bias stays in int32 (the scalar code's wrapping never happens); the quotient
    /// q = h + 2^(right−1) + zy·2^right stays in int32 (|h| ≤ |x·m|/2^31 + 1 ≤ |x| + 1, since m &lt; 2^31); and the
    /// doubled accumulator and 64-bit sum of the AVX2 loops fit their lanes.
    /// </summary>
    internal static bool FoldedIsExact(long maxAbsAccumulator, int bias, int multiplier, int left, int right, int outputZeroPoint)
    {
        // No left shift (every effective scale below 1, the usual case: the folded loops then carry no shift and no
        // test for one); the doubled accumulator must fit its int32 lane, and 2·acc·m + 2K its int64 lane
        // (|2·acc·m| < 2^62, so |K| ≤ 2^61 leaves room).
        if (left != 0 || maxAbsAccumulator > int.MaxValue / 2 || right > 31
            || Int128.Abs(FoldedConstantOf(bias, multiplier, right, outputZeroPoint)) > (Int128)1 << 61)
        {
            return false;
        }

        long x = maxAbsAccumulator + Math.Abs((long)bias);
        if (x > int.MaxValue || multiplier < 0)
        {
            return false;
        }

        long half = right > 0 ? 1L << (right - 1) : 0;
        long zero = (long)Math.Abs(outputZeroPoint) << right;
        return x + 1 + half + zero <= int.MaxValue;
    }

    /// <summary>K = b·m + 2^30 + 2^(30+s) + zy·2^(31+s), exactly (the tables hold 2K: see the type's remarks).</summary>
    private static Int128 FoldedConstantOf(int bias, int multiplier, int right, int outputZeroPoint)
        => (Int128)bias * multiplier + ((Int128)1 << 30) + (right > 0 ? (Int128)1 << (30 + right) : 0)
            + ((Int128)outputZeroPoint << (31 + right));

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

        /// <summary>
        /// The constants of lanes [a 0–3 | b 0–3] (<paramref name="control"/> 0x20) or [a 4–7 | b 4–7] (0x31): the
        /// channel order vpunpcklwd/vpunpckhwd leave in a 16-channel accumulator pair. Every table is laid out per
        /// 128-bit lane in the same way (the 64-bit constants of channels 2j, 2j+1 sit in the lane of channel 2j), so
        /// one vperm2i128 per table moves it.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Avx2Channels8 Lanes(in Avx2Channels8 a, in Avx2Channels8 b, [ConstantExpected] byte control) => new()
        {
            Bias = Avx2.Permute2x128(a.Bias, b.Bias, control),
            LeftShift = Avx2.Permute2x128(a.LeftShift, b.LeftShift, control),
            Multiplier = Avx2.Permute2x128(a.Multiplier, b.Multiplier, control),
            MultiplierOdd = Avx2.Permute2x128(a.MultiplierOdd, b.MultiplierOdd, control),
            Mask = Avx2.Permute2x128(a.Mask, b.Mask, control),
            Half = Avx2.Permute2x128(a.Half, b.Half, control),
            ConstantEven = Avx2.Permute2x128(a.ConstantEven, b.ConstantEven, control),
            ConstantOdd = Avx2.Permute2x128(a.ConstantOdd, b.ConstantOdd, control),
            RightShift = Avx2.Permute2x128(a.RightShift, b.RightShift, control),
        };
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
            LeftShift = AnyLeftShift && !IsFolded<TForm>() ? Load8(LeftShift, c) : default,
        };
        if (IsFolded<TForm>())
        {
            t.ConstantEven = Load8(FoldedConstant, c);
            t.ConstantOdd = Vector256.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(FoldedConstant), c + 4));
            t.Half = typeof(TForm) == typeof(FoldedForm) ? Load8(FoldedHalf, c) : default;
        }
        else
        {
            t.Bias = Load8(Bias, c);
            t.Mask = Load8(RoundingMask, c);
            t.Half = Load8(RoundingHalf, c);
        }

        return t;
    }

    /// <summary>The AVX2 forms (see the type's remarks); kernels pick one per layer and compile a loop for it.</summary>
    internal enum Avx2Form
    {
        Threshold,
        Folded,
        FoldedRelu,
    }

    /// <summary>Selects the folded AVX2 form at JIT time (a type argument, so each form compiles to its own loop).</summary>
    internal struct FoldedForm;

    /// <summary>Selects the folded AVX2 form without the negative-tie step (clamps with Min ≥ zy).</summary>
    internal struct FoldedReluForm;

    /// <summary>Selects the mask/threshold AVX2 form.</summary>
    internal struct ThresholdForm;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsFolded<TForm>() => typeof(TForm) == typeof(FoldedForm) || typeof(TForm) == typeof(FoldedReluForm);

    /// <summary>16 channels starting at <paramref name="c"/>, AVX2: accumulators of channels c..c+7 and c+8..c+15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Vector128<sbyte> Avx2x16(Vector256<int> acc0, Vector256<int> acc1, int c)
        => Form switch
        {
            Avx2Form.Folded => Avx2x16<FoldedForm>(acc0, acc1, LoadAvx2<FoldedForm>(c), LoadAvx2<FoldedForm>(c + 8)),
            Avx2Form.FoldedRelu => Avx2x16<FoldedReluForm>(acc0, acc1, LoadAvx2<FoldedReluForm>(c), LoadAvx2<FoldedReluForm>(c + 8)),
            _ => Avx2x16<ThresholdForm>(acc0, acc1, LoadAvx2<ThresholdForm>(c), LoadAvx2<ThresholdForm>(c + 8)),
        };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector128<sbyte> Avx2x16<TForm>(Vector256<int> acc0, Vector256<int> acc1, in Avx2Channels8 t0, in Avx2Channels8 t1)
        where TForm : struct
    {
        Vector256<int> y0 = Avx2TableMbqm<TForm>(acc0, t0);
        Vector256<int> y1 = Avx2TableMbqm<TForm>(acc1, t1);
        return InRowOrder(ClampAvx2(PackAvx2<TForm>(y0, y1, y0, y1))).GetLower();
    }

    /// <summary>
    /// Four vectors of eight int32 results (zero point included for the folded forms) to 32 saturated int8 in
    /// vpacksswb order: lane 0 holds lanes 0–3 of y0, y1, y2, y3 and lane 1 their lanes 4–7, four bytes each. The
    /// threshold form adds the zero point between the two narrowings, in int16 with saturation: for |v| ≤ 32767 that
    /// is v + zy exactly, and beyond it the result saturates to the same int8 bound (|zy| ≤ 255).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector256<sbyte> PackAvx2<TForm>(Vector256<int> y0, Vector256<int> y1, Vector256<int> y2, Vector256<int> y3)
        where TForm : struct
    {
        Vector256<short> a = Avx2.PackSignedSaturate(y0, y1);
        Vector256<short> b = Avx2.PackSignedSaturate(y2, y3);
        if (!IsFolded<TForm>())
        {
            Vector256<short> zero = Vector256.Create((short)OutputZeroPoint);
            a = Avx2.AddSaturate(a, zero);
            b = Avx2.AddSaturate(b, zero);
        }

        return Avx2.PackSignedSaturate(a, b);
    }

    /// <summary><see cref="PackAvx2{TForm}"/>'s bytes as y0, y1, y2, y3 in order, eight bytes each (one vpermd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<sbyte> InRowOrder(Vector256<sbyte> packed)
        => Avx2.PermuteVar8x32(packed.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte();

    /// <summary>The activation clamp on 32 bytes; nothing when the clamp is the int8 range the narrowing saturated to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector256<sbyte> ClampAvx2(Vector256<sbyte> v)
        => ClampIsSaturation ? v : Avx2.Min(Avx2.Max(v, Vector256.Create((sbyte)Min)), Vector256.Create((sbyte)Max));

    /// <summary>
    /// Requantizes and stores <paramref name="rows"/> rows of one GEMM panel from accumulators spilled to
    /// <paramref name="acc"/>, <paramref name="count"/> channels per row. A 16-channel panel (<paramref name="wide"/>)
    /// has row r in acc[2r] (channels c..c+7) and acc[2r+1] (c+8..c+15), and goes in pairs of rows, so acc[2·rows],
    /// acc[2·rows + 1] must be readable when rows is odd; an 8-channel panel has row r in acc[r] and goes in fours, so
    /// acc up to rows rounded up to 4 must be readable (the extra rows are computed and dropped). Kept out of line on
    /// purpose: inlined into a micro-kernel it exhausts the JIT's inlining budget, and the remaining calls then pass
    /// vectors through memory (measured: 19 % of a K = 28 GEMM in the call). The channel constants are loaded once
    /// for all rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public readonly unsafe void StoreAvx2Rows(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count, bool wide)
    {
        switch (Form)
        {
            case Avx2Form.Folded: StoreAvx2Rows<FoldedForm>(acc, rows, y, stride, c, count, wide); break;
            case Avx2Form.FoldedRelu: StoreAvx2Rows<FoldedReluForm>(acc, rows, y, stride, c, count, wide); break;
            default: StoreAvx2Rows<ThresholdForm>(acc, rows, y, stride, c, count, wide); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly unsafe void StoreAvx2Rows<TForm>(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count, bool wide)
        where TForm : struct
    {
        if (wide)
        {
            StoreAvx2Rows16<TForm>(acc, rows, y, stride, c, count);
        }
        else
        {
            StoreAvx2Rows8<TForm>(acc, rows, y, stride, c, count);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly unsafe void StoreAvx2Rows16<TForm>(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
        where TForm : struct
    {
        Avx2Channels8 t0 = LoadAvx2<TForm>(c);
        Avx2Channels8 t1 = LoadAvx2<TForm>(c + 8);
        for (int r = 0; r < rows; r += 2)
        {
            Vector256<int>* a = acc + 2 * r;
            Vector256<sbyte> v = InRowOrder(ClampAvx2(PackAvx2<TForm>(Avx2TableMbqm<TForm>(a[0], t0), Avx2TableMbqm<TForm>(a[1], t1),
                Avx2TableMbqm<TForm>(a[2], t0), Avx2TableMbqm<TForm>(a[3], t1))));
            sbyte* d = y + (long)r * stride;
            StoreBytes(v.GetLower(), d, count);
            if (r + 1 < rows)
            {
                StoreBytes(v.GetUpper(), d + stride, count);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly unsafe void StoreAvx2Rows8<TForm>(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
        where TForm : struct
    {
        Avx2Channels8 t = LoadAvx2<TForm>(c);
        for (int r = 0; r < rows; r += 4)
        {
            Vector256<int>* a = acc + r;
            Vector256<long> v = InRowOrder(ClampAvx2(PackAvx2<TForm>(Avx2TableMbqm<TForm>(a[0], t), Avx2TableMbqm<TForm>(a[1], t),
                Avx2TableMbqm<TForm>(a[2], t), Avx2TableMbqm<TForm>(a[3], t)))).AsInt64();
            sbyte* d0 = y + (long)r * stride;
            if (count >= 8 && rows - r >= 4)
            {
                // Four rows of eight bytes straight from the two halves (vmovq, vpextrq): indexing the vector by a
                // variable row spilled it to the stack and reloaded it per row (2304×16×8: 35.3 → 36.6 GMAC/s).
                Vector128<long> lo = v.GetLower(), hi = v.GetUpper();
                *(long*)d0 = lo.ToScalar();
                *(long*)(d0 + stride) = lo.GetElement(1);
                *(long*)(d0 + 2 * (long)stride) = hi.ToScalar();
                *(long*)(d0 + 3 * (long)stride) = hi.GetElement(1);
                continue;
            }

            int last = Math.Min(4, rows - r);
            for (int i = 0; i < last; i++)
            {
                sbyte* d = y + (long)(r + i) * stride;
                if (count >= 8)
                {
                    *(long*)d = v.GetElement(i);
                }
                else
                {
                    StoreBytes(Vector128.CreateScalar(v.GetElement(i)).AsSByte(), d, count);
                }
            }
        }
    }

    /// <summary>
    /// Requantizes and stores one row of <paramref name="channels"/> int32 sums (channel c at acc[c]), 32 channels
    /// per narrowing. acc must be readable up to <paramref name="channels"/> rounded up to 16.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public readonly unsafe void StoreAvx2Channels(int* acc, int channels, sbyte* y)
    {
        switch (Form)
        {
            case Avx2Form.Folded: StoreAvx2Channels<FoldedForm>(acc, channels, y); break;
            case Avx2Form.FoldedRelu: StoreAvx2Channels<FoldedReluForm>(acc, channels, y); break;
            default: StoreAvx2Channels<ThresholdForm>(acc, channels, y); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly unsafe void StoreAvx2Channels<TForm>(int* acc, int channels, sbyte* y) where TForm : struct
    {
        int c = 0;
        for (; c + 32 <= channels; c += 32)
        {
            Vector256<sbyte> v = InRowOrder(ClampAvx2(PackAvx2<TForm>(Mbqm8<TForm>(acc, c), Mbqm8<TForm>(acc, c + 8),
                Mbqm8<TForm>(acc, c + 16), Mbqm8<TForm>(acc, c + 24))));
            v.Store(y + c);
        }

        for (; c < channels; c += 16) // the tables are padded to 16 channels, not 32
        {
            Vector256<int> y0 = Mbqm8<TForm>(acc, c), y1 = Mbqm8<TForm>(acc, c + 8);
            StoreBytes(InRowOrder(ClampAvx2(PackAvx2<TForm>(y0, y1, y0, y1))).GetLower(), y + c, channels - c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly unsafe Vector256<int> Mbqm8<TForm>(int* acc, int c) where TForm : struct
        => Avx2TableMbqm<TForm>(Avx.LoadVector256(acc + c), LoadAvx2<TForm>(c));

    /// <summary>The first <paramref name="count"/> bytes of <paramref name="v"/> (all 16 with one store when count ≥ 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreBytes(Vector128<sbyte> v, sbyte* destination, int count)
    {
        if (count >= 16)
        {
            v.Store(destination);
            return;
        }

        // A channel tail (24, 40, 72 channels…): 8-, 4-, 2- and 1-byte stores from the vector's two halves. Element
        // by element, GetElement with a variable index went through the stack each time, which made a 24-channel
        // depthwise layer slower than a 32-channel one.
        ulong bits = v.AsUInt64().ToScalar();
        if (count >= 8)
        {
            *(ulong*)destination = bits;
            bits = v.AsUInt64().GetElement(1);
            destination += 8;
            count -= 8;
        }

        if (count >= 4)
        {
            *(uint*)destination = (uint)bits;
            bits >>= 32;
            destination += 4;
            count -= 4;
        }

        if (count >= 2)
        {
            *(ushort*)destination = (ushort)bits;
            bits >>= 16;
            destination += 2;
            count -= 2;
        }

        if (count == 1)
        {
            *destination = (sbyte)bits;
        }
    }

    /// <summary>
    /// MBQM(acc + bias) of eight channels in the form <typeparamref name="TForm"/> selects: folded (see the type's
    /// remarks; the zero point included) or <see cref="Avx2HighMulShift"/> with the per-channel constants read from
    /// tables instead of recomputed (the zero point not included: <see cref="PackAvx2{TForm}"/> adds it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector256<int> Avx2TableMbqm<TForm>(Vector256<int> acc, in Avx2Channels8 t) where TForm : struct
    {
        if (IsFolded<TForm>())
        {
            // acc arrives doubled, so 2·acc·m + 2K holds q in its high half: the even lanes' moves down, the odd
            // lanes' is already in place. (The folded form has no left shift: FoldedIsExact.)
            Vector256<long> even = Avx2.ShiftRightLogical(Avx2.Multiply(acc, t.Multiplier) + t.ConstantEven, 32);
            Vector256<long> odd = Avx2.Multiply(Avx2.ShiftRightLogical(acc.AsInt64(), 32).AsInt32(), t.MultiplierOdd) + t.ConstantOdd;
            Vector256<int> q = Avx2.Blend(even.AsInt32(), odd.AsInt32(), 0b1010_1010);
            if (typeof(TForm) == typeof(FoldedForm))
            {
                q += Avx2.CompareGreaterThan(t.Half, q);
            }

            return Avx2.ShiftRightArithmeticVariable(q, t.RightShift);
        }

        Vector256<int> x = acc + t.Bias;
        if (AnyLeftShift)
        {
            x = Avx2.ShiftLeftLogicalVariable(x, t.LeftShift.AsUInt32());
        }

        return Avx2HighMulShift(x, t.Multiplier, t.MultiplierOdd, t.RightShift, t.Mask, t.Half);
    }

    /// <summary>
    /// MultiplyByQuantizedMultiplier of eight lanes by one (multiplier, shift), its constants built once: a loop
    /// applies it without recomputing the rounding mask or testing the shift's sign per vector.
    /// </summary>
    internal readonly struct Avx2Uniform
    {
        private readonly Vector256<int> _m, _mask, _half;
        private readonly Vector256<uint> _left, _right;
        private readonly bool _anyLeft;

        public Avx2Uniform(int multiplier, int shift)
        {
            int left = Math.Max(shift, 0), right = Math.Max(-shift, 0);
            _m = Vector256.Create(multiplier);
            _left = Vector256.Create((uint)left);
            _right = Vector256.Create((uint)right);
            _mask = Vector256.Create((int)((1L << right) - 1));
            _half = Vector256.Create((int)((1L << right) - 1) >> 1);
            _anyLeft = left > 0;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Apply(Vector256<int> x)
            => Avx2HighMulShift(_anyLeft ? Avx2.ShiftLeftLogicalVariable(x, _left) : x, _m, _m, _right, _mask, _half);
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

    /// <summary>MultiplyByQuantizedMultiplier on four x64 lanes with per-lane multipliers and shifts (needs AVX2 for the per-lane shifts).</summary>
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
