using EdgeInfer.Runtime.Kernels.Common;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 batched matrix product [..., M, K] × [..., K, N] with broadcast batch dimensions; both operands int8 per
/// tensor (activations or constants, any zero points): y = clamp(zy + MBQM(Σ_k (a − za)(b − zb), QuantizeMultiplier(sa·sb/sy))).
/// K is limited so that |Σ| ≤ K·255·255 stays in int32.
/// </summary>
public unsafe struct MatMulInt8Kernel : IKernel<MatMulInt8Kernel>
{
    private TensorBuffer _a, _b, _output;
    private BroadcastPlan _batches;
    private int _m, _k, _n, _za, _zb, _zy, _multiplier, _shift, _min, _max;

    public static OpCode OpCode => OpCode.MatMul;

    public static DataType InputType => DataType.Int8;

    public static MatMulInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 2);
        context.RequireOutputs(1);
        TensorInfo a = context.Input(0);
        TensorInfo b = context.Input(1);
        TensorInfo y = context.Output(0);
        context.Require(a.Rank >= 2 && b.Rank >= 2 && y.Rank >= 2, $"MatMul needs matrices: {a} × {b} → {y}");
        int m = a.Dim(-2), k = a.Dim(-1), n = b.Dim(-1);
        context.Require(b.Dim(-2) == k && y.Dim(-2) == m && y.Dim(-1) == n, $"{a} × {b} does not give {y}");
        context.Require(k <= 33_000, $"depth {k} could overflow the int32 sum of (a − za)(b − zb)");
        (float sa, int za) = QuantizedTensors.PerTensor(ref context, a, "input A");
        (float sb, int zb) = QuantizedTensors.PerTensor(ref context, b, "input B");
        (float sy, int zy) = QuantizedTensors.PerTensor(ref context, y, "output");
        context.Require(BroadcastPlan.TryCreate(a.Shape[..^2], b.Shape[..^2], y.Shape[..^2], out BroadcastPlan batches),
            $"the batch dimensions of {a} and {b} do not broadcast to {y}");
        ClampOptions clamp = ClampOptions.Read(context.Options);
        context.Require(!(clamp.Min > clamp.Max), $"clamp [{clamp.Min}, {clamp.Max}] is empty");
        (int min, int max) = QuantizedMath.ActivationRange(clamp.Min, clamp.Max, sy, zy);
        context.Require(min <= max, $"clamp [{clamp.Min}, {clamp.Max}] is empty once quantized");
        (int multiplier, int shift) = QuantizedMath.QuantizeMultiplier((double)sa * sb / sy);
        return new MatMulInt8Kernel
        {
            _a = context.InputBuffer(0), _b = context.InputBuffer(1), _output = context.OutputBuffer(0), _batches = batches,
            _m = m, _k = k, _n = n, _za = za, _zb = zb, _zy = zy, _multiplier = multiplier, _shift = shift, _min = min, _max = max,
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        long sizeA = (long)_m * _k, sizeB = (long)_k * _n, sizeY = (long)_m * _n;
        int runs = _batches.OuterCount, inner = _batches.InnerLength;
        for (int run = 0; run < runs; run++)
        {
            _batches.RunOffsets(run, out long offA, out long offB);
            for (int i = 0; i < inner; i++)
            {
                long batch = (long)run * inner + i;
                Matrix((sbyte*)_a.Pointer + (offA + i * _batches.InnerStrideA) * sizeA, (sbyte*)_b.Pointer + (offB + i * _batches.InnerStrideB) * sizeB,
                    (sbyte*)_output.Pointer + batch * sizeY);
            }
        }
    }

    private readonly void Matrix(sbyte* a, sbyte* b, sbyte* y)
    {
        for (int r = 0; r < _m; r++)
        {
            sbyte* ar = a + (long)r * _k;
            for (int c = 0; c < _n; c++)
            {
                int acc = 0;
                for (int i = 0; i < _k; i++)
                {
                    acc += (ar[i] - _za) * (b[(long)i * _n + c] - _zb);
                }

                y[(long)r * _n + c] = (sbyte)Math.Clamp(_zy + QuantizedMath.MultiplyByQuantizedMultiplier(acc, _multiplier, _shift), _min, _max);
            }
        }
    }
}
