namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// C = clamp(A·Bᵀ + bias) for row-major A [M,K] and Bᵀ [N,K] (one row per output column: the layout of
/// FullyConnected weights, of OHWI convolution weights, of an im2col patch matrix), every product a canonical
/// <see cref="FloatDot"/> dot product, so FullyConnected, Conv2D and MatMul agree bit for bit on the same numbers.
/// <para>Blocking: A is walked in blocks of <see cref="RowBlock"/> rows; inside a block each group of four Bᵀ rows is
/// applied to every row pair (<see cref="FloatDot.Tile2x4"/>), so the four B rows stay in L1 for the whole block and
/// the block itself (16·K floats) stays in L1 across the groups. The bias and clamp are applied to each tile's results
/// while they are still in L1, one scalar step per output (the same step on every path).</para>
/// </summary>
internal static unsafe class FloatGemm
{
    private const int RowBlock = 16;

    /// <summary>
    /// C[i,j] = clamp(dot(A row i, Bᵀ row j) + bias[j], min, max) for i &lt; m, j &lt; n; rows are <c>lda</c>, <c>ldb</c>
    /// and <c>ldc</c> floats apart, and <c>bias</c> may be null.
    /// </summary>
    public static void MultiplyTransposed(KernelPath path, float* a, nint lda, int m, float* bt, nint ldb, int n, int k,
        float* c, nint ldc, float* bias, float min, float max)
    {
        for (int i0 = 0; i0 < m; i0 += RowBlock)
        {
            int i1 = Math.Min(m, i0 + RowBlock);
            for (int j = 0; j < n; j += 4)
            {
                int cols = Math.Min(4, n - j);
                float* b0 = bt + j * ldb;
                float* b1 = cols > 1 ? b0 + ldb : b0;
                float* b2 = cols > 2 ? b0 + 2 * ldb : b0;
                float* b3 = cols > 3 ? b0 + 3 * ldb : b0;
                float* columnBias = bias == null ? null : bias + j;
                for (int i = i0; i < i1; i += 2)
                {
                    int rows = Math.Min(2, i1 - i);
                    float* a0 = a + i * lda;
                    float* a1 = rows > 1 ? a0 + lda : a0;
                    float* c0 = c + i * ldc + j;
                    float* c1 = c0 + ldc;
                    FloatDot.Tile2x4(path, a0, a1, b0, b1, b2, b3, k, c0, c1, rows, cols);
                    Finish(c0, cols, columnBias, min, max);
                    if (rows > 1)
                    {
                        Finish(c1, cols, columnBias, min, max);
                    }
                }
            }
        }
    }

    private static void Finish(float* c, int cols, float* bias, float min, float max)
    {
        for (int j = 0; j < cols; j++)
        {
            float v = bias == null ? c[j] : c[j] + bias[j];
            c[j] = FloatVector.Clamp(v, min, max);
        }
    }
}
