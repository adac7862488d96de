using System.Runtime.CompilerServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// [N,H,W,C] → [N,1,1,C], the mean over H·W: a canonical sum down each channel column (rows C floats apart,
/// vectorized across channels by <see cref="FloatColumns.SumStrided{T}"/>), then one IEEE division by H·W.
/// </summary>
public unsafe struct GlobalAveragePoolKernel : IKernel<GlobalAveragePoolKernel>
{
    private float* _input;
    private float* _output;
    private int _batch;
    private int _pixels;
    private int _channels;
    private FloatLanes _lanes;

    public static OpCode OpCode => OpCode.GlobalAveragePool;

    public static GlobalAveragePoolKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(output, DataType.Float32, "output");
        context.Require(input.Rank == 4, $"input {input} must be rank 4 [N,H,W,C]");
        context.RequireShape(output, [input.Dim(0), 1, 1, input.Dim(3)], "output");
        return new GlobalAveragePoolKernel
        {
            _input = (float*)context.InputBuffer(0).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _batch = input.Dim(0),
            _pixels = input.Dim(1) * input.Dim(2),
            _channels = input.Dim(3),
            _lanes = FloatVector.LanesFor(context.Path),
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        switch (_lanes)
        {
            case FloatLanes.Eight:
                Run<Float256>();
                break;
            case FloatLanes.Four:
                Run<Float128>();
                break;
            default:
                Run<ScalarFloat>();
                break;
        }
    }

    private readonly void Run<T>() where T : struct, IFloatVector<T>
    {
        for (int n = 0; n < _batch; n++)
        {
            float* image = _input + (long)n * _pixels * _channels;
            float* y = _output + (long)n * _channels;
            nint c = 0;
            for (; c <= _channels - T.Count; c += T.Count)
            {
                Channels<T>(image, y, c);
            }

            for (; c < _channels; c++)
            {
                Channels<ScalarFloat>(image, y, c);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Channels<T>(float* image, float* y, nint c) where T : struct, IFloatVector<T>
        => T.Store(FloatColumns.SumStrided<T>(image, _pixels, _channels, c) / T.Create(_pixels), ref *y, c);
}
