using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// The shared state of the elementwise activation kernels: one float32 input, one output of the same shape, and the
/// lane width of the chosen path. Each activation is a lane-wise operator struct run through <see cref="FloatMap"/>,
/// so every path computes the same bits element by element.
/// </summary>
internal unsafe struct UnaryFloatMap
{
    private float* _input;
    private float* _output;
    private int _count;
    private FloatLanes _lanes;

    public static UnaryFloatMap Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(output, DataType.Float32, "output");
        context.RequireShape(output, input.Shape, "output");
        return new UnaryFloatMap
        {
            _input = (float*)context.InputBuffer(0).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _count = (int)input.ElementCount,
            _lanes = FloatVector.LanesFor(context.Path),
        };
    }

    public readonly void Run<TOp>(in TOp op) where TOp : struct, IFloatUnaryOperator
        => FloatMap.Apply(_lanes, op, _input, _output, _count);
}
