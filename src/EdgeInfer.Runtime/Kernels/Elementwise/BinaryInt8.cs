using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeInfer.Runtime.Kernels.Common;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>What Add, Sub and Mul int8 share: two int8 operands broadcast NumPy-style to an int8 output, a clamp.</summary>
internal unsafe struct BinaryInt8
{
    public TensorBuffer A, B, Output;
    public BroadcastPlan Plan;
    public float ScaleA, ScaleB, ScaleOut;
    public int ZeroA, ZeroB, ZeroOut, Min, Max;

    public static BinaryInt8 Read(ref KernelContext context)
    {
        context.RequireInputs(2, 2);
        context.RequireOutputs(1);
        TensorInfo a = context.Input(0);
        TensorInfo b = context.Input(1);
        TensorInfo y = context.Output(0);
        var op = new BinaryInt8 { A = context.InputBuffer(0), B = context.InputBuffer(1), Output = context.OutputBuffer(0) };
        (op.ScaleA, op.ZeroA) = QuantizedTensors.PerTensor(ref context, a, "input A");
        (op.ScaleB, op.ZeroB) = QuantizedTensors.PerTensor(ref context, b, "input B");
        (op.ScaleOut, op.ZeroOut) = QuantizedTensors.PerTensor(ref context, y, "output");
        context.Require(BroadcastPlan.TryCreate(a.Shape, b.Shape, y.Shape, out op.Plan), $"{a} and {b} do not broadcast to {y}");
        ClampOptions clamp = ClampOptions.Read(context.Options);
        context.Require(!(clamp.Min > clamp.Max), $"clamp [{clamp.Min}, {clamp.Max}] is empty");
        (op.Min, op.Max) = QuantizedMath.ActivationRange(clamp.Min, clamp.Max, op.ScaleOut, op.ZeroOut);
        context.Require(op.Min <= op.Max, $"clamp [{clamp.Min}, {clamp.Max}] is empty once quantized");
        return op;
    }
}

/// <summary>
/// Int8 Add and Sub, TFLite's way: both inputs are shifted left by 20 bits and rescaled to twice the larger input
/// scale, summed, then requantized to the output. Each input's rescaled value depends only on its byte, so it is
/// tabulated at Prepare (256 int32 per input, Sub stores the second table negated); Invoke then does two lookups,
/// one add and one MultiplyByQuantizedMultiplier per element.
/// </summary>
internal unsafe struct AddSubInt8
{
    private const int LeftShift = 20;
    public BinaryInt8 Op;
    public int[] TableA, TableB;
    public int OutputMultiplier, OutputShift;
    public bool UseAvx2;

    public static AddSubInt8 Create(ref KernelContext context, bool subtract)
    {
        BinaryInt8 op = BinaryInt8.Read(ref context);
        double twiceMax = 2 * (double)Math.Max(op.ScaleA, op.ScaleB);
        (int ma, int sa) = QuantizedMath.QuantizeMultiplier(op.ScaleA / twiceMax);
        (int mb, int sb) = QuantizedMath.QuantizeMultiplier(op.ScaleB / twiceMax);
        (int mo, int so) = QuantizedMath.QuantizeMultiplier(twiceMax / ((1 << LeftShift) * (double)op.ScaleOut));
        var r = new AddSubInt8
        {
            Op = op,
            TableA = context.AllocatePersistent<int>(256),
            TableB = context.AllocatePersistent<int>(256),
            OutputMultiplier = mo,
            OutputShift = so,
            UseAvx2 = context.Path == KernelPath.Avx2 && System.Runtime.Intrinsics.X86.Avx2.IsSupported,
        };
        for (int q = -128; q < 128; q++)
        {
            r.TableA[q + 128] = QuantizedMath.MultiplyByQuantizedMultiplier((q - op.ZeroA) * (1 << LeftShift), ma, sa);
            int b = QuantizedMath.MultiplyByQuantizedMultiplier((q - op.ZeroB) * (1 << LeftShift), mb, sb);
            r.TableB[q + 128] = subtract ? -b : b;
        }

        return r;
    }

    public readonly void Invoke()
    {
        sbyte* a = (sbyte*)Op.A.Pointer;
        sbyte* b = (sbyte*)Op.B.Pointer;
        sbyte* y = (sbyte*)Op.Output.Pointer;
        ref int ta = ref TableA[0];
        ref int tb = ref TableB[0];
        int n = Op.Plan.InnerLength, strideA = Op.Plan.InnerStrideA, strideB = Op.Plan.InnerStrideB;
        for (int run = 0; run < Op.Plan.OuterCount; run++)
        {
            Op.Plan.RunOffsets(run, out long offsetA, out long offsetB);
            sbyte* ar = a + offsetA;
            sbyte* br = b + offsetB;
            sbyte* yr = y + (long)run * n;
            int i = 0;
            if (UseAvx2 && strideA == 1 && strideB == 1)
            {
                i = Avx2Run(ar, br, yr, n);
            }

            for (; i < n; i++)
            {
                int sum = Unsafe.Add(ref ta, ar[i * strideA] + 128) + Unsafe.Add(ref tb, br[i * strideB] + 128);
                int v = Op.ZeroOut + QuantizedMath.MultiplyByQuantizedMultiplier(sum, OutputMultiplier, OutputShift);
                yr[i] = (sbyte)Math.Clamp(v, Op.Min, Op.Max);
            }
        }
    }
    /// <summary>Eight elements at a time: two table gathers, one add, the vector MBQM; returns how many were done.</summary>
    private readonly int Avx2Run(sbyte* a, sbyte* b, sbyte* y, int n)
    {
        Vector256<int> offset = Vector256.Create(128);
        Vector256<int> m = Vector256.Create(OutputMultiplier);
        Vector256<uint> left = Vector256.Create((uint)Math.Max(OutputShift, 0));
        Vector256<uint> right = Vector256.Create((uint)Math.Max(-OutputShift, 0));
        Vector256<int> zero = Vector256.Create(Op.ZeroOut);
        Vector128<sbyte> min = Vector128.Create((sbyte)Op.Min), max = Vector128.Create((sbyte)Op.Max);
        int i = 0;
        fixed (int* ta = TableA, tb = TableB)
        {
            for (; i <= n - 8; i += 8)
            {
                Vector256<int> ia = Avx2.ConvertToVector256Int32(a + i) + offset;
                Vector256<int> ib = Avx2.ConvertToVector256Int32(b + i) + offset;
                Vector256<int> sum = Avx2.GatherVector256(ta, ia, 4) + Avx2.GatherVector256(tb, ib, 4);
                Vector256<int> v = Int8Requantizer.Avx2Mbqm(sum, m, left, right) + zero;
                Vector128<short> s16 = Sse2.PackSignedSaturate(v.GetLower(), v.GetUpper());
                Vector128<sbyte> s8 = Sse41.Min(Sse41.Max(Sse2.PackSignedSaturate(s16, s16), min), max);
                *(long*)(y + i) = s8.AsInt64().ToScalar();
            }
        }

        return i;
    }
}

/// <summary>Int8 Add (NumPy broadcasting, clamp), TFLite's arithmetic. See <see cref="AddSubInt8"/>.</summary>
public struct AddInt8Kernel : IKernel<AddInt8Kernel>
{
    private AddSubInt8 _op;

    public static OpCode OpCode => OpCode.Add;

    public static DataType InputType => DataType.Int8;

    public static AddInt8Kernel Prepare(ref KernelContext context) => new() { _op = AddSubInt8.Create(ref context, subtract: false) };

    public readonly void Invoke(Span<byte> scratch) => _op.Invoke();
}

/// <summary>Int8 Sub (NumPy broadcasting, clamp), TFLite's arithmetic. See <see cref="AddSubInt8"/>.</summary>
public struct SubInt8Kernel : IKernel<SubInt8Kernel>
{
    private AddSubInt8 _op;

    public static OpCode OpCode => OpCode.Sub;

    public static DataType InputType => DataType.Int8;

    public static SubInt8Kernel Prepare(ref KernelContext context) => new() { _op = AddSubInt8.Create(ref context, subtract: true) };

    public readonly void Invoke(Span<byte> scratch) => _op.Invoke();
}

/// <summary>Int8 Mul: y = clamp(zy + MBQM((a − za)·(b − zb), QuantizeMultiplier(sa·sb/sy))), NumPy broadcasting.</summary>
public unsafe struct MulInt8Kernel : IKernel<MulInt8Kernel>
{
    private BinaryInt8 _op;
    private int _multiplier, _shift;

    public static OpCode OpCode => OpCode.Mul;

    public static DataType InputType => DataType.Int8;

    public static MulInt8Kernel Prepare(ref KernelContext context)
    {
        BinaryInt8 op = BinaryInt8.Read(ref context);
        (int m, int s) = QuantizedMath.QuantizeMultiplier((double)op.ScaleA * op.ScaleB / op.ScaleOut);
        return new MulInt8Kernel { _op = op, _multiplier = m, _shift = s };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        sbyte* a = (sbyte*)_op.A.Pointer;
        sbyte* b = (sbyte*)_op.B.Pointer;
        sbyte* y = (sbyte*)_op.Output.Pointer;
        int n = _op.Plan.InnerLength, strideA = _op.Plan.InnerStrideA, strideB = _op.Plan.InnerStrideB;
        for (int run = 0; run < _op.Plan.OuterCount; run++)
        {
            _op.Plan.RunOffsets(run, out long offsetA, out long offsetB);
            sbyte* ar = a + offsetA;
            sbyte* br = b + offsetB;
            sbyte* yr = y + (long)run * n;
            for (int i = 0; i < n; i++)
            {
                int product = (ar[i * strideA] - _op.ZeroA) * (br[i * strideB] - _op.ZeroB);
                int v = _op.ZeroOut + QuantizedMath.MultiplyByQuantizedMultiplier(product, _multiplier, _shift);
                yr[i] = (sbyte)Math.Clamp(v, _op.Min, _op.Max);
            }
        }
    }
}
