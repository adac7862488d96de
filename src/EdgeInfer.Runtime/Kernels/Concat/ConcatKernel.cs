namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Concatenation along one axis. Around the axis the output is [outer, Σ Lᵢ·inner]; for each outer index the
/// inputs contribute, in order, contiguous runs of Lᵢ·inner floats. Inputs may be constants (the converter builds
/// constant padding that way) and the same tensor may appear more than once (Tile).
/// </summary>
public unsafe struct ConcatKernel : IKernel<ConcatKernel>
{
    private nint[] _inputs;   // each input's address (arena, model or load-time memory: all pinned)
    private long[] _runBytes; // bytes each input contributes per outer index
    private byte* _output;
    private long _outer;

    public static OpCode OpCode => OpCode.Concat;

    public static ConcatKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, int.MaxValue);
        context.RequireOutputs(1);
        TensorInfo output = context.Output(0);
        context.RequireType(output, DataType.Float32, "output");
        int axis = ConcatOptions.Read(context.Options).Axis;
        int rank = output.Rank;
        context.Require(axis >= 0 && axis < rank, $"axis {axis} is outside the {rank} axes of output {output}");
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++)
        {
            outer *= output.Dim(d);
        }

        for (int d = axis + 1; d < rank; d++)
        {
            inner *= output.Dim(d);
        }

        var inputs = new nint[context.InputCount];
        var runBytes = new long[context.InputCount];
        long total = 0;
        for (int i = 0; i < context.InputCount; i++)
        {
            TensorInfo input = context.Input(i);
            context.RequireType(input, DataType.Float32, $"input {i}");
            context.Require(input.Rank == rank, $"input {i} {input} must have the rank of output {output}");
            for (int d = 0; d < rank; d++)
            {
                context.Require(d == axis || input.Dim(d) == output.Dim(d), $"input {i} {input} differs from output {output} on axis {d}, which is not the concatenation axis {axis}");
            }

            total += input.Dim(axis);
            inputs[i] = (nint)context.InputBuffer(i).Pointer;
            runBytes[i] = input.Dim(axis) * inner * sizeof(float);
        }

        context.Require(total == output.Dim(axis), $"inputs add up to {total} along axis {axis}, output {output} has {output.Dim(axis)}");
        return new ConcatKernel { _inputs = inputs, _runBytes = runBytes, _output = context.OutputBuffer(0).Pointer, _outer = outer };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        byte* y = _output;
        for (long o = 0; o < _outer; o++)
        {
            for (int i = 0; i < _inputs.Length; i++)
            {
                long run = _runBytes[i];
                Buffer.MemoryCopy((byte*)_inputs[i] + o * run, y, run, run);
                y += run;
            }
        }
    }
}
