namespace EdgeInfer.Runtime.Kernels;

/// <summary>One slice's normalization along the axis: its values lie stride apart, and max is the largest.</summary>
internal unsafe interface IInt8SliceOperation
{
    void Slice(sbyte* x, sbyte* y, int stride, int max);
}

/// <summary>
/// The int8 tensor walked as outer × inner slices of depth values along one axis (inner apart), each handed to the
/// operation with its maximum: the walk Softmax and LogSoftmax in int8 share.
/// </summary>
internal readonly unsafe struct Int8AxisSlices(int outer, int depth, int inner)
{
    public int Depth => depth;

    public void Run<TOperation>(in TOperation operation, sbyte* x, sbyte* y) where TOperation : struct, IInt8SliceOperation
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                long start = (long)o * depth * inner + i;
                int max = sbyte.MinValue;
                for (int c = 0; c < depth; c++)
                {
                    max = Math.Max(max, x[start + (long)c * inner]);
                }

                operation.Slice(x + start, y + start, inner, max);
            }
        }
    }
}
