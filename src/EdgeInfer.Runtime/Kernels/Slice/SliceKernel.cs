using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// The copy a Slice makes: output rows (all axes but the last) walked as an odometer, each row one block copy when
/// its step is 1 (the common case: Split, channel halves, crops), element by element otherwise. A copy moves values
/// without arithmetic, so every path gives the same bytes with no vector code of its own.
/// </summary>
internal unsafe struct SliceCopy
{
    private const int MaxRank = FormatConstants.MaxRank;
    private byte* _input;
    private byte* _output;
    private int _rank;
    private int _elementSize;
    private long _begin;                  // input element offset of the box's first element
    private long _rows;                   // output elements / last dimension
    private int _rowLength;               // output last dimension
    private long _lastStride;             // input elements between neighbours along the last output axis
    private fixed int _dims[MaxRank];     // output dimensions
    private fixed long _strides[MaxRank]; // input elements between neighbours along each output axis (input stride · step)

    public static SliceCopy Prepare(ref KernelContext context, int elementSize)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0), output = context.Output(0);
        SliceOptions options = SliceOptions.Read(context.Options);
        int rank = input.Rank;
        context.Require(rank >= 1 && output.Rank == rank && options.Begin.Length == rank, $"a slice of rank {options.Begin.Length} does not fit {input} → {output}");
        var copy = new SliceCopy
        {
            _input = context.InputBuffer(0).Pointer, _output = context.OutputBuffer(0).Pointer, _rank = rank, _elementSize = elementSize,
            _rows = output.ElementCount / output.Dim(rank - 1), _rowLength = output.Dim(rank - 1),
        };
        long stride = 1, begin = 0;
        for (int d = rank - 1; d >= 0; d--)
        {
            int b = options.Begin[d], s = options.Step[d], n = output.Dim(d);
            context.Require(b >= 0 && s >= 1 && b + (long)(n - 1) * s < input.Dim(d),
                $"axis {d}: {n} elements from {b} in steps of {s} leave input {input} (its size there is {input.Dim(d)})");
            begin += b * stride;
            copy._dims[d] = n;
            copy._strides[d] = stride * s;
            stride *= input.Dim(d);
        }

        copy._begin = begin;
        copy._lastStride = copy._strides[rank - 1];
        return copy;
    }

    public readonly void Invoke()
    {
        Span<int> index = stackalloc int[MaxRank];
        index.Clear();
        long offset = _begin;
        long rowBytes = (long)_rowLength * _elementSize;
        byte* y = _output;
        for (long r = 0; r < _rows; r++)
        {
            byte* x = _input + offset * _elementSize;
            if (_lastStride == 1)
            {
                Buffer.MemoryCopy(x, y, rowBytes, rowBytes);
            }
            else if (_elementSize == 4)
            {
                for (int j = 0; j < _rowLength; j++)
                {
                    ((int*)y)[j] = *(int*)(x + j * _lastStride * 4);
                }
            }
            else
            {
                for (int j = 0; j < _rowLength; j++)
                {
                    y[j] = x[j * _lastStride];
                }
            }

            y += rowBytes;
            for (int d = _rank - 2; d >= 0; d--)
            {
                offset += _strides[d];
                if (++index[d] < _dims[d])
                {
                    break;
                }

                offset -= _strides[d] * _dims[d];
                index[d] = 0;
            }
        }
    }
}

/// <summary>Slice of float32 values.</summary>
public struct SliceKernel : IKernel<SliceKernel>
{
    private SliceCopy _copy;

    public static OpCode OpCode => OpCode.Slice;

    public static SliceKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        context.RequireType(context.Input(0), DataType.Float32, "input");
        context.RequireType(context.Output(0), DataType.Float32, "output");
        return new SliceKernel { _copy = SliceCopy.Prepare(ref context, sizeof(float)) };
    }

    public readonly void Invoke(Span<byte> scratch) => _copy.Invoke();
}

/// <summary>Slice of int8 values; the output keeps the input's quantization.</summary>
public struct SliceInt8Kernel : IKernel<SliceInt8Kernel>
{
    private SliceCopy _copy;

    public static OpCode OpCode => OpCode.Slice;

    public static DataType InputType => DataType.Int8;

    public static SliceInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        QuantizedTensors.RequireSameQuantization(ref context, context.Input(0), context.Output(0));
        return new SliceInt8Kernel { _copy = SliceCopy.Prepare(ref context, sizeof(sbyte)) };
    }

    public readonly void Invoke(Span<byte> scratch) => _copy.Invoke();
}
