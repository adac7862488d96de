using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Output axis i takes input axis Perm[i] (rank ≤ 8). Prepare simplifies the permutation first: size-1 axes are
/// dropped, and input axes that stay adjacent and in order in the output are merged (NHWC→NCHW, perm [0,3,1,2],
/// becomes [N, H·W, C] → [N, C, H·W]). What remains picks the loop:
/// <list type="bullet">
/// <item>one axis: the permutation moves nothing, a plain copy;</item>
/// <item>[R,C] → [C,R], or a batch of them ([B,R,C] → [B,C,R]: NHWC↔NCHW and every other 4-D layout swap of two
/// groups): the blocked 2-D transpose of <see cref="FloatMatrix.Transpose"/>;</item>
/// <item>anything else: an odometer over the outer output axes and a strided gather along the innermost.</item>
/// </list>
/// A copy, so every path gives the same bytes.
/// </summary>
public unsafe struct TransposeKernel : IKernel<TransposeKernel>
{
    private float* _input;
    private float* _output;
    private int[] _outSizes;       // simplified output axes
    private long[] _inStrides;     // input stride (elements) of each simplified output axis
    private long _count;
    private Shape _shape;

    private enum Shape
    {
        Copy,
        BatchedMatrix,
        General,
    }

    public static OpCode OpCode => OpCode.Transpose;

    public static TransposeKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(output, DataType.Float32, "output");
        TransposeOptions options;
        try
        {
            options = TransposeOptions.Read(context.Options);
        }
        catch (ArgumentException e)
        {
            context.Fail(e.Message);
            throw; // unreachable: Fail throws
        }

        ReadOnlySpan<int> perm = options.Perm;
        int rank = input.Rank;
        context.Require(perm.Length == rank, $"permutation of {perm.Length} axes does not match input {input}");
        Span<bool> seen = stackalloc bool[FormatConstants.MaxRank];
        for (int i = 0; i < rank; i++)
        {
            context.Require(perm[i] >= 0 && perm[i] < rank && !seen[perm[i]], $"[{string.Join(",", perm.ToArray())}] is not a permutation of {rank} axes");
            seen[perm[i]] = true;
        }

        var expected = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            expected[i] = input.Dim(perm[i]);
        }

        context.RequireShape(output, expected, "output");

        // Keep the input axes of size > 1 (relabelled 0..kept-1), in output order.
        var inputLabel = new int[rank];
        var keptSizes = new List<int>();
        for (int d = 0; d < rank; d++)
        {
            inputLabel[d] = input.Dim(d) > 1 ? keptSizes.Count : -1;
            if (input.Dim(d) > 1)
            {
                keptSizes.Add(input.Dim(d));
            }
        }

        var order = new List<int>();
        for (int i = 0; i < rank; i++)
        {
            if (inputLabel[perm[i]] >= 0)
            {
                order.Add(inputLabel[perm[i]]);
            }
        }

        // Merge runs of consecutive input axes in output order into groups; a group's input position is its first axis.
        var groupFirst = new List<int>();
        var groupSize = new List<int>();
        for (int i = 0; i < order.Count; i++)
        {
            if (i > 0 && order[i] == order[i - 1] + 1)
            {
                groupSize[^1] *= keptSizes[order[i]];
            }
            else
            {
                groupFirst.Add(order[i]);
                groupSize.Add(keptSizes[order[i]]);
            }
        }

        // Input strides of the groups: groups sorted by input position are the simplified input's axes.
        int groups = groupFirst.Count;
        var inStrides = new long[groups];
        long running = 1;
        foreach (int g in Enumerable.Range(0, groups).OrderByDescending(g => groupFirst[g]))
        {
            inStrides[g] = running;
            running *= groupSize[g];
        }

        Shape shape = groups <= 1 ? Shape.Copy
            : IsBatchedMatrix(inStrides, groupSize) ? Shape.BatchedMatrix
            : Shape.General;
        return new TransposeKernel
        {
            _input = (float*)context.InputBuffer(0).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _outSizes = [.. groupSize],
            _inStrides = inStrides,
            _count = input.ElementCount,
            _shape = shape,
        };
    }

    /// <summary>[R,C] → [C,R] or [B,R,C] → [B,C,R]: output axes (B,) C, R with input strides (R·C,) 1, C.</summary>
    private static bool IsBatchedMatrix(long[] inStrides, List<int> sizes)
    {
        int n = sizes.Count;
        if (n is not (2 or 3))
        {
            return false;
        }

        int c = n - 2, r = n - 1; // output axis holding the input columns, then the input rows
        bool matrix = inStrides[c] == 1 && inStrides[r] == sizes[c];
        return matrix && (n == 2 || inStrides[0] == (long)sizes[1] * sizes[2]);
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        switch (_shape)
        {
            case Shape.Copy:
                Buffer.MemoryCopy(_input, _output, _count * sizeof(float), _count * sizeof(float));
                break;
            case Shape.BatchedMatrix:
                int n = _outSizes.Length;
                int cols = _outSizes[n - 2], rows = _outSizes[n - 1];
                long batches = n == 3 ? _outSizes[0] : 1;
                long matrix = (long)rows * cols;
                for (long b = 0; b < batches; b++)
                {
                    FloatMatrix.Transpose(_input + b * matrix, _output + b * matrix, rows, cols);
                }

                break;
            default:
                Gather();
                break;
        }
    }

    private readonly void Gather()
    {
        int last = _outSizes.Length - 1;
        int inner = _outSizes[last];
        long innerStride = _inStrides[last];
        long outer = _count / inner;
        Span<int> index = stackalloc int[FormatConstants.MaxRank];
        long offset = 0;
        float* y = _output;
        for (long o = 0; o < outer; o++, y += inner)
        {
            float* x = _input + offset;
            for (int i = 0; i < inner; i++)
            {
                y[i] = x[i * innerStride];
            }

            for (int d = last - 1; d >= 0; d--)
            {
                offset += _inStrides[d];
                if (++index[d] < _outSizes[d])
                {
                    break;
                }

                index[d] = 0;
                offset -= _inStrides[d] * _outSizes[d];
            }
        }
    }
}
