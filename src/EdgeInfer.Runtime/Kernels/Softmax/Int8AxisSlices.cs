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

    /// <summary>
    /// The checks the int8 Softmax and LogSoftmax share: one input, an output of its shape with the fixed parameters
    /// the operator's int8 form requires, an axis inside the rank, a finite positive β; returns the slices along the
    /// axis, the options and the input scale.
    /// </summary>
    public static Int8AxisSlices Prepare(ref KernelContext context, float outputScale, int outputZeroPoint, string outputParameters,
        out SoftmaxOptions options, out float inputScale)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        SoftmaxOptions o = SoftmaxOptions.Read(context.Options);
        (inputScale, _) = Quantized.QuantizedTensors.PerTensor(ref context, input, "input");
        (float sy, int zy) = Quantized.QuantizedTensors.PerTensor(ref context, output, "output");
        context.Require(zy == outputZeroPoint && Math.Abs(sy - outputScale) <= 0.001f * outputScale,
            $"output {output} must have {outputParameters}, has {sy} and {zy}");
        context.RequireShape(output, input.Shape, "output");
        context.Require(o.Axis >= 0 && o.Axis < input.Rank, $"axis {o.Axis} is outside the rank of {input}");
        context.Require(float.IsFinite(o.Beta) && o.Beta > 0, $"beta {o.Beta} must be finite and positive");
        int inner = 1;
        for (int d = o.Axis + 1; d < input.Rank; d++)
        {
            inner *= input.Dim(d);
        }

        options = o;
        return new Int8AxisSlices((int)(input.ElementCount / ((long)input.Dim(o.Axis) * inner)), input.Dim(o.Axis), inner);
    }

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
