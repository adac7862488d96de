using System.Runtime.CompilerServices;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// Canonical reductions computed for many independent outputs at once: the terms of output c are elements
/// (or element products) at the same column c of several rows, and the vector runs across the columns (channels),
/// so lanes never mix. Each lane keeps the eight canonical accumulators of <see cref="FloatDot"/> — term t goes to
/// accumulator t mod 8 for t below the last multiple of eight, then the fixed tree, then the tail in order — so a
/// lane computes exactly what the scalar instantiation computes for its column, and what FloatDot would compute for
/// the same list of terms laid out contiguously. The one exception is <see cref="ChainTaps{T}"/>: a dot product, so it
/// follows the sequential order of the matrix products (<see cref="FloatGemm"/>).
/// <para>Rows are given either as a pointer per term (<c>taps</c>: pooling windows and depthwise taps, where padded
/// or clipped positions are left out or point at a zero row) or as a base and a stride (global pooling, Softmax over
/// a non-last axis).</para>
/// </summary>
internal static unsafe class FloatColumns
{
    /// <summary>
    /// Σ_t taps[t][c] · weights[t·weightStride + c] as the products' order of <see cref="FloatGemm"/> (depthwise
    /// convolution): one sequential chain of fused multiply-adds per lane from zero over t = 0..count−1, not the
    /// eight-accumulator order of the plain sums below.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T ChainTaps<T>(float** taps, int count, float* weights, nint weightStride, nint c) where T : struct, IFloatVector<T>
    {
        T s = T.Zero;
        for (int t = 0; t < count; t++)
        {
            s = T.FusedMultiplyAdd(T.Load(ref *taps[t], c), T.Load(ref *weights, t * weightStride + c), s);
        }

        return s;
    }

    /// <summary>Σ_t taps[t][c], for the lanes starting at column c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SumTaps<T>(float** taps, int count, nint c) where T : struct, IFloatVector<T>
    {
        T l0 = T.Zero, l1 = T.Zero, l2 = T.Zero, l3 = T.Zero, l4 = T.Zero, l5 = T.Zero, l6 = T.Zero, l7 = T.Zero;
        int t8 = count & ~7;
        int t = 0;
        for (; t < t8; t += 8)
        {
            l0 += T.Load(ref *taps[t], c);
            l1 += T.Load(ref *taps[t + 1], c);
            l2 += T.Load(ref *taps[t + 2], c);
            l3 += T.Load(ref *taps[t + 3], c);
            l4 += T.Load(ref *taps[t + 4], c);
            l5 += T.Load(ref *taps[t + 5], c);
            l6 += T.Load(ref *taps[t + 6], c);
            l7 += T.Load(ref *taps[t + 7], c);
        }

        T s = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));
        for (; t < count; t++)
        {
            s += T.Load(ref *taps[t], c);
        }

        return s;
    }

    /// <summary>The IEEE maximum over t of taps[t][c] (lanes start at −∞), for the lanes starting at column c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxTaps<T>(float** taps, int count, nint c) where T : struct, IFloatVector<T>
    {
        T l0 = T.Create(float.NegativeInfinity), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0;
        int t8 = count & ~7;
        int t = 0;
        for (; t < t8; t += 8)
        {
            l0 = T.Max(l0, T.Load(ref *taps[t], c));
            l1 = T.Max(l1, T.Load(ref *taps[t + 1], c));
            l2 = T.Max(l2, T.Load(ref *taps[t + 2], c));
            l3 = T.Max(l3, T.Load(ref *taps[t + 3], c));
            l4 = T.Max(l4, T.Load(ref *taps[t + 4], c));
            l5 = T.Max(l5, T.Load(ref *taps[t + 5], c));
            l6 = T.Max(l6, T.Load(ref *taps[t + 6], c));
            l7 = T.Max(l7, T.Load(ref *taps[t + 7], c));
        }

        T s = T.Max(T.Max(T.Max(l0, l4), T.Max(l2, l6)), T.Max(T.Max(l1, l5), T.Max(l3, l7)));
        for (; t < count; t++)
        {
            s = T.Max(s, T.Load(ref *taps[t], c));
        }

        return s;
    }

    /// <summary>Σ_t x[t·stride + c], for the lanes starting at column c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SumStrided<T>(float* x, int count, nint stride, nint c) where T : struct, IFloatVector<T>
    {
        T l0 = T.Zero, l1 = T.Zero, l2 = T.Zero, l3 = T.Zero, l4 = T.Zero, l5 = T.Zero, l6 = T.Zero, l7 = T.Zero;
        int t8 = count & ~7;
        int t = 0;
        ref float p = ref x[c];
        for (; t < t8; t += 8)
        {
            nint row = t * stride;
            l0 += T.Load(ref p, row);
            l1 += T.Load(ref p, row + stride);
            l2 += T.Load(ref p, row + 2 * stride);
            l3 += T.Load(ref p, row + 3 * stride);
            l4 += T.Load(ref p, row + 4 * stride);
            l5 += T.Load(ref p, row + 5 * stride);
            l6 += T.Load(ref p, row + 6 * stride);
            l7 += T.Load(ref p, row + 7 * stride);
        }

        T s = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));
        for (; t < count; t++)
        {
            s += T.Load(ref p, t * stride);
        }

        return s;
    }

    /// <summary>The IEEE maximum over t of x[t·stride + c] (lanes start at −∞), for the lanes starting at column c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxStrided<T>(float* x, int count, nint stride, nint c) where T : struct, IFloatVector<T>
    {
        T l0 = T.Create(float.NegativeInfinity), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0, l7 = l0;
        int t8 = count & ~7;
        int t = 0;
        ref float p = ref x[c];
        for (; t < t8; t += 8)
        {
            nint row = t * stride;
            l0 = T.Max(l0, T.Load(ref p, row));
            l1 = T.Max(l1, T.Load(ref p, row + stride));
            l2 = T.Max(l2, T.Load(ref p, row + 2 * stride));
            l3 = T.Max(l3, T.Load(ref p, row + 3 * stride));
            l4 = T.Max(l4, T.Load(ref p, row + 4 * stride));
            l5 = T.Max(l5, T.Load(ref p, row + 5 * stride));
            l6 = T.Max(l6, T.Load(ref p, row + 6 * stride));
            l7 = T.Max(l7, T.Load(ref p, row + 7 * stride));
        }

        T s = T.Max(T.Max(T.Max(l0, l4), T.Max(l2, l6)), T.Max(T.Max(l1, l5), T.Max(l3, l7)));
        for (; t < count; t++)
        {
            s = T.Max(s, T.Load(ref p, t * stride));
        }

        return s;
    }
}
