using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Y[M,N] = clamp(zy + MBQM(Σ_k (X[m,k] − zx)·W[n,k] + B[n], M_n, shift_n)) on int8 activations, symmetric int8
/// weights (per tensor or per output channel) and an optional int32 bias. The work is <see cref="Int8Gemm"/>'s, or
/// <see cref="SparseInt8Gemm"/>'s when the weights are stored in 16-wide sparse blocks and there are fewer than four rows.
/// </summary>
public unsafe struct FullyConnectedInt8Kernel : IKernel<FullyConnectedInt8Kernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private int _rows;
    private Int8Gemm _gemm;
    private SparseInt8Gemm _sparse;
    private bool _isSparse;

    public static OpCode OpCode => OpCode.FullyConnected;

    public static DataType InputType => DataType.Int8;

    public static FullyConnectedInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 3);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo weights = context.Input(1);
        TensorInfo output = context.Output(0);
        context.Require(weights.Rank == 2, $"weights {weights} must be rank 2 [units, depth]");
        int units = weights.Dim(0);
        int depth = weights.Dim(1);
        context.Require(depth > 0 && input.ElementCount % depth == 0, $"input {input} does not divide into rows of {depth}");
        int rows = (int)(input.ElementCount / depth);
        context.Require(output.ElementCount == (long)rows * units && output.Dim(-1) == units, $"output {output} should hold {rows}×{units} values");
        (float inputScale, int inputZero) = QuantizedTensors.PerTensor(ref context, input, "input");
        (float outputScale, int outputZero) = QuantizedTensors.PerTensor(ref context, output, "output");
        float[] weightScales = QuantizedTensors.SymmetricWeights(ref context, weights, units, "weights");
        int* bias = QuantizedTensors.Bias(ref context, 2, units);
        ClampOptions clamp = ClampOptions.Read(context.Options);
        context.Require(!(clamp.Min > clamp.Max), $"clamp [{clamp.Min}, {clamp.Max}] is empty");
        if (SparseInt8Gemm.Serves(rows) && context.SparseInput(1, SparseInt8Gemm.BlockWidth, out SparseMatrix sparse))
        {
            // Pruned weights stored as 16-wide blocks, a matrix–vector product: the work follows the stored blocks
            // (same bytes as dense). With more rows the blocks are expanded and the dense GEMM runs.
            var product = SparseInt8Gemm.Create(ref context, sparse, bias, inputZero, inputScale, weightScales, outputScale, outputZero, clamp);
            context.RequestScratch(product.ScratchBytes);
            return new FullyConnectedInt8Kernel { _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _rows = rows, _sparse = product, _isSparse = true };
        }

        var gemm = Int8Gemm.Create(ref context, (sbyte*)context.InputBuffer(1).Pointer, units, depth, bias, inputZero,
            inputScale, weightScales, outputScale, outputZero, clamp, rows);
        context.RequestScratch(gemm.ScratchBytes);
        return new FullyConnectedInt8Kernel { _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _rows = rows, _gemm = gemm };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        if (_isSparse)
        {
            _sparse.Run((sbyte*)_input.Pointer, _sparse.Depth, _rows, (sbyte*)_output.Pointer, _sparse.Units, scratch);
            return;
        }

        _gemm.Run((sbyte*)_input.Pointer, _gemm.Depth, _rows, (sbyte*)_output.Pointer, _gemm.Units, scratch);
    }
}
