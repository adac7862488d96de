using System.Runtime.Intrinsics;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 mean over H and W of an NHWC tensor: y = clamp(zy + MBQM(Σ(x − zx), M, shift)) with (M, shift) =
/// QuantizeMultiplier(sx / (sy·H·W)); input and output scales may differ.
/// </summary>
public unsafe struct GlobalAveragePoolInt8Kernel : IKernel<GlobalAveragePoolInt8Kernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private int _batch, _pixels, _channels, _inputZero, _outputZero, _multiplier, _shift;
    private int[] _sums;

    public static OpCode OpCode => OpCode.GlobalAveragePool;

    public static DataType InputType => DataType.Int8;

    public static GlobalAveragePoolInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.Require(input.Rank == 4, $"input {input} must be NHWC");
        (float sx, int zx) = QuantizedTensors.PerTensor(ref context, input, "input");
        (float sy, int zy) = QuantizedTensors.PerTensor(ref context, output, "output");
        int pixels = input.Dim(1) * input.Dim(2);
        context.Require(pixels >= 1 && pixels <= 1 << 23, $"input {input} has {pixels} pixels per channel; at most 2^23 fit the int32 sum");
        context.RequireShape(output, [input.Dim(0), 1, 1, input.Dim(3)], "output");
        (int m, int shift) = QuantizedMath.QuantizeMultiplier((double)sx / ((double)sy * pixels));
        return new GlobalAveragePoolInt8Kernel
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0),
            _batch = input.Dim(0), _pixels = pixels, _channels = input.Dim(3),
            _inputZero = zx, _outputZero = zy, _multiplier = m, _shift = shift,
            _sums = context.AllocatePersistent<int>(input.Dim(3)),
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        sbyte* x = (sbyte*)_input.Pointer;
        sbyte* y = (sbyte*)_output.Pointer;
        Span<int> sums = _sums;
        int c = _channels;
        for (int b = 0; b < _batch; b++)
        {
            sums.Clear();
            sbyte* xb = x + (long)b * _pixels * c;
            for (int p = 0; p < _pixels; p++)
            {
                sbyte* xp = xb + (long)p * c;
                int ch = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    // Exact integer sums in any order: every path gives the same result.
                    fixed (int* s = sums)
                    {
                        for (; ch <= c - 8; ch += 8)
                        {
                            Vector128<short> x16 = Vector128.WidenLower(Vector128.CreateScalar(*(long*)(xp + ch)).AsSByte());
                            Vector256<int> wide = Vector256.Create(Vector128.WidenLower(x16), Vector128.WidenUpper(x16));
                            (Vector256.Load(s + ch) + wide).Store(s + ch);
                        }
                    }
                }

                for (; ch < c; ch++)
                {
                    sums[ch] += xp[ch];
                }
            }

            for (int ch = 0; ch < c; ch++)
            {
                int acc = sums[ch] - _pixels * _inputZero;
                y[b * c + ch] = (sbyte)Math.Clamp(_outputZero + QuantizedMath.MultiplyByQuantizedMultiplier(acc, _multiplier, _shift), -128, 127);
            }
        }
    }
}
