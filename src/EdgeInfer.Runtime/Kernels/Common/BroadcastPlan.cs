namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// NumPy broadcasting of two operands to an output shape, prepared once and walked without allocation.
/// <para>The shapes are right-aligned; each operand dimension must be 1 or the output's. Dimensions where both
/// operands advance alike are merged, so the walk is <see cref="OuterCount"/> runs of <see cref="InnerLength"/>
/// elements in which each operand steps by <see cref="InnerStrideA"/> / <see cref="InnerStrideB"/> (1, or 0 for a
/// broadcast operand). Same shapes collapse to one run; a per-channel operand [C] against [N,H,W,C] gives runs of C.</para>
/// </summary>
internal unsafe struct BroadcastPlan
{
    private const int MaxRank = FormatConstants.MaxRank;
    private fixed int _dims[MaxRank];      // outer dimensions (the inner one excluded), outermost first
    private fixed long _strideA[MaxRank];
    private fixed long _strideB[MaxRank];
    private int _outerRank;

    public int InnerLength { get; private set; }
    public int InnerStrideA { get; private set; }
    public int InnerStrideB { get; private set; }
    public int OuterCount { get; private set; }

    /// <summary>Plans a ∘ b → output; false when the shapes do not broadcast to exactly <paramref name="output"/>.</summary>
    public static bool TryCreate(ReadOnlySpan<int> a, ReadOnlySpan<int> b, ReadOnlySpan<int> output, out BroadcastPlan plan)
    {
        plan = default;
        int rank = output.Length;
        if (a.Length > rank || b.Length > rank || rank > MaxRank)
        {
            return false;
        }

        Span<int> dims = stackalloc int[MaxRank];
        Span<long> sa = stackalloc long[MaxRank];
        Span<long> sb = stackalloc long[MaxRank];
        long strideA = 1, strideB = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int o = output[i];
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if ((da != o && da != 1) || (db != o && db != 1) || o != Math.Max(da, db))
            {
                return false;
            }

            dims[i] = o;
            sa[i] = da == 1 && o != 1 ? 0 : strideA;
            sb[i] = db == 1 && o != 1 ? 0 : strideB;
            strideA *= da;
            strideB *= db;
        }

        // Merge from the innermost dimension outwards: dimension i joins the run inside it when both operands'
        // strides continue the run (stride_i = stride_inner · size_inner, zeros included).
        int n = 0;
        Span<int> md = stackalloc int[MaxRank];
        Span<long> ma = stackalloc long[MaxRank];
        Span<long> mb = stackalloc long[MaxRank];
        for (int i = rank - 1; i >= 0; i--)
        {
            if (dims[i] == 1)
            {
                continue;
            }

            if (n > 0 && sa[i] == ma[n - 1] * md[n - 1] && sb[i] == mb[n - 1] * md[n - 1])
            {
                md[n - 1] *= dims[i];
                continue;
            }

            md[n] = dims[i];
            ma[n] = sa[i];
            mb[n] = sb[i];
            n++;
        }

        if (n == 0)
        {
            md[0] = 1;
            ma[0] = 1;
            mb[0] = 1;
            n = 1;
        }

        plan.InnerLength = md[0];
        plan.InnerStrideA = (int)ma[0];
        plan.InnerStrideB = (int)mb[0];
        plan._outerRank = n - 1;
        long outer = 1;
        for (int j = 1; j < n; j++)
        {
            // Stored outermost first.
            int k = n - 1 - j;
            plan._dims[k] = md[j];
            plan._strideA[k] = ma[j];
            plan._strideB[k] = mb[j];
            outer *= md[j];
        }

        plan.OuterCount = (int)outer;
        return true;
    }

    /// <summary>Element offsets of operand a and b where run <paramref name="run"/> starts.</summary>
    public readonly void RunOffsets(int run, out long offsetA, out long offsetB)
    {
        offsetA = 0;
        offsetB = 0;
        for (int k = _outerRank - 1; k >= 0; k--)
        {
            int d = _dims[k];
            int i = run % d;
            run /= d;
            offsetA += i * _strideA[k];
            offsetB += i * _strideB[k];
        }
    }
}
