using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 concatenation along an axis. An input quantized like the output is copied; any other input is requantized
/// with integer arithmetic, y = clamp(zy + MBQM(x − zx, QuantizeMultiplier(sx/sy))), which depends only on the
/// byte and so is a 256-entry table built at Prepare.
/// </summary>
public unsafe struct ConcatInt8Kernel : IKernel<ConcatInt8Kernel>
{
    private TensorBuffer[] _inputs;
    private sbyte[]?[] _tables;
    private int[] _slices;      // bytes each input contributes per outer step
    private TensorBuffer _output;
    private int _outer;
    private int _outputSlice;

    public static OpCode OpCode => OpCode.Concat;

    public static DataType InputType => DataType.Int8;

    public static ConcatInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, int.MaxValue);
        context.RequireOutputs(1);
        TensorInfo output = context.Output(0);
        int axis = ConcatOptions.Read(context.Options).Axis;
        context.Require(axis >= 0 && axis < output.Rank, $"axis {axis} is outside the rank of {output}");
        (float sy, int zy) = QuantizedTensors.PerTensor(ref context, output, "output");
        int inner = 1;
        for (int d = axis + 1; d < output.Rank; d++)
        {
            inner *= output.Dim(d);
        }

        int outer = 1;
        for (int d = 0; d < axis; d++)
        {
            outer *= output.Dim(d);
        }

        var kernel = new ConcatInt8Kernel
        {
            _inputs = new TensorBuffer[context.InputCount],
            _tables = new sbyte[]?[context.InputCount],
            _slices = new int[context.InputCount],
            _output = context.OutputBuffer(0),
            _outer = outer,
        };
        int total = 0;
        for (int i = 0; i < context.InputCount; i++)
        {
            TensorInfo t = context.Input(i);
            (float sx, int zx) = QuantizedTensors.PerTensor(ref context, t, $"input {i}");
            context.Require(t.Rank == output.Rank, $"input {t} must have the rank of {output}");
            for (int d = 0; d < output.Rank; d++)
            {
                context.Require(d == axis || t.Dim(d) == output.Dim(d), $"input {t} does not match {output} outside axis {axis}");
            }

            total += t.Dim(axis);
            kernel._inputs[i] = context.InputBuffer(i);
            kernel._slices[i] = t.Dim(axis) * inner;
            if (sx != sy || zx != zy)
            {
                (int m, int shift) = QuantizedMath.QuantizeMultiplier((double)sx / sy);
                sbyte[] table = context.AllocatePersistent<sbyte>(256);
                for (int q = -128; q < 128; q++)
                {
                    table[q + 128] = (sbyte)Math.Clamp(zy + QuantizedMath.MultiplyByQuantizedMultiplier(q - zx, m, shift), -128, 127);
                }

                kernel._tables[i] = table;
            }
        }

        context.Require(total == output.Dim(axis), $"inputs add up to {total} along axis {axis}, output has {output.Dim(axis)}");
        kernel._outputSlice = total * inner;
        return kernel;
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        sbyte* y = (sbyte*)_output.Pointer;
        for (int o = 0; o < _outer; o++)
        {
            sbyte* dst = y + (long)o * _outputSlice;
            for (int i = 0; i < _inputs.Length; i++)
            {
                int n = _slices[i];
                sbyte* src = (sbyte*)_inputs[i].Pointer + (long)o * n;
                sbyte[]? table = _tables[i];
                if (table is null)
                {
                    Buffer.MemoryCopy(src, dst, n, n);
                }
                else
                {
                    fixed (sbyte* t = table)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            dst[j] = t[src[j] + 128];
                        }
                    }
                }

                dst += n;
            }
        }
    }
}

/// <summary>Int8 reshape: a copy, or nothing when the plan made the output a view of the input; the output keeps the
/// input's quantization.</summary>
public unsafe struct ReshapeInt8Kernel : IKernel<ReshapeInt8Kernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private int _count;

    public static OpCode OpCode => OpCode.Reshape;

    public static DataType InputType => DataType.Int8;

    public static ReshapeInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 2); // an optional shape operand, already resolved into the output record
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        QuantizedTensors.RequireSameQuantization(ref context, input, output);
        context.RequireSameElements(input, output);
        return new ReshapeInt8Kernel { _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _count = (int)input.ElementCount };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        if (_input.Pointer != _output.Pointer)
        {
            Buffer.MemoryCopy(_input.Pointer, _output.Pointer, _count, _count);
        }
    }
}

/// <summary>Int8 transpose: output axis i takes input axis Perm[i]; the output keeps the input's quantization.</summary>
public unsafe struct TransposeInt8Kernel : IKernel<TransposeInt8Kernel>
{
    private const int MaxRank = FormatConstants.MaxRank;
    private TensorBuffer _input;
    private TensorBuffer _output;
    private int _rank;
    private int _count;
    private fixed int _dims[MaxRank];          // output dimensions
    private fixed long _inputStrides[MaxRank];  // input stride of each output axis

    public static OpCode OpCode => OpCode.Transpose;

    public static DataType InputType => DataType.Int8;

    public static TransposeInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        QuantizedTensors.RequireSameQuantization(ref context, input, output);
        ReadOnlySpan<int> perm = TransposeOptions.Read(context.Options).Perm;
        context.Require(perm.Length == input.Rank && output.Rank == input.Rank, $"permutation of rank {perm.Length} does not fit {input} → {output}");
        Span<long> strides = stackalloc long[MaxRank];
        long stride = 1;
        for (int d = input.Rank - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= input.Dim(d);
        }

        var kernel = new TransposeInt8Kernel { _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _rank = input.Rank, _count = (int)input.ElementCount };
        int seen = 0;
        for (int i = 0; i < perm.Length; i++)
        {
            int p = perm[i];
            context.Require(p >= 0 && p < input.Rank && (seen & (1 << p)) == 0, $"[{string.Join(",", perm.ToArray())}] is not a permutation of {input.Rank} axes");
            seen |= 1 << p;
            context.Require(output.Dim(i) == input.Dim(p), $"output {output} axis {i} should be {input.Dim(p)}");
            kernel._dims[i] = output.Dim(i);
            kernel._inputStrides[i] = strides[p];
        }

        return kernel;
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        sbyte* x = (sbyte*)_input.Pointer;
        sbyte* y = (sbyte*)_output.Pointer;
        if (_count == 0)
        {
            return;
        }

        int last = _rank - 1;
        if (last < 0)
        {
            y[0] = x[0];
            return;
        }

        Span<int> index = stackalloc int[MaxRank];
        index.Clear();
        int innerLength = _dims[last];
        long innerStride = _inputStrides[last];
        long offset = 0;
        if (last >= 1 && _inputStrides[last - 1] == 1 && innerLength <= 8)
        {
            // A layout swap with a short inner axis (NCHW → NHWC of an image: [C, H·W] → [H·W, C]): read the
            // contiguous input axis in order and scatter C bytes apart, one plane of the odometer at a time.
            int rows = _dims[last - 1];
            for (int written = 0; written < _count; written += rows * innerLength)
            {
                for (int c = 0; c < innerLength; c++)
                {
                    sbyte* src = x + offset + c * innerStride;
                    sbyte* dst = y + written + c;
                    for (int r = 0; r < rows; r++)
                    {
                        dst[(long)r * innerLength] = src[r];
                    }
                }

                offset = Advance(index, offset, last - 2);
            }

            return;
        }

        for (int written = 0; written < _count; written += innerLength)
        {
            sbyte* src = x + offset;
            for (int j = 0; j < innerLength; j++)
            {
                y[written + j] = src[j * innerStride];
            }

            offset = Advance(index, offset, last - 1);
        }
    }

    /// <summary>Advances the odometer over output axes <paramref name="top"/>..0 and returns the new input offset.</summary>
    private readonly long Advance(Span<int> index, long offset, int top)
    {
        for (int d = top; d >= 0; d--)
        {
            offset += _inputStrides[d];
            if (++index[d] < _dims[d])
            {
                break;
            }

            offset -= _inputStrides[d] * _dims[d];
            index[d] = 0;
        }

        return offset;
    }
}
