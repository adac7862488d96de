using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
    private Int8Requantizer _requantizer; // AVX2: the mean's multiplier for every channel, −H·W·zx as the bias
    private bool _avx2;

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
        int channels = input.Dim(3);
        bool avx2 = KernelPaths.UsesAvx2(context.Path);
        var kernel = new GlobalAveragePoolInt8Kernel
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0),
            _batch = input.Dim(0), _pixels = pixels, _channels = channels,
            _inputZero = zx, _outputZero = zy, _multiplier = m, _shift = shift,
            _sums = context.AllocatePersistent<int>(Int8Requantizer.Padded(channels)),
            _avx2 = avx2,
        };
        if (avx2)
        {
            int[] bias = new int[channels];
            bias.AsSpan().Fill(-pixels * zx);
            kernel._requantizer = Int8Requantizer.Create(ref context, bias, [(m, shift)], zy, sbyte.MinValue, sbyte.MaxValue, 128L * pixels);
        }

        return kernel;
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        sbyte* x = (sbyte*)_input.Pointer;
        sbyte* y = (sbyte*)_output.Pointer;
        Span<int> sums = _sums;
        int c = _channels;
        if (_avx2)
        {
            InvokeAvx2(x, y);
            return;
        }

        for (int b = 0; b < _batch; b++)
        {
            sums.Clear();
            sbyte* xb = x + (long)b * _pixels * c;
            fixed (int* s = sums)
            {
                // Exact integer sums in any grouping, 16 channels per step (arm64: every squeeze-and-excitation pool
                // of EfficientNet and MobileNetV3): every path gives the same result.
                for (int p = 0; p < _pixels; p++)
                {
                    ChannelSums.Add(xb + (long)p * c, s, c, vector: true);
                }
            }

            for (int ch = 0; ch < c; ch++)
            {
                int acc = sums[ch] - _pixels * _inputZero;
                y[b * c + ch] = (sbyte)Math.Clamp(_outputZero + QuantizedMath.MultiplyByQuantizedMultiplier(acc, _multiplier, _shift), -128, 127);
            }
        }
    }

    /// <summary>
    /// Channels in the outer loop, 32 at a time, summed over the pixels in registers; one requantization pass of
    /// the raw sums at the end (the bias holds −H·W·zx).
    /// </summary>
    private readonly void InvokeAvx2(sbyte* x, sbyte* y)
    {
        int c = _channels;
        int scale = _requantizer.Avx2AccumulatorScale;
        fixed (int* sums = _sums)
        {
            for (int b = 0; b < _batch; b++)
            {
                sbyte* xb = x + (long)b * _pixels * c;
                int ch = 0;
                for (; ch <= c - 32; ch += 32)
                {
                    Vector256<int> s0 = Vector256<int>.Zero, s1 = Vector256<int>.Zero, s2 = Vector256<int>.Zero, s3 = Vector256<int>.Zero;
                    sbyte* xp = xb + ch;
                    for (int p = 0; p < _pixels; p++, xp += c)
                    {
                        s0 += Avx2.ConvertToVector256Int32(xp);
                        s1 += Avx2.ConvertToVector256Int32(xp + 8);
                        s2 += Avx2.ConvertToVector256Int32(xp + 16);
                        s3 += Avx2.ConvertToVector256Int32(xp + 24);
                    }

                    (s0 * scale).Store(sums + ch);
                    (s1 * scale).Store(sums + ch + 8);
                    (s2 * scale).Store(sums + ch + 16);
                    (s3 * scale).Store(sums + ch + 24);
                }

                for (; ch < c; ch++)
                {
                    int sum = 0;
                    for (int p = 0; p < _pixels; p++)
                    {
                        sum += xb[(long)p * c + ch];
                    }

                    sums[ch] = sum * scale;
                }

                _requantizer.StoreAvx2Channels(sums, c, y + (long)b * c);
            }
        }
    }
}
