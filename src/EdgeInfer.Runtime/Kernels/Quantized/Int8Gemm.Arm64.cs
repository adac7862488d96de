using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeInfer.Runtime.Kernels.Quantized;

// arm64 micro-kernels, 16 accumulator registers each.
// Vector128 (Cortex-A53/A72), K > 8, symmetric weights: 4 rows × 4 channels, int8 weights in 16-byte k-blocks; SMULL and
//   SMLAL2 multiply 16 k of one row by 16 k of one channel into int16 pairs, SADALP adds the pairs into int32.
// Vector128 otherwise (K ≤ 8, or a weight of −128): 4 rows × 16 channels, int16 weights, k-major; SMLAL/SMLAL2 by lane of X.
// DotProduct (Cortex-A76): 4 rows × 16 channels, int8 weights in k-quads; SDOT by element, four products per lane.
internal unsafe partial struct Int8Gemm
{
    private readonly void RunNeon(short* strip, int rows, sbyte* y, int outputStride, int nb, int ne)
    {
        int kp = _paddedDepth;
        short* x0p = strip;
        short* x1p = strip + kp;
        short* x2p = strip + 2 * kp;
        short* x3p = strip + 3 * kp;
        fixed (short* packed = _packed16)
        {
            for (int n0 = nb; n0 < ne; n0 += 16)
            {
                short* w = packed + (long)n0 * kp;
                Tile4x16 t = default;
                if (PanelWidth(_units, n0) == 16)
                {
                    for (int kb = 0; kb < kp; kb += 8, w += 128)
                    {
                        Vector128<short> x0 = AdvSimd.LoadVector128(x0p + kb), x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<short> x2 = AdvSimd.LoadVector128(x2p + kb), x3 = AdvSimd.LoadVector128(x3p + kb);
                        t.Smlal16(w, x0, x1, x2, x3, 0);
                        t.Smlal16(w + 16, x0, x1, x2, x3, 1);
                        t.Smlal16(w + 32, x0, x1, x2, x3, 2);
                        t.Smlal16(w + 48, x0, x1, x2, x3, 3);
                        t.Smlal16(w + 64, x0, x1, x2, x3, 4);
                        t.Smlal16(w + 80, x0, x1, x2, x3, 5);
                        t.Smlal16(w + 96, x0, x1, x2, x3, 6);
                        t.Smlal16(w + 112, x0, x1, x2, x3, 7);
                    }
                }
                else
                {
                    for (int kb = 0; kb < kp; kb += 8, w += 64)
                    {
                        Vector128<short> x0 = AdvSimd.LoadVector128(x0p + kb), x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<short> x2 = AdvSimd.LoadVector128(x2p + kb), x3 = AdvSimd.LoadVector128(x3p + kb);
                        t.Smlal8(w, x0, x1, x2, x3, 0);
                        t.Smlal8(w + 8, x0, x1, x2, x3, 1);
                        t.Smlal8(w + 16, x0, x1, x2, x3, 2);
                        t.Smlal8(w + 24, x0, x1, x2, x3, 3);
                        t.Smlal8(w + 32, x0, x1, x2, x3, 4);
                        t.Smlal8(w + 40, x0, x1, x2, x3, 5);
                        t.Smlal8(w + 48, x0, x1, x2, x3, 6);
                        t.Smlal8(w + 56, x0, x1, x2, x3, 7);
                    }
                }

                StoreTile(ref t, rows, y + n0, outputStride, n0);
            }
        }
    }

    /// <summary>
    /// The Vector128 form for weights in [−127, 127]. Cortex-A72 issues integer vector multiplies on one pipe only,
    /// so SMLAL by lane gets 4 products per multiply; SMULL + SMLAL2 get 8 each (two per int16 lane, at most
    /// 2·128·127 = 32,512) and SADALP, which widens them into int32, issues on the other pipe: twice the products
    /// per multiply, and int8 weights stream half the bytes of int16 ones. Each accumulator holds one (row, channel)'s
    /// partial sums in four lanes, so a 4×4 tile fills the sixteen registers; four tiles make the 16-channel panel
    /// that one requantization step takes. Same integer sums as every other path.
    /// </summary>
    private readonly void RunSmull(sbyte* strip, int rows, sbyte* y, int outputStride, int nb, int ne)
    {
        int kp = _paddedDepth;
        fixed (sbyte* packed = _packed8)
        {
            for (int n0 = nb; n0 < ne; n0 += 16)
            {
                sbyte* w = packed + (long)n0 * kp;
                Quad4x4 q0 = SmullQuad(strip, w, kp), q1 = SmullQuad(strip, w + 4 * kp, kp);
                Quad4x4 q2 = default, q3 = default;
                if (PanelWidth(_units, n0) == 16)
                {
                    q2 = SmullQuad(strip, w + 8 * kp, kp);
                    q3 = SmullQuad(strip, w + 12 * kp, kp);
                }

                Tile4x16 t = new()
                {
                    A00 = q0.R0, A01 = q1.R0, A02 = q2.R0, A03 = q3.R0,
                    A10 = q0.R1, A11 = q1.R1, A12 = q2.R1, A13 = q3.R1,
                    A20 = q0.R2, A21 = q1.R2, A22 = q2.R2, A23 = q3.R2,
                    A30 = q0.R3, A31 = q1.R3, A32 = q2.R3, A33 = q3.R3,
                };
                StoreTile(ref t, rows, y + n0, outputStride, n0);
            }
        }
    }

    /// <summary>Four strip rows (int8, <paramref name="kp"/> apart) times one 4-channel panel: Σ_k x·w per row, channels in lane order.</summary>
    /// <remarks>The low halves are loaded as 64-bit vectors of their own: taken with GetLower() from the 128-bit loads,
    /// the JIT copies each into another register first, eight vector moves per step on the pipes the multiplies need.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Quad4x4 SmullQuad(sbyte* x, sbyte* w, int kp)
    {
        sbyte* x1p = x + kp, x2p = x + 2 * kp, x3p = x + 3 * kp;
        Vector128<int> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector128<int> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        for (int kb = 0; kb < kp; kb += 16, w += 64)
        {
            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w), w1 = AdvSimd.LoadVector128(w + 16);
            Vector128<sbyte> w2 = AdvSimd.LoadVector128(w + 32), w3 = AdvSimd.LoadVector128(w + 48);
            Vector64<sbyte> l0 = AdvSimd.LoadVector64(w), l1 = AdvSimd.LoadVector64(w + 16);
            Vector64<sbyte> l2 = AdvSimd.LoadVector64(w + 32), l3 = AdvSimd.LoadVector64(w + 48);
            Vector128<sbyte> xv = AdvSimd.LoadVector128(x + kb);
            Vector64<sbyte> xl = AdvSimd.LoadVector64(x + kb);
            a00 = Pairs(a00, l0, w0, xl, xv); a01 = Pairs(a01, l1, w1, xl, xv); a02 = Pairs(a02, l2, w2, xl, xv); a03 = Pairs(a03, l3, w3, xl, xv);
            xv = AdvSimd.LoadVector128(x1p + kb);
            xl = AdvSimd.LoadVector64(x1p + kb);
            a10 = Pairs(a10, l0, w0, xl, xv); a11 = Pairs(a11, l1, w1, xl, xv); a12 = Pairs(a12, l2, w2, xl, xv); a13 = Pairs(a13, l3, w3, xl, xv);
            xv = AdvSimd.LoadVector128(x2p + kb);
            xl = AdvSimd.LoadVector64(x2p + kb);
            a20 = Pairs(a20, l0, w0, xl, xv); a21 = Pairs(a21, l1, w1, xl, xv); a22 = Pairs(a22, l2, w2, xl, xv); a23 = Pairs(a23, l3, w3, xl, xv);
            xv = AdvSimd.LoadVector128(x3p + kb);
            xl = AdvSimd.LoadVector64(x3p + kb);
            a30 = Pairs(a30, l0, w0, xl, xv); a31 = Pairs(a31, l1, w1, xl, xv); a32 = Pairs(a32, l2, w2, xl, xv); a33 = Pairs(a33, l3, w3, xl, xv);
        }

        return new Quad4x4(Reduce4(a00, a01, a02, a03), Reduce4(a10, a11, a12, a13), Reduce4(a20, a21, a22, a23), Reduce4(a30, a31, a32, a33));
    }

    /// <summary>Sixteen products w·x into an int32x4 accumulator: SMULL (low halves) and SMLAL2 (high halves) put two
    /// in each int16 lane, SADALP adds lane pairs (exact for w ≠ −128, see <see cref="RunSmull"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> Pairs(Vector128<int> acc, Vector64<sbyte> wLow, Vector128<sbyte> w, Vector64<sbyte> xLow, Vector128<sbyte> x)
        => AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLower(wLow, xLow), w, x));

    /// <summary>Four rows' sums over one 4-channel panel (row r in R{r}, channel c in lane c).</summary>
    private readonly record struct Quad4x4(Vector128<int> R0, Vector128<int> R1, Vector128<int> R2, Vector128<int> R3);

    private readonly void RunDot(sbyte* strip, int rows, sbyte* y, int outputStride, int nb, int ne)
    {
        int kp = _paddedDepth;
        sbyte* x0p = strip;
        sbyte* x1p = strip + kp;
        sbyte* x2p = strip + 2 * kp;
        sbyte* x3p = strip + 3 * kp;
        fixed (sbyte* packed = _packed8)
        {
            for (int n0 = nb; n0 < ne; n0 += 16)
            {
                sbyte* w = packed + (long)n0 * kp;
                Tile4x16 t = default;
                if (PanelWidth(_units, n0) == 16)
                {
                    for (int kb = 0; kb < kp; kb += 16, w += 256)
                    {
                        Vector128<sbyte> x0 = AdvSimd.LoadVector128(x0p + kb), x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<sbyte> x2 = AdvSimd.LoadVector128(x2p + kb), x3 = AdvSimd.LoadVector128(x3p + kb);
                        t.Sdot16(w, x0, x1, x2, x3, 0);
                        t.Sdot16(w + 64, x0, x1, x2, x3, 1);
                        t.Sdot16(w + 128, x0, x1, x2, x3, 2);
                        t.Sdot16(w + 192, x0, x1, x2, x3, 3);
                    }
                }
                else
                {
                    for (int kb = 0; kb < kp; kb += 16, w += 128)
                    {
                        Vector128<sbyte> x0 = AdvSimd.LoadVector128(x0p + kb), x1 = AdvSimd.LoadVector128(x1p + kb);
                        Vector128<sbyte> x2 = AdvSimd.LoadVector128(x2p + kb), x3 = AdvSimd.LoadVector128(x3p + kb);
                        t.Sdot8(w, x0, x1, x2, x3, 0);
                        t.Sdot8(w + 32, x0, x1, x2, x3, 1);
                        t.Sdot8(w + 64, x0, x1, x2, x3, 2);
                        t.Sdot8(w + 96, x0, x1, x2, x3, 3);
                    }
                }

                StoreTile(ref t, rows, y + n0, outputStride, n0);
            }
        }
    }

    /// <summary>
    /// One row against W [N, K] read in place: the matrix–vector product of a FullyConnected with fewer than four
    /// rows (a classifier, every layer of an MLP). The 4×16 tile would compute four rows to keep one, and its
    /// int16-packed W would double the bytes a classifier streams from memory (MobileNet's is 1.28 MB as int8).
    /// Four output channels at a time share each 16-byte load of x. Vector128 (Cortex-A53/A72): SMULL and SMLAL2 put
    /// two products into each int16 lane, SADALP adds lane pairs into int32; exact because Create takes this form only
    /// when no weight is −128, so a lane holds at most 2·127·128 = 32,512. DotProduct (A76): SDOT adds four products
    /// per int32 lane. A K tail past the last 16 goes one product at a time. Same integer sums as every other path.
    /// </summary>
    private readonly void RunGemvArm64(sbyte* x, sbyte* y)
    {
        bool dot = UseDot(_path);
        for (int n0 = 0; n0 < _units; n0 += 16)
        {
            Vector128<int> s0 = dot ? Rows4<SdotStep>(x, n0) : Rows4<SmullStep>(x, n0);
            Vector128<int> s1 = dot ? Rows4<SdotStep>(x, n0 + 4) : Rows4<SmullStep>(x, n0 + 4);
            Vector128<int> s2 = dot ? Rows4<SdotStep>(x, n0 + 8) : Rows4<SmullStep>(x, n0 + 8);
            Vector128<int> s3 = dot ? Rows4<SdotStep>(x, n0 + 12) : Rows4<SmullStep>(x, n0 + 12);
            Int8Requantizer.StoreBytes(Requantizer.V128x16(s0, s1, s2, s3, n0), y + n0, Math.Min(16, _units - n0));
        }
    }

    /// <summary>W row n + i for i = 0..3; rows past N repeat row N − 1 (their sums are dropped), so W is never overread.</summary>
    private readonly sbyte* Row(int n) => _weights + (long)Math.Min(n, _units - 1) * _depth;

    /// <summary>Σ_k x·w of channels n..n+3, in channel order, sixteen k per <typeparamref name="TStep"/> (see <see cref="RunGemvArm64"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly Vector128<int> Rows4<TStep>(sbyte* x, int n)
        where TStep : struct, IGemvStep
    {
        sbyte* w0 = Row(n), w1 = Row(n + 1), w2 = Row(n + 2), w3 = Row(n + 3);
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
        int whole = _depth & ~15;
        for (int i = 0; i < whole; i += 16)
        {
            Vector128<sbyte> xv = AdvSimd.LoadVector128(x + i);
            Vector64<sbyte> xl = TStep.Low(x + i);
            a0 = TStep.Add(a0, w0 + i, xl, xv);
            a1 = TStep.Add(a1, w1 + i, xl, xv);
            a2 = TStep.Add(a2, w2 + i, xl, xv);
            a3 = TStep.Add(a3, w3 + i, xl, xv);
        }

        return Reduce4(a0, a1, a2, a3) + Tail4(x, w0, w1, w2, w3, whole);
    }

    /// <summary>How sixteen products w·x join an int32x4 accumulator; a type, so each form compiles to its own loop.</summary>
    private interface IGemvStep
    {
        /// <summary>The low eight bytes at <paramref name="p"/>, for a step that multiplies them (see <see cref="SmullQuad"/>'s remark).</summary>
        static abstract Vector64<sbyte> Low(sbyte* p);

        static abstract Vector128<int> Add(Vector128<int> acc, sbyte* w, Vector64<sbyte> xLow, Vector128<sbyte> x);
    }

    /// <summary>Two products per int16 lane (SMULL, SMLAL2), widened pairwise into int32 (SADALP): exact for w ≠ −128.</summary>
    private struct SmullStep : IGemvStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector64<sbyte> Low(sbyte* p) => AdvSimd.LoadVector64(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Add(Vector128<int> acc, sbyte* w, Vector64<sbyte> xLow, Vector128<sbyte> x)
            => Pairs(acc, AdvSimd.LoadVector64(w), AdvSimd.LoadVector128(w), xLow, x);
    }

    /// <summary>Four products per int32 lane (SDOT).</summary>
    private struct SdotStep : IGemvStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector64<sbyte> Low(sbyte* p) => default;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Add(Vector128<int> acc, sbyte* w, Vector64<sbyte> xLow, Vector128<sbyte> x) => Dp.DotProduct(acc, AdvSimd.LoadVector128(w), x);
    }

    /// <summary>The lane sums of four accumulators, in their order (two ADDP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> Reduce4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3)
        => AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3));

    /// <summary>Σ x·w over k = from..K−1 of four rows (the tail past the last whole 16).</summary>
    private readonly Vector128<int> Tail4(sbyte* x, sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, int from)
    {
        int t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (int i = from; i < _depth; i++)
        {
            t0 += x[i] * w0[i];
            t1 += x[i] * w1[i];
            t2 += x[i] * w2[i];
            t3 += x[i] * w3[i];
        }

        return Vector128.Create(t0, t1, t2, t3);
    }

    /// <summary>Requantizes and stores the first <paramref name="rows"/> (1–4) rows of a tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void StoreTile(ref Tile4x16 t, int rows, sbyte* y, int outputStride, int n0)
    {
        int count = Math.Min(16, _units - n0);
        Int8Requantizer.StoreBytes(Requantizer.V128x16(t.A00, t.A01, t.A02, t.A03, n0), y, count);
        if (rows > 1) Int8Requantizer.StoreBytes(Requantizer.V128x16(t.A10, t.A11, t.A12, t.A13, n0), y + outputStride, count);
        if (rows > 2) Int8Requantizer.StoreBytes(Requantizer.V128x16(t.A20, t.A21, t.A22, t.A23, n0), y + 2 * outputStride, count);
        if (rows > 3) Int8Requantizer.StoreBytes(Requantizer.V128x16(t.A30, t.A31, t.A32, t.A33, n0), y + 3 * outputStride, count);
    }

    /// <summary>
    /// The accumulators of the 4×16 tile, row r's channels 4j..4j+3 in A{r}{j} (the 8-channel panel uses j = 0, 1).
    /// A local of the kernel loops, which the JIT promotes to sixteen registers (checked in the arm64 disassembly: no
    /// stack traffic in the k loop). Each step takes one k (SMLAL: lane l of the rows' int16 X) or one k-quad (SDOT:
    /// quad q of the rows' int8 X) against that step's weights; the lane is an immediate of the by-element
    /// instructions, so every call passes a literal and the step is inlined.
    /// </summary>
    private struct Tile4x16
    {
        public Vector128<int> A00, A01, A02, A03, A10, A11, A12, A13, A20, A21, A22, A23, A30, A31, A32, A33;

        /// <summary>Sixteen channels' int16 weights for one k (w: channels 0–7, w + 8: 8–15) times x[lane] of each row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Smlal16(short* w, Vector128<short> x0, Vector128<short> x1, Vector128<short> x2, Vector128<short> x3,
            [ConstantExpected(Max = (byte)7)] byte lane)
        {
            Vector128<short> wa = AdvSimd.LoadVector128(w), wb = AdvSimd.LoadVector128(w + 8);
            Vector64<short> la = wa.GetLower(), lb = wb.GetLower();
            A00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A00, la, x0, lane);
            A01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A01, wa, x0, lane);
            A02 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A02, lb, x0, lane);
            A03 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A03, wb, x0, lane);
            A10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A10, la, x1, lane);
            A11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A11, wa, x1, lane);
            A12 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A12, lb, x1, lane);
            A13 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A13, wb, x1, lane);
            A20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A20, la, x2, lane);
            A21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A21, wa, x2, lane);
            A22 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A22, lb, x2, lane);
            A23 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A23, wb, x2, lane);
            A30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A30, la, x3, lane);
            A31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A31, wa, x3, lane);
            A32 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A32, lb, x3, lane);
            A33 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A33, wb, x3, lane);
        }

        /// <summary>Eight channels' int16 weights for one k times x[lane] of each row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Smlal8(short* w, Vector128<short> x0, Vector128<short> x1, Vector128<short> x2, Vector128<short> x3,
            [ConstantExpected(Max = (byte)7)] byte lane)
        {
            Vector128<short> wa = AdvSimd.LoadVector128(w);
            Vector64<short> la = wa.GetLower();
            A00 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A00, la, x0, lane);
            A01 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A01, wa, x0, lane);
            A10 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A10, la, x1, lane);
            A11 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A11, wa, x1, lane);
            A20 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A20, la, x2, lane);
            A21 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A21, wa, x2, lane);
            A30 = AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(A30, la, x3, lane);
            A31 = AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(A31, wa, x3, lane);
        }

        /// <summary>Sixteen channels' int8 k-quads (four channels per 16 bytes) times quad <paramref name="quad"/> of each row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Sdot16(sbyte* w, Vector128<sbyte> x0, Vector128<sbyte> x1, Vector128<sbyte> x2, Vector128<sbyte> x3,
            [ConstantExpected(Max = (byte)3)] byte quad)
        {
            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w), w1 = AdvSimd.LoadVector128(w + 16);
            Vector128<sbyte> w2 = AdvSimd.LoadVector128(w + 32), w3 = AdvSimd.LoadVector128(w + 48);
            A00 = Dp.DotProductBySelectedQuadruplet(A00, w0, x0, quad);
            A01 = Dp.DotProductBySelectedQuadruplet(A01, w1, x0, quad);
            A02 = Dp.DotProductBySelectedQuadruplet(A02, w2, x0, quad);
            A03 = Dp.DotProductBySelectedQuadruplet(A03, w3, x0, quad);
            A10 = Dp.DotProductBySelectedQuadruplet(A10, w0, x1, quad);
            A11 = Dp.DotProductBySelectedQuadruplet(A11, w1, x1, quad);
            A12 = Dp.DotProductBySelectedQuadruplet(A12, w2, x1, quad);
            A13 = Dp.DotProductBySelectedQuadruplet(A13, w3, x1, quad);
            A20 = Dp.DotProductBySelectedQuadruplet(A20, w0, x2, quad);
            A21 = Dp.DotProductBySelectedQuadruplet(A21, w1, x2, quad);
            A22 = Dp.DotProductBySelectedQuadruplet(A22, w2, x2, quad);
            A23 = Dp.DotProductBySelectedQuadruplet(A23, w3, x2, quad);
            A30 = Dp.DotProductBySelectedQuadruplet(A30, w0, x3, quad);
            A31 = Dp.DotProductBySelectedQuadruplet(A31, w1, x3, quad);
            A32 = Dp.DotProductBySelectedQuadruplet(A32, w2, x3, quad);
            A33 = Dp.DotProductBySelectedQuadruplet(A33, w3, x3, quad);
        }

        /// <summary>Eight channels' int8 k-quads times quad <paramref name="quad"/> of each row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Sdot8(sbyte* w, Vector128<sbyte> x0, Vector128<sbyte> x1, Vector128<sbyte> x2, Vector128<sbyte> x3,
            [ConstantExpected(Max = (byte)3)] byte quad)
        {
            Vector128<sbyte> w0 = AdvSimd.LoadVector128(w), w1 = AdvSimd.LoadVector128(w + 16);
            A00 = Dp.DotProductBySelectedQuadruplet(A00, w0, x0, quad);
            A01 = Dp.DotProductBySelectedQuadruplet(A01, w1, x0, quad);
            A10 = Dp.DotProductBySelectedQuadruplet(A10, w0, x1, quad);
            A11 = Dp.DotProductBySelectedQuadruplet(A11, w1, x1, quad);
            A20 = Dp.DotProductBySelectedQuadruplet(A20, w0, x2, quad);
            A21 = Dp.DotProductBySelectedQuadruplet(A21, w1, x2, quad);
            A30 = Dp.DotProductBySelectedQuadruplet(A30, w0, x3, quad);
            A31 = Dp.DotProductBySelectedQuadruplet(A31, w1, x3, quad);
        }
    }
}
