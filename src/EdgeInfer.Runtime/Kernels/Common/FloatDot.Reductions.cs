using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// Canonical sums and maxima along a contiguous row (Softmax over the last axis): the dot product's order with the
/// fused multiply-add by one replaced by an addition (the same rounding) or by IEEE maximum with lanes starting at −∞.
/// </summary>
internal static partial class FloatDot
{
    /// <summary>Σ x[i] over <paramref name="length"/> elements in the canonical order.</summary>
    public static float Sum(KernelPath path, ref float x, int length)
    {
        int k8 = length & ~7;
        float s;
        if (KernelPaths.UsesAvx2(path))
        {
            Vector256<float> acc = default;
            for (int k = 0; k < k8; k += 8)
            {
                acc += Vector256.LoadUnsafe(ref x, (nuint)k);
            }

            s = Reduce(acc.GetLower() + acc.GetUpper());
        }
        else if (path != KernelPath.Scalar && Vector128.IsHardwareAccelerated)
        {
            Vector128<float> lo = default, hi = default;
            for (int k = 0; k < k8; k += 8)
            {
                lo += Vector128.LoadUnsafe(ref x, (nuint)k);
                hi += Vector128.LoadUnsafe(ref x, (nuint)(k + 4));
            }

            s = Reduce(lo + hi);
        }
        else
        {
            float l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;
            for (int k = 0; k < k8; k += 8)
            {
                l0 += Unsafe.Add(ref x, k);
                l1 += Unsafe.Add(ref x, k + 1);
                l2 += Unsafe.Add(ref x, k + 2);
                l3 += Unsafe.Add(ref x, k + 3);
                l4 += Unsafe.Add(ref x, k + 4);
                l5 += Unsafe.Add(ref x, k + 5);
                l6 += Unsafe.Add(ref x, k + 6);
                l7 += Unsafe.Add(ref x, k + 7);
            }

            s = Reduce(l0 + l4, l1 + l5, l2 + l6, l3 + l7);
        }

        for (int k = k8; k < length; k++)
        {
            s += Unsafe.Add(ref x, k);
        }

        return s;
    }

    /// <summary>The IEEE maximum of x[i] (NaN if any is NaN) in the canonical order; −∞ for an empty row.</summary>
    public static float Max(KernelPath path, ref float x, int length)
    {
        int k8 = length & ~7;
        float s;
        if (KernelPaths.UsesAvx2(path))
        {
            Vector256<float> acc = Vector256.Create(float.NegativeInfinity);
            for (int k = 0; k < k8; k += 8)
            {
                acc = Vector256.Max(acc, Vector256.LoadUnsafe(ref x, (nuint)k));
            }

            s = ReduceMax(Vector128.Max(acc.GetLower(), acc.GetUpper()));
        }
        else if (path != KernelPath.Scalar && Vector128.IsHardwareAccelerated)
        {
            Vector128<float> lo = Vector128.Create(float.NegativeInfinity), hi = lo;
            for (int k = 0; k < k8; k += 8)
            {
                lo = Vector128.Max(lo, Vector128.LoadUnsafe(ref x, (nuint)k));
                hi = Vector128.Max(hi, Vector128.LoadUnsafe(ref x, (nuint)(k + 4)));
            }

            s = ReduceMax(Vector128.Max(lo, hi));
        }
        else
        {
            float l0 = float.NegativeInfinity, l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0;
            for (int k = 0; k < k8; k += 8)
            {
                l0 = MathF.Max(l0, Unsafe.Add(ref x, k));
                l1 = MathF.Max(l1, Unsafe.Add(ref x, k + 1));
                l2 = MathF.Max(l2, Unsafe.Add(ref x, k + 2));
                l3 = MathF.Max(l3, Unsafe.Add(ref x, k + 3));
                l4 = MathF.Max(l4, Unsafe.Add(ref x, k + 4));
                l5 = MathF.Max(l5, Unsafe.Add(ref x, k + 5));
                l6 = MathF.Max(l6, Unsafe.Add(ref x, k + 6));
                l7 = MathF.Max(l7, Unsafe.Add(ref x, k + 7));
            }

            s = ReduceMax(MathF.Max(l0, l4), MathF.Max(l1, l5), MathF.Max(l2, l6), MathF.Max(l3, l7));
        }

        for (int k = k8; k < length; k++)
        {
            s = MathF.Max(s, Unsafe.Add(ref x, k));
        }

        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReduceMax(float m0, float m1, float m2, float m3) => MathF.Max(MathF.Max(m0, m2), MathF.Max(m1, m3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReduceMax(Vector128<float> m) => ReduceMax(m.GetElement(0), m.GetElement(1), m.GetElement(2), m.GetElement(3));
}
