namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>A lane-wise function, written once for every lane width (see <see cref="IFloatVector{TSelf}"/>).</summary>
internal interface IFloatUnaryOperator
{
    T Apply<T>(T x) where T : struct, IFloatVector<T>;
}

/// <summary>How many float lanes a kernel path computes at once.</summary>
internal enum FloatLanes
{
    One,
    Four,
    Eight,
}

/// <summary>y[i] = op(x[i]) over a contiguous run: full vectors, then the remainder one lane at a time (same bits).</summary>
internal static unsafe class FloatMap
{
    public static void Apply<TOp>(FloatLanes lanes, in TOp op, float* x, float* y, nint count) where TOp : struct, IFloatUnaryOperator
    {
        switch (lanes)
        {
            case FloatLanes.Eight:
                Run<TOp, Float256>(op, x, y, count);
                break;
            case FloatLanes.Four:
                Run<TOp, Float128>(op, x, y, count);
                break;
            default:
                Run<TOp, ScalarFloat>(op, x, y, count);
                break;
        }
    }

    private static void Run<TOp, T>(in TOp op, float* x, float* y, nint count)
        where TOp : struct, IFloatUnaryOperator
        where T : struct, IFloatVector<T>
    {
        nint i = 0;
        for (; i <= count - T.Count; i += T.Count)
        {
            T.Store(op.Apply(T.Load(ref *x, i)), ref *y, i);
        }

        for (; i < count; i++)
        {
            ScalarFloat.Store(op.Apply(ScalarFloat.Load(ref *x, i)), ref *y, i);
        }
    }
}
