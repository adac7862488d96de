using System.Runtime.CompilerServices;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// C = clamp(A·B + bias) for row-major A [M,K] and B packed into column panels (<see cref="PackRows"/>,
/// <see cref="PackColumns"/>, or a kernel's own packing through <see cref="PackedIndex"/>): the one matrix product
/// behind FullyConnected, MatMul and every Conv2D strategy.
/// <para><b>The order, a property of the kernel:</b> C[i,j] is one sequential chain of fused multiply-adds,
/// s = 0; s = fma(A[i,k], B[k,j], s) for k = 0, 1, …, K−1; then s + bias[j] (one rounding); then the clamp. No
/// partial sums, no reduction tree. This is the order of the textbook loop, and the order of the usual
/// broadcast-A/vector-B GEMM micro-kernels (ONNX Runtime's MLAS SGEMM computes exactly this for K within one of its
/// K blocks), so float models reproduce ONNX Runtime bit for bit where its kernels do the same (docs/kernels.md).</para>
/// <para>Why it is identical on every path: the vector runs across output columns j, never along K, so each lane is
/// its own chain and a lane's fused multiply-add is the scalar <see cref="MathF.FusedMultiplyAdd"/>. Widths differ
/// only in how many chains run at once (<see cref="ScalarFloat"/> 1, <see cref="Float128"/> 4 on SSE and AdvSimd,
/// <see cref="Float256"/> 8).</para>
/// <para>Packing: B is stored in panels of <see cref="Panel"/> columns, each panel K rows of 8 contiguous floats
/// (zero columns pad the last panels to a multiple of 16 so a 16-column tile never reads outside), so one vector
/// load fetches B[k, j..j+w) and the kernel walks the panel linearly. Register tile: 4 rows of A × 2 vectors of
/// columns (8 accumulators: 4×16 with Float256, 4×8 with Float128); each broadcast of A[i,k] serves 2 vectors and
/// each B load 4 rows. A is walked in blocks of <see cref="RowBlock"/> rows so the block stays in L1 across the
/// column tiles.</para>
/// </summary>
internal static unsafe class FloatGemm
{
    /// <summary>Columns per packed panel.</summary>
    public const int Panel = 8;

    private const int RowBlock = 16;
    private const int TileRows = 4;

    /// <summary>Floats of packed B for <paramref name="n"/> columns and <paramref name="k"/> terms.</summary>
    public static long PackedLength(int n, int k) => (long)((n + 15) & ~15) * k;

    /// <summary>Where B[k, j] goes in the packed form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long PackedIndex(int j, int k, int depth) => ((long)(j / Panel) * depth + k) * Panel + j % Panel;

    /// <summary>Packs Bᵀ [N,K] (row j = the K terms of column j, <paramref name="ldb"/> floats apart): FullyConnected
    /// weights, pointwise convolution weights. Padding columns are zero.</summary>
    public static void PackRows(float* bt, nint ldb, int n, int k, float* packed) => Pack(bt, ldb, 1, n, k, packed);

    /// <summary>Packs B [K,N] (row k = term k of every column, <paramref name="ldb"/> floats apart): MatMul's B.</summary>
    public static void PackColumns(float* b, nint ldb, int n, int k, float* packed) => Pack(b, 1, ldb, n, k, packed);

    /// <summary>Term t of column j read at <paramref name="source"/>[j·columnStride + t·termStride]; padding columns zero.</summary>
    private static void Pack(float* source, nint columnStride, nint termStride, int n, int k, float* packed)
    {
        new Span<float>(packed, checked((int)PackedLength(n, k))).Clear();
        for (int j = 0; j < n; j++)
        {
            for (int t = 0; t < k; t++)
            {
                packed[PackedIndex(j, t, k)] = source[j * columnStride + t * termStride];
            }
        }
    }

    /// <summary>
    /// C[i,j] = clamp(chain(A row i, column j) + bias[j], min, max) for i &lt; m, j &lt; n; A rows are <c>lda</c>
    /// floats apart, C rows <c>ldc</c>; <c>bias</c> may be null (then nothing is added). Term t of a row is
    /// A[i, t], or A[i, order[t]] when <paramref name="order"/> is given (Conv2D: patches copied in the input's
    /// (ky, kx, ci) layout, summed in (ci, ky, kx) order), so the copy stays contiguous and only the walk is permuted.
    /// </summary>
    public static void Multiply(KernelPath path, float* a, nint lda, int m, float* packed, int n, int k,
        float* c, nint ldc, float* bias, float min, float max, int* order = null)
    {
        switch (FloatVector.LanesFor(path))
        {
            case FloatLanes.Eight:
                Multiply<Float256>(a, lda, m, packed, n, k, c, ldc, bias, min, max, order);
                break;
            case FloatLanes.Four:
                Multiply<Float128>(a, lda, m, packed, n, k, c, ldc, bias, min, max, order);
                break;
            default:
                Multiply<ScalarFloat>(a, lda, m, packed, n, k, c, ldc, bias, min, max, order);
                break;
        }
    }

    private static void Multiply<T>(float* a, nint lda, int m, float* packed, int n, int k,
        float* c, nint ldc, float* bias, float min, float max, int* order) where T : struct, IFloatVector<T>
    {
        if (order == null)
        {
            Multiply<T, InOrder>(a, lda, m, packed, n, k, c, ldc, bias, min, max, null);
        }
        else
        {
            Multiply<T, Permuted>(a, lda, m, packed, n, k, c, ldc, bias, min, max, order);
        }
    }

    /// <summary>Where term t of an A row lies; a type parameter so the in-order walk costs no extra load.</summary>
    private interface ITermOrder
    {
        static abstract nint Index(int* order, int t);
    }

    private readonly struct InOrder : ITermOrder
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static nint Index(int* order, int t) => t;
    }

    private readonly struct Permuted : ITermOrder
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static nint Index(int* order, int t) => order[t];
    }

    private static void Multiply<T, TOrder>(float* a, nint lda, int m, float* packed, int n, int k,
        float* c, nint ldc, float* bias, float min, float max, int* order) where T : struct, IFloatVector<T> where TOrder : struct, ITermOrder
    {
        int width = 2 * T.Count;
        if (m == 1)
        {
            // One row (FullyConnected on one sample): four rows' tiles would compute three thrown-away rows, and two
            // chains per step leave the FMA pipeline waiting on its own latency, so this tile is 1 row × 4 vectors.
            long padded = (n + 15) & ~15;
            for (int j = 0; j < n; j += 2 * width)
            {
                float* w0 = packed + PackedIndex(j, 0, k);
                float* w1 = packed + PackedIndex(j + T.Count, 0, k);
                bool four = j + 2 * width <= padded;
                float* w2 = four ? packed + PackedIndex(j + 2 * T.Count, 0, k) : w0;
                float* w3 = four ? packed + PackedIndex(j + 3 * T.Count, 0, k) : w1;
                RowTile<T, TOrder>(a, w0, w1, w2, w3, k, c + j, n - j, bias == null ? null : bias + j, min, max, order);
            }

            return;
        }

        for (int i0 = 0; i0 < m; i0 += RowBlock)
        {
            int i1 = Math.Min(m, i0 + RowBlock);
            for (int j = 0; j < n; j += width)
            {
                int cols = Math.Min(width, n - j);
                float* w0 = packed + PackedIndex(j, 0, k);
                float* w1 = packed + PackedIndex(j + T.Count, 0, k);
                for (int i = i0; i < i1; i += TileRows)
                {
                    Tile<T, TOrder>(a + i * lda, lda, Math.Min(TileRows, i1 - i), w0, w1, k, c + i * ldc + j, ldc, cols,
                        bias == null ? null : bias + j, min, max, order);
                }
            }
        }
    }

    /// <summary>Up to 4 rows × 2 vectors of columns; rows beyond <paramref name="rows"/> re-read row 0 and are dropped.</summary>
    private static void Tile<T, TOrder>(float* a, nint lda, int rows, float* w0, float* w1, int k, float* c, nint ldc, int cols,
        float* bias, float min, float max, int* order) where T : struct, IFloatVector<T> where TOrder : struct, ITermOrder
    {
        float* a0 = a;
        float* a1 = rows > 1 ? a + lda : a;
        float* a2 = rows > 2 ? a + 2 * lda : a;
        float* a3 = rows > 3 ? a + 3 * lda : a;
        T c00 = T.Zero, c01 = T.Zero, c10 = T.Zero, c11 = T.Zero, c20 = T.Zero, c21 = T.Zero, c30 = T.Zero, c31 = T.Zero;
        for (int t = 0; t < k; t++)
        {
            nint at = TOrder.Index(order, t);
            T v0 = T.Load(ref *w0, t * Panel);
            T v1 = T.Load(ref *w1, t * Panel);
            T x = T.Create(a0[at]);
            c00 = T.FusedMultiplyAdd(x, v0, c00);
            c01 = T.FusedMultiplyAdd(x, v1, c01);
            x = T.Create(a1[at]);
            c10 = T.FusedMultiplyAdd(x, v0, c10);
            c11 = T.FusedMultiplyAdd(x, v1, c11);
            x = T.Create(a2[at]);
            c20 = T.FusedMultiplyAdd(x, v0, c20);
            c21 = T.FusedMultiplyAdd(x, v1, c21);
            x = T.Create(a3[at]);
            c30 = T.FusedMultiplyAdd(x, v0, c30);
            c31 = T.FusedMultiplyAdd(x, v1, c31);
        }

        // The chains go to memory once, then are finished from there: passing them to a call would make the
        // register allocator spill all eight inside the loop (no vector register survives a call on SysV x64).
        float* spill = stackalloc float[8 * T.Count];
        int w = 2 * T.Count;
        T.Store(c00, ref *spill, 0);
        T.Store(c01, ref *spill, T.Count);
        T.Store(c10, ref *spill, w);
        T.Store(c11, ref *spill, w + T.Count);
        T.Store(c20, ref *spill, 2 * w);
        T.Store(c21, ref *spill, 2 * w + T.Count);
        T.Store(c30, ref *spill, 3 * w);
        T.Store(c31, ref *spill, 3 * w + T.Count);
        for (int r = 0; r < rows; r++)
        {
            Finish<T>(spill + r * w, c + r * ldc, cols, bias, min, max);
        }
    }

    /// <summary>One row × 4 vectors of columns; <paramref name="remaining"/> columns from here are valid.</summary>
    private static void RowTile<T, TOrder>(float* a, float* w0, float* w1, float* w2, float* w3, int k, float* c, int remaining,
        float* bias, float min, float max, int* order) where T : struct, IFloatVector<T> where TOrder : struct, ITermOrder
    {
        T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
        for (int t = 0; t < k; t++)
        {
            T x = T.Create(a[TOrder.Index(order, t)]);
            s0 = T.FusedMultiplyAdd(x, T.Load(ref *w0, t * Panel), s0);
            s1 = T.FusedMultiplyAdd(x, T.Load(ref *w1, t * Panel), s1);
            s2 = T.FusedMultiplyAdd(x, T.Load(ref *w2, t * Panel), s2);
            s3 = T.FusedMultiplyAdd(x, T.Load(ref *w3, t * Panel), s3);
        }

        float* spill = stackalloc float[4 * T.Count];
        T.Store(s0, ref *spill, 0);
        T.Store(s1, ref *spill, T.Count);
        T.Store(s2, ref *spill, 2 * T.Count);
        T.Store(s3, ref *spill, 3 * T.Count);
        int width = 2 * T.Count;
        Finish<T>(spill, c, Math.Min(width, remaining), bias, min, max);
        if (remaining > width)
        {
            Finish<T>(spill + width, c + width, Math.Min(width, remaining - width), bias == null ? null : bias + width, min, max);
        }
    }

    /// <summary>+ bias then the clamp on one row's 2 vectors of chains (the vector and scalar forms give the same bits).</summary>
    private static void Finish<T>(float* chains, float* c, int cols, float* bias, float min, float max) where T : struct, IFloatVector<T>
    {
        if (cols == 2 * T.Count)
        {
            T s0 = T.Load(ref *chains, 0), s1 = T.Load(ref *chains, T.Count);
            if (bias != null)
            {
                s0 += T.Load(ref *bias, 0);
                s1 += T.Load(ref *bias, T.Count);
            }

            T lo = T.Create(min), hi = T.Create(max);
            T.Store(FloatVector.Clamp(s0, lo, hi), ref *c, 0);
            T.Store(FloatVector.Clamp(s1, lo, hi), ref *c, T.Count);
            return;
        }

        for (int j = 0; j < cols; j++)
        {
            float v = bias == null ? chains[j] : chains[j] + bias[j];
            c[j] = FloatVector.Clamp(v, min, max);
        }
    }
}
