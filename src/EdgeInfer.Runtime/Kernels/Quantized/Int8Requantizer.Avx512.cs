using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime.Kernels.Quantized;

// The folded ReLU requantization form on 512-bit vectors (KernelPath.Avx512): the same integer steps as
// Avx2TableMbqm, sixteen channels per vector, so the bytes are those of every other path. The other forms have no
// 512-bit version (they measured no faster); kernels keep their AVX2 loop for them.
internal unsafe partial struct Int8Requantizer
{
    /// <summary>The folded ReLU form's constants of sixteen channels, loaded once per panel.</summary>
    internal struct Avx512Channels16
    {
        public Vector512<int> Multiplier, MultiplierOdd;
        public Vector512<long> ConstantEven, ConstantOdd;
        public Vector512<uint> RightShift;

        /// <summary>
        /// Lanes picked from two blocks' constants by vshufi64x2 (<paramref name="control"/> as its immediate): every
        /// table holds a channel's constants in that channel's 128-bit lane, so whole lanes move together.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Avx512Channels16 Lanes(in Avx512Channels16 a, in Avx512Channels16 b, [ConstantExpected] byte control) => new()
        {
            Multiplier = Avx512F.Shuffle4x128(a.Multiplier, b.Multiplier, control),
            MultiplierOdd = Avx512F.Shuffle4x128(a.MultiplierOdd, b.MultiplierOdd, control),
            ConstantEven = Avx512F.Shuffle4x128(a.ConstantEven, b.ConstantEven, control),
            ConstantOdd = Avx512F.Shuffle4x128(a.ConstantOdd, b.ConstantOdd, control),
            RightShift = Avx512F.Shuffle4x128(a.RightShift, b.RightShift, control),
        };

        /// <summary>
        /// The constants of two 16-channel blocks a and b in the channel order vpunpcklwd/vpunpckhwd leave in
        /// 512-bit accumulators: <paramref name="low"/> for lanes [a 0–3 | a 8–11 | b 0–3 | b 8–11] and
        /// <paramref name="high"/> for [a 4–7 | a 12–15 | b 4–7 | b 12–15] (a and b may be the same block).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void InUnpackOrder(in Avx512Channels16 a, in Avx512Channels16 b, out Avx512Channels16 low, out Avx512Channels16 high)
        {
            low = Lanes(a, b, 0b10_00_10_00);
            high = Lanes(a, b, 0b11_01_11_01);
        }
    }

    /// <summary>
    /// The constants of channels c..c+15 (c a multiple of 16). FoldedConstant holds, per eight channels, the four
    /// even channels' K and then the four odd ones', so the even lanes' K of sixteen channels are two such halves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Avx512Channels16 LoadAvx512(int c)
    {
        ref long k = ref MemoryMarshal.GetArrayDataReference(FoldedConstant);
        return new Avx512Channels16
        {
            Multiplier = Load16(Multiplier, c),
            MultiplierOdd = Load16(MultiplierOdd, c),
            RightShift = Load16(RightShift, c).AsUInt32(),
            ConstantEven = Vector512.Create(Vector256.LoadUnsafe(ref Unsafe.Add(ref k, c)), Vector256.LoadUnsafe(ref Unsafe.Add(ref k, c + 8))),
            ConstantOdd = Vector512.Create(Vector256.LoadUnsafe(ref Unsafe.Add(ref k, c + 4)), Vector256.LoadUnsafe(ref Unsafe.Add(ref k, c + 12))),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Load16(int[] table, int c)
        => Vector512.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), c));

    /// <summary>
    /// MBQM(acc + bias) + zy of sixteen channels from doubled accumulators in the folded ReLU form (see
    /// <see cref="Avx2TableMbqm{TForm}"/>; no negative-tie step, as the clamp's lower bound is at or above zy): even
    /// lanes' q moves down from the high half of 2·acc·m + 2K, odd lanes' is already there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> Avx512ReluMbqm(Vector512<int> acc, in Avx512Channels16 t)
    {
        Vector512<long> even = Avx512F.ShiftRightLogical(Avx512F.Multiply(acc, t.Multiplier) + t.ConstantEven, 32);
        Vector512<long> odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(acc.AsInt64(), 32).AsInt32(), t.MultiplierOdd) + t.ConstantOdd;
        Vector512<int> q = Vector512.ConditionalSelect(Vector512.Create(0xFFFF_FFFF_0000_0000UL).AsInt32(), odd.AsInt32(), even.AsInt32());
        return Avx512F.ShiftRightArithmeticVariable(q, t.RightShift);
    }

    /// <summary>
    /// Four rows of sixteen int32 results (zero point included) to 64 saturated, clamped int8, row r's sixteen in
    /// bytes 16r..16r+15: two vpackssdw and one vpacksswb (per 128-bit lane: four channels of each row), then one
    /// vpermd.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector512<sbyte> PackAvx512(Vector512<int> y0, Vector512<int> y1, Vector512<int> y2, Vector512<int> y3)
    {
        Vector512<sbyte> v = Avx512BW.PackSignedSaturate(Avx512BW.PackSignedSaturate(y0, y1), Avx512BW.PackSignedSaturate(y2, y3));
        v = Avx512F.PermuteVar16x32(v.AsInt32(), Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)).AsSByte();
        return ClampAvx512(v);
    }

    /// <summary>
    /// <see cref="StoreAvx2Rows"/> for a 16-channel panel in the folded ReLU form on 512-bit vectors: a row's two
    /// accumulator vectors are one zmm, and four rows share one narrowing (<see cref="PackAvx512"/>). Rows past
    /// <paramref name="rows"/>, to a multiple of four, are read from <paramref name="acc"/> and dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal readonly unsafe void StoreAvx512Rows16(Vector256<int>* acc, int rows, sbyte* y, int stride, int c, int count)
    {
        Avx512Channels16 t = LoadAvx512(c);
        for (int r = 0; r < rows; r += 4)
        {
            int* a = (int*)(acc + 2 * r);
            Vector512<sbyte> v = PackAvx512(Avx512ReluMbqm(Vector512.Load(a), t), Avx512ReluMbqm(Vector512.Load(a + 16), t),
                Avx512ReluMbqm(Vector512.Load(a + 32), t), Avx512ReluMbqm(Vector512.Load(a + 48), t));
            sbyte* d = y + (long)r * stride;
            Vector256<sbyte> lo = v.GetLower(), hi = v.GetUpper();
            if (count == 16 && rows - r >= 4)
            {
                lo.GetLower().Store(d);
                lo.GetUpper().Store(d + stride);
                hi.GetLower().Store(d + 2 * (long)stride);
                hi.GetUpper().Store(d + 3 * (long)stride);
                continue;
            }

            int last = Math.Min(4, rows - r);
            StoreBytes(lo.GetLower(), d, count);
            if (last > 1)
            {
                StoreBytes(lo.GetUpper(), d + stride, count);
            }

            if (last > 2)
            {
                StoreBytes(hi.GetLower(), d + 2 * (long)stride, count);
            }

            if (last > 3)
            {
                StoreBytes(hi.GetUpper(), d + 3 * (long)stride, count);
            }
        }
    }

    /// <summary>The fused activation's clamp on 64 int8 results, when it is narrower than the saturation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal readonly Vector512<sbyte> ClampAvx512(Vector512<sbyte> v)
        => ClampIsSaturation ? v : Avx512BW.Min(Avx512BW.Max(v, Vector512.Create((sbyte)Min)), Vector512.Create((sbyte)Max));
}
