using System.Runtime.Intrinsics;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 concatenation along an axis. An input quantized like the output is copied; any other input is requantized
/// with integer arithmetic, y = clamp(zy + MBQM(x − zx, QuantizeMultiplier(sx/sy))), which depends only on the
/// byte and so is a 256-entry table built at Prepare and looked up many bytes at a time (<see cref="ByteTable"/>:
/// SqueezeNet's fire-module concatenations of 64-channel runs went from 50 to a few µs each).
/// </summary>
public unsafe struct ConcatInt8Kernel : IKernel<ConcatInt8Kernel>
{
    private TensorBuffer[] _inputs;
    private ByteTable[] _tables;
    private bool[] _requantized;
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
            _tables = new ByteTable[context.InputCount],
            _requantized = new bool[context.InputCount],
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

                kernel._tables[i] = ByteTable.Create(ref context, table);
                kernel._requantized[i] = true;
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
                if (_requantized[i])
                {
                    _tables[i].Apply(src, dst, n);
                }
                else
                {
                    Buffer.MemoryCopy(src, dst, n, n);
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
    private bool _vector;

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

        var kernel = new TransposeInt8Kernel
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _rank = input.Rank, _count = (int)input.ElementCount,
            _vector = context.Path != KernelPath.Scalar && Vector128.IsHardwareAccelerated,
        };
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
                if (innerLength == 3 && _vector)
                {
                    Interleave3(x + offset, innerStride, y + written, rows);
                    offset = Advance(index, offset, last - 2);
                    continue;
                }

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

    // Byte shuffles that interleave three 16-byte planes into 48 bytes: output byte g of block k = 16k + j takes
    // byte g / 3 of plane g % 3; an index of 0xFF selects zero, so each block is three shuffles OR-ed. ShuffleNative
    // is one pshufb (x64) or tbl (arm64), both of which give zero for 0xFF; Shuffle's portable out-of-range rule
    // cost a compare and a mask per shuffle with indices the JIT cannot see (MobileNet input: 2.0 → 1.0 µs).
    private static ReadOnlySpan<byte> Interleave3Indices => [
        0, 255, 255, 1, 255, 255, 2, 255, 255, 3, 255, 255, 4, 255, 255, 5,
        255, 255, 6, 255, 255, 7, 255, 255, 8, 255, 255, 9, 255, 255, 10, 255,
        255, 11, 255, 255, 12, 255, 255, 13, 255, 255, 14, 255, 255, 15, 255, 255,
        255, 0, 255, 255, 1, 255, 255, 2, 255, 255, 3, 255, 255, 4, 255, 255,
        5, 255, 255, 6, 255, 255, 7, 255, 255, 8, 255, 255, 9, 255, 255, 10,
        255, 255, 11, 255, 255, 12, 255, 255, 13, 255, 255, 14, 255, 255, 15, 255,
        255, 255, 0, 255, 255, 1, 255, 255, 2, 255, 255, 3, 255, 255, 4, 255,
        255, 5, 255, 255, 6, 255, 255, 7, 255, 255, 8, 255, 255, 9, 255, 255,
        10, 255, 255, 11, 255, 255, 12, 255, 255, 13, 255, 255, 14, 255, 255, 15,
    ];

    /// <summary>
    /// Three planes <paramref name="plane"/> bytes apart into rows of three (an RGB image from NCHW to NHWC), 16
    /// pixels per step by byte shuffles; the tail pixel by pixel. A permutation, so every path gives the same bytes.
    /// </summary>
    private static void Interleave3(sbyte* x, long plane, sbyte* y, int pixels)
    {
        ReadOnlySpan<byte> t = Interleave3Indices;
        Vector128<byte> a0 = Vector128.Create(t[..16]), a1 = Vector128.Create(t[16..32]), a2 = Vector128.Create(t[32..48]);
        Vector128<byte> b0 = Vector128.Create(t[48..64]), b1 = Vector128.Create(t[64..80]), b2 = Vector128.Create(t[80..96]);
        Vector128<byte> c0 = Vector128.Create(t[96..112]), c1 = Vector128.Create(t[112..128]), c2 = Vector128.Create(t[128..144]);
        int p = 0;
        for (; p <= pixels - 16; p += 16)
        {
            Vector128<byte> a = Vector128.Load((byte*)x + p);
            Vector128<byte> b = Vector128.Load((byte*)x + plane + p);
            Vector128<byte> c = Vector128.Load((byte*)x + 2 * plane + p);
            byte* d = (byte*)y + 3L * p;
            (Vector128.ShuffleNative(a, a0) | Vector128.ShuffleNative(b, b0) | Vector128.ShuffleNative(c, c0)).Store(d);
            (Vector128.ShuffleNative(a, a1) | Vector128.ShuffleNative(b, b1) | Vector128.ShuffleNative(c, c1)).Store(d + 16);
            (Vector128.ShuffleNative(a, a2) | Vector128.ShuffleNative(b, b2) | Vector128.ShuffleNative(c, c2)).Store(d + 32);
        }

        for (; p < pixels; p++)
        {
            y[3L * p] = x[p];
            y[3L * p + 1] = x[plane + p];
            y[3L * p + 2] = x[2 * plane + p];
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
