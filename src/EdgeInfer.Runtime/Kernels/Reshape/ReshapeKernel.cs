namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Copies the input into the output, whose record holds the new shape (same element count), unless the plan made the
/// output a view of the input (same arena bytes; the converter does this for every Reshape it can): then nothing moves.
/// </summary>
public unsafe struct ReshapeKernel : IKernel<ReshapeKernel>
{
    private byte* _input;
    private byte* _output;
    private long _bytes;

    public static OpCode OpCode => OpCode.Reshape;

    public static ReshapeKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(output, DataType.Float32, "output");
        context.RequireSameElements(input, output);
        return new ReshapeKernel { _input = context.InputBuffer(0).Pointer, _output = context.OutputBuffer(0).Pointer, _bytes = input.ByteLength };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        if (_input != _output)
        {
            Buffer.MemoryCopy(_input, _output, _bytes, _bytes);
        }
    }
}
