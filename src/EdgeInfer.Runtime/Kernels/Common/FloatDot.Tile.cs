using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// The register tile of the matrix products (<see cref="FloatGemm"/>): up to two rows of A against up to four rows
/// of Bᵀ, eight canonical dot products at once. Each A vector load serves four products and each B load two, which
/// is what the single dot product lacks (one load per FMA). Each of the eight outputs is still accumulated in the
/// canonical order of <see cref="FloatDot"/>, so a tile gives the bits of eight separate <see cref="FloatDot.Dot"/> calls.
/// </summary>
internal static unsafe partial class FloatDot
{
    /// <summary>
    /// c0[j] = dot(a0, b_j) and, when <paramref name="rows"/> is 2, c1[j] = dot(a1, b_j), for j &lt; <paramref name="cols"/>.
    /// Callers point unused rows at a valid row (a1 = a0, b_j = b0); their products are computed and discarded.
    /// </summary>
    public static void Tile2x4(KernelPath path, float* a0, float* a1, float* b0, float* b1, float* b2, float* b3, int length,
        float* c0, float* c1, int rows, int cols)
    {
        if (path == KernelPath.Avx2 && Vector256.IsHardwareAccelerated)
        {
            Tile2x4Vector256(a0, a1, b0, b1, b2, b3, length, c0, c1, rows, cols);
        }
        else if (path != KernelPath.Scalar && Vector128.IsHardwareAccelerated)
        {
            Tile2x4Vector128(a0, a1, b0, b1, b2, b3, length, c0, c1, rows, cols);
        }
        else
        {
            Tile2x4Scalar(a0, a1, b0, b1, b2, b3, length, c0, c1, rows, cols);
        }
    }

    private static void Tile2x4Scalar(float* a0, float* a1, float* b0, float* b1, float* b2, float* b3, int length,
        float* c0, float* c1, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            float* a = r == 0 ? a0 : a1;
            float* c = r == 0 ? c0 : c1;
            c[0] = DotScalar(ref *a, ref *b0, length);
            if (cols > 1) c[1] = DotScalar(ref *a, ref *b1, length);
            if (cols > 2) c[2] = DotScalar(ref *a, ref *b2, length);
            if (cols > 3) c[3] = DotScalar(ref *a, ref *b3, length);
        }
    }

    private static void Tile2x4Vector128(float* a0, float* a1, float* b0, float* b1, float* b2, float* b3, int length,
        float* c0, float* c1, int rows, int cols)
    {
        // Lanes 0-3 of each canonical eight live in *Lo, lanes 4-7 in *Hi.
        Vector128<float> s00Lo = default, s00Hi = default, s01Lo = default, s01Hi = default;
        Vector128<float> s02Lo = default, s02Hi = default, s03Lo = default, s03Hi = default;
        Vector128<float> s10Lo = default, s10Hi = default, s11Lo = default, s11Hi = default;
        Vector128<float> s12Lo = default, s12Hi = default, s13Lo = default, s13Hi = default;
        int k8 = length & ~7;
        for (int k = 0; k < k8; k += 8)
        {
            Vector128<float> x0Lo = Vector128.Load(a0 + k), x0Hi = Vector128.Load(a0 + k + 4);
            Vector128<float> x1Lo = Vector128.Load(a1 + k), x1Hi = Vector128.Load(a1 + k + 4);
            Vector128<float> wLo = Vector128.Load(b0 + k), wHi = Vector128.Load(b0 + k + 4);
            s00Lo = Vector128.FusedMultiplyAdd(x0Lo, wLo, s00Lo);
            s00Hi = Vector128.FusedMultiplyAdd(x0Hi, wHi, s00Hi);
            s10Lo = Vector128.FusedMultiplyAdd(x1Lo, wLo, s10Lo);
            s10Hi = Vector128.FusedMultiplyAdd(x1Hi, wHi, s10Hi);
            wLo = Vector128.Load(b1 + k);
            wHi = Vector128.Load(b1 + k + 4);
            s01Lo = Vector128.FusedMultiplyAdd(x0Lo, wLo, s01Lo);
            s01Hi = Vector128.FusedMultiplyAdd(x0Hi, wHi, s01Hi);
            s11Lo = Vector128.FusedMultiplyAdd(x1Lo, wLo, s11Lo);
            s11Hi = Vector128.FusedMultiplyAdd(x1Hi, wHi, s11Hi);
            wLo = Vector128.Load(b2 + k);
            wHi = Vector128.Load(b2 + k + 4);
            s02Lo = Vector128.FusedMultiplyAdd(x0Lo, wLo, s02Lo);
            s02Hi = Vector128.FusedMultiplyAdd(x0Hi, wHi, s02Hi);
            s12Lo = Vector128.FusedMultiplyAdd(x1Lo, wLo, s12Lo);
            s12Hi = Vector128.FusedMultiplyAdd(x1Hi, wHi, s12Hi);
            wLo = Vector128.Load(b3 + k);
            wHi = Vector128.Load(b3 + k + 4);
            s03Lo = Vector128.FusedMultiplyAdd(x0Lo, wLo, s03Lo);
            s03Hi = Vector128.FusedMultiplyAdd(x0Hi, wHi, s03Hi);
            s13Lo = Vector128.FusedMultiplyAdd(x1Lo, wLo, s13Lo);
            s13Hi = Vector128.FusedMultiplyAdd(x1Hi, wHi, s13Hi);
        }

        StoreRow(a0, b0, b1, b2, b3, k8, length, c0, cols, s00Lo + s00Hi, s01Lo + s01Hi, s02Lo + s02Hi, s03Lo + s03Hi);
        if (rows > 1)
        {
            StoreRow(a1, b0, b1, b2, b3, k8, length, c1, cols, s10Lo + s10Hi, s11Lo + s11Hi, s12Lo + s12Hi, s13Lo + s13Hi);
        }
    }

    private static void Tile2x4Vector256(float* a0, float* a1, float* b0, float* b1, float* b2, float* b3, int length,
        float* c0, float* c1, int rows, int cols)
    {
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
        int k8 = length & ~7;
        for (int k = 0; k < k8; k += 8)
        {
            Vector256<float> x0 = Vector256.Load(a0 + k);
            Vector256<float> x1 = Vector256.Load(a1 + k);
            Vector256<float> w = Vector256.Load(b0 + k);
            s00 = Vector256.FusedMultiplyAdd(x0, w, s00);
            s10 = Vector256.FusedMultiplyAdd(x1, w, s10);
            w = Vector256.Load(b1 + k);
            s01 = Vector256.FusedMultiplyAdd(x0, w, s01);
            s11 = Vector256.FusedMultiplyAdd(x1, w, s11);
            w = Vector256.Load(b2 + k);
            s02 = Vector256.FusedMultiplyAdd(x0, w, s02);
            s12 = Vector256.FusedMultiplyAdd(x1, w, s12);
            w = Vector256.Load(b3 + k);
            s03 = Vector256.FusedMultiplyAdd(x0, w, s03);
            s13 = Vector256.FusedMultiplyAdd(x1, w, s13);
        }

        StoreRow(a0, b0, b1, b2, b3, k8, length, c0, cols,
            s00.GetLower() + s00.GetUpper(), s01.GetLower() + s01.GetUpper(), s02.GetLower() + s02.GetUpper(), s03.GetLower() + s03.GetUpper());
        if (rows > 1)
        {
            StoreRow(a1, b0, b1, b2, b3, k8, length, c1, cols,
                s10.GetLower() + s10.GetUpper(), s11.GetLower() + s11.GetUpper(), s12.GetLower() + s12.GetUpper(), s13.GetLower() + s13.GetUpper());
        }
    }

    /// <summary>
    /// Finishes four products of one row from their folded lanes m_j = l_j + l_{j+4}: the canonical tree
    /// (m0 + m2) + (m1 + m3), then the tail. The tree is done for four outputs at once by a 4×4 transpose (each
    /// output's additions are unchanged, they only happen in different lanes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* a, float* b0, float* b1, float* b2, float* b3, int k8, int length, float* c, int cols,
        Vector128<float> m0, Vector128<float> m1, Vector128<float> m2, Vector128<float> m3)
    {
        // Transpose so that tN holds element N of m0..m3; then (t0 + t2) + (t1 + t3) is the tree for all four.
        Vector128<float> t0 = Vector128.Create(m0.GetElement(0), m1.GetElement(0), m2.GetElement(0), m3.GetElement(0));
        Vector128<float> t1 = Vector128.Create(m0.GetElement(1), m1.GetElement(1), m2.GetElement(1), m3.GetElement(1));
        Vector128<float> t2 = Vector128.Create(m0.GetElement(2), m1.GetElement(2), m2.GetElement(2), m3.GetElement(2));
        Vector128<float> t3 = Vector128.Create(m0.GetElement(3), m1.GetElement(3), m2.GetElement(3), m3.GetElement(3));
        Vector128<float> s = (t0 + t2) + (t1 + t3);
        if (k8 == length && cols == 4)
        {
            Vector128.Store(s, c);
            return;
        }

        c[0] = Tail(a, b0, k8, length, s.GetElement(0));
        if (cols > 1) c[1] = Tail(a, b1, k8, length, s.GetElement(1));
        if (cols > 2) c[2] = Tail(a, b2, k8, length, s.GetElement(2));
        if (cols > 3) c[3] = Tail(a, b3, k8, length, s.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(float* a, float* b, int from, int length, float s)
    {
        for (int k = from; k < length; k++)
        {
            s = MathF.FusedMultiplyAdd(a[k], b[k], s);
        }

        return s;
    }
}
