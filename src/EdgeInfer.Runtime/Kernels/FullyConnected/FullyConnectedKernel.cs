using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Y[M,N] = clamp(X[M,K]·W[N,K]ᵀ + B[N]). X may have any rank whose element count is M·K; W is row-major with
/// one row per output (the PyTorch/TFLite layout). The product is <see cref="FloatGemm"/>: each output one
/// sequential fused multiply-add chain over k = 0..K−1 in the order of the input row, then + bias, then the clamp.
/// <para>W is packed into <see cref="FloatGemm"/>'s column panels once at load when it is a constant, otherwise
/// into scratch on each invoke (weights computed at run time).</para>
/// </summary>
public unsafe struct FullyConnectedKernel : IKernel<FullyConnectedKernel>
{
    private float* _input;
    private float* _weights;
    private float* _bias;
    private float* _output;
    private float[]? _packed;     // constant W in FloatGemm panels (pinned), or null: packed into scratch per invoke
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
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(weights, DataType.Float32, "weights");
        context.RequireType(output, DataType.Float32, "output");
        context.Require(weights.Rank == 2, $"weights {weights} must be rank 2 [units, depth]");
        int units = weights.Dim(0);
        int depth = weights.Dim(1);
        context.Require(input.ElementCount % depth == 0, $"input {input} does not divide into rows of {depth}");
        int rows = (int)(input.ElementCount / depth);
        context.Require(output.Rank >= 1 && output.ElementCount == (long)rows * units && output.Dim(-1) == units, $"output {output} should hold {rows}×{units} values");
        ClampOptions clamp = FusedClamp.Validate(ref context, ClampOptions.Read(context.Options));
        if (context.HasInput(2))
        {
            TensorInfo bias = context.Input(2);
            context.RequireType(bias, DataType.Float32, "bias");
            context.Require(bias.ElementCount == units, $"bias {bias} should hold {units} values");
        }

        var kernel = new FullyConnectedKernel
        {
            _input = (float*)context.InputBuffer(0).Pointer,
            _weights = (float*)context.InputBuffer(1).Pointer,
            _bias = (float*)context.InputBuffer(2).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _rows = rows,
            _depth = depth,
            _units = units,
            _min = clamp.Min,
            _max = clamp.Max,
            _path = context.Path,
        };

        long packedLength = FloatGemm.PackedLength(units, depth);
        if (KernelContext.IsFixedAtPrepare(weights))
        {
            kernel._packed = context.AllocatePersistent<float>(checked((int)packedLength));
            fixed (float* packed = kernel._packed)
            {
                FloatGemm.PackRows(kernel._weights, depth, units, depth, packed);
            }
        }
        else
        {
            context.RequestScratch(packedLength * sizeof(float));
        }

        return kernel;
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        float* packed;
        if (_packed is { } atLoad)
        {
            packed = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(atLoad)); // pinned at allocation
        }
        else
        {
            packed = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(scratch));
            FloatGemm.PackRows(_weights, _depth, _units, _depth, packed);
        }

        FloatGemm.Multiply(_path, _input, _depth, _rows, packed, _units, _depth, _output, _units, _bias, _min, _max);
    }
}
