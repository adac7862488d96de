namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>Row-major matrix moves shared by Transpose and MatMul (copies: every path gives the same bytes).</summary>
internal static unsafe class FloatMatrix
{
    /// <summary>
    /// destination [cols, rows] = source [rows, cols]ᵀ, in 8×8 blocks so that both the reads and the writes of a block
    /// touch only eight cache lines each, instead of striding through the whole destination for every source row.
    /// </summary>
    public static void Transpose(float* source, float* destination, int rows, int cols)
    {
        const int Block = 8;
        for (int r0 = 0; r0 < rows; r0 += Block)
        {
            int r1 = Math.Min(rows, r0 + Block);
            for (int c0 = 0; c0 < cols; c0 += Block)
            {
                int c1 = Math.Min(cols, c0 + Block);
                for (int c = c0; c < c1; c++)
                {
                    float* to = destination + (long)c * rows;
                    float* from = source + c;
                    for (int r = r0; r < r1; r++)
                    {
                        to[r] = from[(long)r * cols];
                    }
                }
            }
        }
    }
}
