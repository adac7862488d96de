using System.Runtime.CompilerServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Y[M,N] = clamp(X[M,K]·W[N,K]ᵀ + B[N]). X may have any rank whose element count is M·K; W is row-major with
/// one row per output (the PyTorch/TFLite layout), used in place from the model.
/// </summary>
public unsafe struct FullyConnectedKernel : IKernel<FullyConnectedKernel>
{
    private TensorBuffer _input;
    private TensorBuffer _weights;
    private TensorBuffer _bias;
    private TensorBuffer _output;
    private int _rows;
    private int _depth;
    private int _units;
    private float _min;
    private float _max;
    private KernelPath _path;

    public static OpCode OpCode => OpCode.FullyConnected;

    public static FullyConnectedKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 3);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo weights = context.Input(1);
        TensorInfo output = context.Output(0);
        context.Require(weights.Rank == 2, $"weights {weights} must be rank 2 [units, depth]");
        int units = weights.Dim(0);
        int depth = weights.Dim(1);
        context.Require(input.ElementCount % depth == 0, $"input {input} does not divide into rows of {depth}");
        int rows = (int)(input.ElementCount / depth);
        context.Require(output.ElementCount == (long)rows * units && output.Dim(-1) == units, $"output {output} should hold {rows}×{units} values");
        ClampOptions clamp = ClampOptions.Read(context.Options);
        context.Require(!(clamp.Min > clamp.Max), $"clamp [{clamp.Min}, {clamp.Max}] is empty");
        if (context.HasInput(2))
        {
            TensorInfo bias = context.Input(2);
            context.Require(bias.ElementCount == units, $"bias {bias} should hold {units} values");
            context.RequireType(bias, DataType.Float32, "bias");
        }

        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(weights, DataType.Float32, "weights");
        context.RequireType(output, DataType.Float32, "output");
        return new FullyConnectedKernel
        {
            _input = context.InputBuffer(0),
            _weights = context.InputBuffer(1),
            _bias = context.InputBuffer(2),
            _output = context.OutputBuffer(0),
            _rows = rows,
            _depth = depth,
            _units = units,
            _min = clamp.Min,
            _max = clamp.Max,
            _path = context.Path,
        };
    }

    public void Invoke(Span<byte> scratch)
    {
        ref float x = ref _input.Ref<float>();
        ref float w = ref _weights.Ref<float>();
        ref float y = ref _output.Ref<float>();
        float* bias = (float*)_bias.Pointer;
        int k = _depth;
        for (int m = 0; m < _rows; m++)
        {
            ref float xRow = ref Unsafe.Add(ref x, m * k);
            ref float yRow = ref Unsafe.Add(ref y, m * _units);
            for (int n = 0; n < _units; n += 4)
            {
                int count = Math.Min(4, _units - n);
                ref float w0 = ref Unsafe.Add(ref w, n * k);
                FloatDot.Dot4(_path, ref xRow, ref w0,
                    ref Unsafe.Add(ref w0, count > 1 ? k : 0), ref Unsafe.Add(ref w0, count > 2 ? 2 * k : 0), ref Unsafe.Add(ref w0, count > 3 ? 3 * k : 0),
                    k, count, ref Unsafe.Add(ref yRow, n), ref Unsafe.Add(ref yRow, n + (count > 1 ? 1 : 0)),
                    ref Unsafe.Add(ref yRow, n + (count > 2 ? 2 : 0)), ref Unsafe.Add(ref yRow, n + (count > 3 ? 3 : 0)));
                for (int j = 0; j < count; j++)
                {
                    ref float v = ref Unsafe.Add(ref yRow, n + j);
                    float sum = bias == null ? v : v + bias[n + j];
                    v = Math.Clamp(sum, _min, _max);
                }
            }
        }
    }
}
