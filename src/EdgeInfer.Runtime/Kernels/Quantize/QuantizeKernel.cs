using System.Runtime.Intrinsics;
using EdgeInfer.Runtime.Kernels.Quantized;
using EdgeInfer.Runtime.Quantization;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// float32 → int8/uint8 with the output's per-tensor quantization: q = clamp(round_half_away(x / scale) + zp), a true
/// division as TFLite's reference quantizer (not a multiply by 1/scale); NaN becomes the zero point.
/// </summary>
public unsafe struct QuantizeKernel : IKernel<QuantizeKernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private float _scale;
    private int _zeroPoint;
    private DataType _type;
    private KernelPath _path;

    public static OpCode OpCode => OpCode.Quantize;

    public static QuantizeKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.Require(output.DataType is DataType.Int8 or DataType.UInt8, $"output {output} must be int8 or uint8");
        context.RequireSameElements(input, output);
        QuantizationInfo? q = output.Quantization;
        context.Require(q is not null && q.Scales.Length == 1, $"output {output} needs per-tensor quantization parameters");
        return new QuantizeKernel { _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _scale = q.Scales[0], _zeroPoint = q.ZeroPoints[0], _type = output.DataType, _path = context.Path };
    }

    public readonly void Invoke(Span<byte> scratch)
        => QuantizeUtil.Quantize(_input.AsReadOnlySpan<float>(), _scale, _zeroPoint, _type, _output.AsSpan<byte>(), _path);
}

/// <summary>int8 → int8 requantization: y = clamp(zy + MBQM(x − zx, QuantizeMultiplier(sx/sy))), tabulated at Prepare
/// and looked up many bytes at a time (<see cref="ByteTable"/>).</summary>
public unsafe struct QuantizeInt8Kernel : IKernel<QuantizeInt8Kernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private int _count;
    private ByteTable _table;

    public static OpCode OpCode => OpCode.Quantize;

    public static DataType InputType => DataType.Int8;

    public static QuantizeInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        (float sx, int zx) = QuantizedTensors.PerTensor(ref context, input, "input");
        (float sy, int zy) = QuantizedTensors.PerTensor(ref context, output, "output");
        context.RequireSameElements(input, output);
        (int m, int shift) = QuantizedMath.QuantizeMultiplier((double)sx / sy);
        sbyte[] table = context.AllocatePersistent<sbyte>(256);
        for (int q = -128; q < 128; q++)
        {
            table[q + 128] = (sbyte)Math.Clamp(zy + QuantizedMath.MultiplyByQuantizedMultiplier(q - zx, m, shift), -128, 127);
        }

        return new QuantizeInt8Kernel
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _count = (int)input.ElementCount, _table = ByteTable.Create(ref context, table),
        };
    }

    public readonly void Invoke(Span<byte> scratch) => _table.Apply((sbyte*)_input.Pointer, (sbyte*)_output.Pointer, _count);
}

/// <summary>
/// int8 → float32: scale·(q − zp), per tensor or per channel on any axis (weight-only models dequantize per-channel
/// constants once at load through this kernel).
/// </summary>
public unsafe struct DequantizeInt8Kernel : IKernel<DequantizeInt8Kernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private float[] _scales;
    private int[] _zeroPoints;
    private int _inner;
    private int _count;

    public static OpCode OpCode => OpCode.Dequantize;

    public static DataType InputType => DataType.Int8;

    public static DequantizeInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Int8, "input");
        context.RequireType(output, DataType.Float32, "output");
        context.RequireSameElements(input, output);
        QuantizationInfo? q = input.Quantization;
        context.Require(q is not null, $"input {input} has no quantization parameters");
        int inner = (int)input.ElementCount;
        if (q.IsPerChannel)
        {
            inner = 1;
            for (int d = q.Axis + 1; d < input.Rank; d++)
            {
                inner *= input.Dim(d);
            }
        }

        return new DequantizeInt8Kernel
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _scales = q.Scales, _zeroPoints = q.ZeroPoints,
            _inner = Math.Max(inner, 1), _count = (int)input.ElementCount,
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        sbyte* x = (sbyte*)_input.Pointer;
        float* y = (float*)_output.Pointer;
        int channels = _scales.Length;
        int i = 0;
        if (channels == 1 && Vector128.IsHardwareAccelerated)
        {
            // The scalar loop's operations (int subtract, int → float, one IEEE multiply) lane by lane: the same bits.
            Vector128<int> zero = Vector128.Create(_zeroPoints[0]);
            Vector128<float> scale = Vector128.Create(_scales[0]);
            for (; i <= _count - 8; i += 8)
            {
                (Vector128<short> wide, _) = Vector128.Widen(Vector128.CreateScalar(*(long*)(x + i)).AsSByte());
                (Vector128<int> lo, Vector128<int> hi) = Vector128.Widen(wide);
                (scale * Vector128.ConvertToSingle(lo - zero)).Store(y + i);
                (scale * Vector128.ConvertToSingle(hi - zero)).Store(y + i + 4);
            }
        }

        for (; i < _count; i++)
        {
            int c = channels == 1 ? 0 : i / _inner % channels;
            y[i] = _scales[c] * (x[i] - _zeroPoints[c]);
        }
    }
}
