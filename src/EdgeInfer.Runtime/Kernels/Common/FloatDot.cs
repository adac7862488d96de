using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// Float dot products in the one accumulation order every kernel path shares, so that the scalar, 128-bit and
/// 256-bit paths produce identical bits:
/// <list type="number">
/// <item>eight lanes: lane j accumulates a[k]·b[k] for k ≡ j (mod 8), k &lt; K8 = K − K mod 8, in increasing k,
/// each step one fused multiply-add (one rounding);</item>
/// <item>the lanes reduce as m_j = l_j + l_{j+4} (j = 0..3), then s = (m0 + m2) + (m1 + m3);</item>
/// <item>the tail k = K8..K−1 continues s with fused multiply-adds in increasing k.</item>
/// </list>
/// The 256-bit path holds the eight lanes in one vector, the 128-bit path in two, the scalar path in eight locals.
/// <para>Every float reduction in the runtime uses this order over its ordered list of terms, whatever the layout
/// it reads them from: a sum is the dot product with ones (each step l + x·1 is the plain sum), a maximum replaces
/// the additions by IEEE maximum (lanes start at −∞). So an output's bits depend on its terms alone, not on the
/// path, nor on whether the kernel vectorizes along the terms (FloatDot.Tile2x4, Sum, Max) or across independent
/// outputs with eight accumulators per lane (<see cref="FloatColumns"/>).</para>
/// </summary>
internal static partial class FloatDot
{
    /// <summary>Σ a[i]·b[i] over <paramref name="length"/> elements in the canonical order.</summary>
    public static float Dot(KernelPath path, ref float a, ref float b, int length)
    {
        Unsafe.SkipInit(out float r0);
        Unsafe.SkipInit(out float r1);
        Unsafe.SkipInit(out float r2);
        Unsafe.SkipInit(out float r3);
        Dot4(path, ref a, ref b, ref b, ref b, ref b, length, 1, ref r0, ref r1, ref r2, ref r3);
        return r0;
    }

    /// <summary>
    /// The canonical dot products of one vector <paramref name="a"/> with <paramref name="count"/> (1-4) vectors
    /// b0..b3; sharing the loads of <paramref name="a"/> is what makes this faster than four calls.
    /// </summary>
    public static void Dot4(KernelPath path, ref float a, ref float b0, ref float b1, ref float b2, ref float b3, int length, int count,
        ref float r0, ref float r1, ref float r2, ref float r3)
    {
        if (path == KernelPath.Avx2 && Vector256.IsHardwareAccelerated)
        {
            Dot4Vector256(ref a, ref b0, ref b1, ref b2, ref b3, length, count, ref r0, ref r1, ref r2, ref r3);
        }
        else if (path != KernelPath.Scalar && Vector128.IsHardwareAccelerated)
        {
            Dot4Vector128(ref a, ref b0, ref b1, ref b2, ref b3, length, count, ref r0, ref r1, ref r2, ref r3);
        }
        else
        {
            r0 = DotScalar(ref a, ref b0, length);
            if (count > 1) r1 = DotScalar(ref a, ref b1, length);
            if (count > 2) r2 = DotScalar(ref a, ref b2, length);
            if (count > 3) r3 = DotScalar(ref a, ref b3, length);
        }
    }

    /// <summary>The reference: eight named accumulators, exactly the lanes of the vector paths.</summary>
    public static float DotScalar(ref float a, ref float b, int length)
    {
        float l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;
        int k8 = length & ~7;
        for (int k = 0; k < k8; k += 8)
        {
            l0 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k), Unsafe.Add(ref b, k), l0);
            l1 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k + 1), Unsafe.Add(ref b, k + 1), l1);
            l2 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k + 2), Unsafe.Add(ref b, k + 2), l2);
            l3 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k + 3), Unsafe.Add(ref b, k + 3), l3);
            l4 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k + 4), Unsafe.Add(ref b, k + 4), l4);
            l5 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k + 5), Unsafe.Add(ref b, k + 5), l5);
            l6 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k + 6), Unsafe.Add(ref b, k + 6), l6);
            l7 = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k + 7), Unsafe.Add(ref b, k + 7), l7);
        }

        float s = Reduce(l0 + l4, l1 + l5, l2 + l6, l3 + l7);
        return Tail(ref a, ref b, k8, length, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(float m0, float m1, float m2, float m3) => (m0 + m2) + (m1 + m3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(Vector128<float> m) => Reduce(m.GetElement(0), m.GetElement(1), m.GetElement(2), m.GetElement(3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(ref float a, ref float b, int from, int length, float s)
    {
        for (int k = from; k < length; k++)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, k), Unsafe.Add(ref b, k), s);
        }

        return s;
    }

    private static void Dot4Vector128(ref float a, ref float b0, ref float b1, ref float b2, ref float b3, int length, int count,
        ref float r0, ref float r1, ref float r2, ref float r3)
    {
        // Lanes 0-3 of the canonical eight live in *Lo, lanes 4-7 in *Hi. Unused rows alias b0 and are discarded.
        if (count < 2) b1 = ref b0;
        if (count < 3) b2 = ref b0;
        if (count < 4) b3 = ref b0;
        Vector128<float> lo0 = default, hi0 = default, lo1 = default, hi1 = default;
        Vector128<float> lo2 = default, hi2 = default, lo3 = default, hi3 = default;
        int k8 = length & ~7;
        for (int k = 0; k < k8; k += 8)
        {
            Vector128<float> aLo = Vector128.LoadUnsafe(ref a, (nuint)k);
            Vector128<float> aHi = Vector128.LoadUnsafe(ref a, (nuint)(k + 4));
            lo0 = Vector128.FusedMultiplyAdd(aLo, Vector128.LoadUnsafe(ref b0, (nuint)k), lo0);
            hi0 = Vector128.FusedMultiplyAdd(aHi, Vector128.LoadUnsafe(ref b0, (nuint)(k + 4)), hi0);
            lo1 = Vector128.FusedMultiplyAdd(aLo, Vector128.LoadUnsafe(ref b1, (nuint)k), lo1);
            hi1 = Vector128.FusedMultiplyAdd(aHi, Vector128.LoadUnsafe(ref b1, (nuint)(k + 4)), hi1);
            lo2 = Vector128.FusedMultiplyAdd(aLo, Vector128.LoadUnsafe(ref b2, (nuint)k), lo2);
            hi2 = Vector128.FusedMultiplyAdd(aHi, Vector128.LoadUnsafe(ref b2, (nuint)(k + 4)), hi2);
            lo3 = Vector128.FusedMultiplyAdd(aLo, Vector128.LoadUnsafe(ref b3, (nuint)k), lo3);
            hi3 = Vector128.FusedMultiplyAdd(aHi, Vector128.LoadUnsafe(ref b3, (nuint)(k + 4)), hi3);
        }

        r0 = Tail(ref a, ref b0, k8, length, Reduce(lo0 + hi0));
        if (count > 1) r1 = Tail(ref a, ref b1, k8, length, Reduce(lo1 + hi1));
        if (count > 2) r2 = Tail(ref a, ref b2, k8, length, Reduce(lo2 + hi2));
        if (count > 3) r3 = Tail(ref a, ref b3, k8, length, Reduce(lo3 + hi3));
    }

    private static void Dot4Vector256(ref float a, ref float b0, ref float b1, ref float b2, ref float b3, int length, int count,
        ref float r0, ref float r1, ref float r2, ref float r3)
    {
        if (count < 2) b1 = ref b0;
        if (count < 3) b2 = ref b0;
        if (count < 4) b3 = ref b0;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        int k8 = length & ~7;
        for (int k = 0; k < k8; k += 8)
        {
            Vector256<float> va = Vector256.LoadUnsafe(ref a, (nuint)k);
            acc0 = Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref b0, (nuint)k), acc0);
            acc1 = Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref b1, (nuint)k), acc1);
            acc2 = Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref b2, (nuint)k), acc2);
            acc3 = Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref b3, (nuint)k), acc3);
        }

        r0 = Tail(ref a, ref b0, k8, length, Reduce(acc0.GetLower() + acc0.GetUpper()));
        if (count > 1) r1 = Tail(ref a, ref b1, k8, length, Reduce(acc1.GetLower() + acc1.GetUpper()));
        if (count > 2) r2 = Tail(ref a, ref b2, k8, length, Reduce(acc2.GetLower() + acc2.GetUpper()));
        if (count > 3) r3 = Tail(ref a, ref b3, k8, length, Reduce(acc3.GetLower() + acc3.GetUpper()));
    }
}
