using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Y [..., M, N] = clamp(A [..., M, K] × B [..., K, N]) with NumPy broadcasting of the batch axes (everything before
/// the last two; ranks may differ, missing leading axes are 1). Each output is <see cref="FloatGemm"/>'s sequential
/// fused multiply-add chain over k = 0..K−1, so MatMul agrees bit for bit with FullyConnected on the same numbers.
/// <para>B is packed into <see cref="FloatGemm"/>'s column panels: once at load when B is a constant, otherwise into
/// scratch on each invoke, once per distinct B batch (a B broadcast over A's batches is packed once). Which A and B
/// batch each output batch reads is precomputed.</para>
/// </summary>
public unsafe struct MatMulKernel : IKernel<MatMulKernel>
{
    private float* _a;
    private float* _b;
    private float* _output;
    private int[] _aBatch;        // per output batch: A's batch index
    private int[] _bBatch;        // per output batch: B's batch index
    private float[]? _packedB;    // constant B in FloatGemm panels, one block per B batch (pinned), or null
    private int _m;
    private int _k;
    private int _n;
    private float _min;
    private float _max;
    private KernelPath _path;

    public static OpCode OpCode => OpCode.MatMul;

    public static MatMulKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 2);
        context.RequireOutputs(1);
        TensorInfo a = context.Input(0);
        TensorInfo b = context.Input(1);
        TensorInfo output = context.Output(0);
        context.RequireType(a, DataType.Float32, "input a");
        context.RequireType(b, DataType.Float32, "input b");
        context.RequireType(output, DataType.Float32, "output");
        context.Require(a.Rank >= 2 && b.Rank >= 2, $"inputs {a} and {b} must be at least rank 2 ([..., M, K] and [..., K, N])");
        ClampOptions clamp = FusedClamp.Validate(ref context, ClampOptions.Read(context.Options));
        int m = a.Dim(-2), k = a.Dim(-1), n = b.Dim(-1);
        context.Require(b.Dim(-2) == k, $"inner sizes differ: {a} has K = {k}, {b} has {b.Dim(-2)}");

        int rank = Math.Max(a.Rank, b.Rank);
        int batchAxes = rank - 2;
        var expected = new int[rank];
        var aSizes = new int[batchAxes];
        var bSizes = new int[batchAxes];
        for (int d = 0; d < batchAxes; d++)
        {
            int ad = d - (rank - a.Rank) >= 0 ? a.Dim(d - (rank - a.Rank)) : 1;
            int bd = d - (rank - b.Rank) >= 0 ? b.Dim(d - (rank - b.Rank)) : 1;
            context.Require(ad == bd || ad == 1 || bd == 1, $"batch axes of {a} and {b} do not broadcast (axis {d}: {ad} against {bd})");
            aSizes[d] = ad;
            bSizes[d] = bd;
            expected[d] = Math.Max(ad, bd);
        }

        expected[rank - 2] = m;
        expected[rank - 1] = n;
        context.RequireShape(output, expected, "output");

        // Output batch → (A batch, B batch), walking the output batch axes in order.
        int batches = 1;
        for (int d = 0; d < batchAxes; d++)
        {
            batches *= expected[d];
        }

        var aBatch = new int[batches];
        var bBatch = new int[batches];
        Span<int> index = stackalloc int[FormatConstants.MaxRank];
        for (int ob = 0; ob < batches; ob++)
        {
            int ai = 0, bi = 0;
            for (int d = 0; d < batchAxes; d++)
            {
                ai = ai * aSizes[d] + (aSizes[d] == 1 ? 0 : index[d]);
                bi = bi * bSizes[d] + (bSizes[d] == 1 ? 0 : index[d]);
            }

            aBatch[ob] = ai;
            bBatch[ob] = bi;
            for (int d = batchAxes - 1; d >= 0 && ++index[d] == expected[d]; d--)
            {
                index[d] = 0;
            }
        }

        var kernel = new MatMulKernel
        {
            _a = (float*)context.InputBuffer(0).Pointer,
            _b = (float*)context.InputBuffer(1).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _aBatch = aBatch,
            _bBatch = bBatch,
            _m = m,
            _k = k,
            _n = n,
            _min = clamp.Min,
            _max = clamp.Max,
            _path = context.Path,
        };

        long matrix = (long)k * n;
        long packedMatrix = FloatGemm.PackedLength(n, k);
        if (KernelContext.IsFixedAtPrepare(b))
        {
            long bBatches = b.ElementCount / matrix;
            kernel._packedB = context.AllocatePersistent<float>(checked((int)(bBatches * packedMatrix)));
            fixed (float* packed = kernel._packedB)
            {
                for (long i = 0; i < bBatches; i++)
                {
                    FloatGemm.PackColumns(kernel._b + i * matrix, n, n, k, packed + i * packedMatrix);
                }
            }
        }
        else
        {
            context.RequestScratch(packedMatrix * sizeof(float));
        }

        return kernel;
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        long matrix = (long)_k * _n;
        long packedMatrix = FloatGemm.PackedLength(_n, _k);
        float* panels = _packedB is { } constantPanels
            ? (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(constantPanels)) // pinned at allocation
            : (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(scratch));
        int lastB = -1;
        for (int ob = 0; ob < _aBatch.Length; ob++)
        {
            int bi = _bBatch[ob];
            float* packed;
            if (_packedB is not null)
            {
                packed = panels + bi * packedMatrix;
            }
            else
            {
                packed = panels;
                if (bi != lastB)
                {
                    FloatGemm.PackColumns(_b + bi * matrix, _n, _n, _k, packed);
                    lastB = bi;
                }
            }

            FloatGemm.Multiply(_path, _a + (long)_aBatch[ob] * _m * _k, _k, _m, packed, _n, _k,
                _output + (long)ob * _m * _n, _n, null, _min, _max);
        }
    }
}
