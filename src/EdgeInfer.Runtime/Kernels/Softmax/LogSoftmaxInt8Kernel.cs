using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 log-softmax, output scale 16/256 and zero point 127 (TFLite's fixed parameters: outputs cover [−255/16, 0]).
/// Per slice along the axis, from the input bytes q and scale sx:
/// <list type="number">
/// <item>M = max q; every term is d = M − q ∈ [0, 255], so exp(−β·sx·d) comes from a 256-entry table built at
/// Prepare in double (<see cref="DeterministicMath.Exp"/>);</item>
/// <item>S = Σ table[d] in double, in axis order (S ≥ 1: the maximum contributes exactly 1), L = <see cref="DeterministicMath.Log"/>(S);</item>
/// <item>y = saturate(127 + round_half_away((−β·sx·d − L) / sy)).</item>
/// </list>
/// The real value is computed to about 1e−13, so each output is the correctly rounded quantization of the exact
/// log-softmax of the dequantized inputs except where that value lies within 1e−13 of a rounding midpoint: the
/// error is at most half an output step plus that. Double arithmetic of + − × ÷ only, one scalar loop: the same
/// bytes on every path and platform. Not TFLite's fixed-point method, whose results may differ by an output step.
/// </summary>
public unsafe struct LogSoftmaxInt8Kernel : IKernel<LogSoftmaxInt8Kernel>, IInt8SliceOperation
{
    /// <summary>TFLite's int8 LOG_SOFTMAX output scale.</summary>
    public const float OutputScale = 16f / 256;

    /// <summary>TFLite's int8 LOG_SOFTMAX output zero point.</summary>
    public const int OutputZeroPoint = 127;

    private TensorBuffer _input;
    private TensorBuffer _output;
    private Int8AxisSlices _slices;
    private double _step;       // β·sx: the real distance of one input step
    private double _outputStep; // sy
    private double[] _exp;      // exp(−β·sx·d), d = 0..255

    public static OpCode OpCode => OpCode.LogSoftmax;

    public static DataType InputType => DataType.Int8;

    public static LogSoftmaxInt8Kernel Prepare(ref KernelContext context)
    {
        Int8AxisSlices slices = Int8AxisSlices.Prepare(ref context, OutputScale, OutputZeroPoint, "scale 16/256 and zero point 127", out SoftmaxOptions o, out float sx);
        (float sy, _) = QuantizedTensors.PerTensor(ref context, context.Output(0), "output");
        double step = (double)o.Beta * sx;
        double[] exp = context.AllocatePersistent<double>(256);
        for (int d = 0; d < 256; d++)
        {
            exp[d] = DeterministicMath.Exp(-step * d);
        }

        return new LogSoftmaxInt8Kernel
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0),
            _slices = slices,
            _step = step, _outputStep = sy, _exp = exp,
        };
    }

    public readonly void Invoke(Span<byte> scratch) => _slices.Run(this, (sbyte*)_input.Pointer, (sbyte*)_output.Pointer);

    public readonly void Slice(sbyte* x, sbyte* y, int stride, int max)
    {
        double sum = 0;
        for (int c = 0; c < _slices.Depth; c++)
        {
            sum += _exp[max - x[c * stride]];
        }

        double log = DeterministicMath.Log(sum);
        for (int c = 0; c < _slices.Depth; c++)
        {
            double real = -_step * (max - x[c * stride]) - log;
            y[c * stride] = QuantizedMath.SaturateToInt8(OutputZeroPoint + Math.Round(real / _outputStep, MidpointRounding.AwayFromZero));
        }
    }
}
