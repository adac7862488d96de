using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
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

    /// <summary>
    /// Sixteen requantized int32 results (before the output zero point) to clamped int8, as the scalar
    /// clamp(zy + v): vpackssdw to int16, + zy saturating (exact below |32767|, the same int8 saturation beyond it),
    /// vpacksswb, then the clamp. vpackssdw interleaves the halves by lane ([lo 0-3, hi 0-3 | lo 4-7, hi 4-7]); vpermq
    /// restores the order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Avx2Output(Vector256<int> lo, Vector256<int> hi, Vector256<short> zero, Vector128<sbyte> min, Vector128<sbyte> max)
    {
        Vector256<short> s16 = Avx2.Permute4x64(Avx2.PackSignedSaturate(lo, hi).AsInt64(), 0b11_01_10_00).AsInt16();
        s16 = Avx2.AddSaturate(s16, zero);
        Vector128<sbyte> s8 = Sse2.PackSignedSaturate(s16.GetLower(), s16.GetUpper());
        return Sse41.Min(Sse41.Max(s8, min), max);
    }
}

/// <summary>
/// Int8 Add and Sub, TFLite's way: both inputs are shifted left by 20 bits and rescaled to twice the larger input
/// scale, summed, then requantized to the output. Each input's rescaled value depends only on its byte, so the
/// scalar path tabulates it at Prepare (256 int32 per input, Sub stores the second table negated) and does two
/// lookups, one add and one MultiplyByQuantizedMultiplier per element. AVX2 computes the rescaling instead
/// (<see cref="RescaleAvx2"/>): a table gather costs more than the arithmetic on the cores we measured. AdvSimd
/// computes it as TFLite's NEON code does: SQRDMULH of (q − z)·2^20, then the rounding shift (<see cref="NeonRun"/>).
/// </summary>
internal unsafe struct AddSubInt8
{
    internal const int LeftShift = 20;
    public BinaryInt8 Op;
    public int[] TableA, TableB;
    public int OutputMultiplier, OutputShift;
    public bool UseAvx2;
    public bool UseNeon;
    public bool Subtract;
    public RescaleAvx2 RescaleA, RescaleB;
    public Int8Requantizer.Avx2Uniform OutputAvx2;
    public NeonAddConstants Neon;

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
            // The input multipliers are at most 1/2, so their shifts are never positive (RescaleAvx2 relies on it).
            UseAvx2 = KernelPaths.UsesAvx2(context.Path) && sa <= 0 && sb <= 0,
            UseNeon = context.Path is KernelPath.Vector128 or KernelPath.DotProduct && AdvSimd.Arm64.IsSupported && sa <= 0 && sb <= 0,
            Subtract = subtract,
            RescaleA = new RescaleAvx2(op.ZeroA, ma, sa),
            RescaleB = new RescaleAvx2(op.ZeroB, mb, sb),
            // Built once here, not per broadcast run (an add of a per-channel constant is one run per pixel).
            OutputAvx2 = new Int8Requantizer.Avx2Uniform(mo, so),
            Neon = new NeonAddConstants(op, ma, sa, mb, sb, mo, so),
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
            else if (UseNeon && strideA == 1 && strideB == 1)
            {
                i = NeonRun(ar, br, yr, n);
            }

            for (; i < n; i++)
            {
                int sum = Unsafe.Add(ref ta, ar[i * strideA] + 128) + Unsafe.Add(ref tb, br[i * strideB] + 128);
                int v = Op.ZeroOut + QuantizedMath.MultiplyByQuantizedMultiplier(sum, OutputMultiplier, OutputShift);
                yr[i] = (sbyte)Math.Clamp(v, Op.Min, Op.Max);
            }
        }
    }
    /// <summary>Sixteen elements at a time: both rescalings, the add, the vector MBQM; returns how many were done.</summary>
    private readonly int Avx2Run(sbyte* a, sbyte* b, sbyte* y, int n)
    {
        Int8Requantizer.Avx2Uniform output = OutputAvx2;
        Vector256<short> zero = Vector256.Create((short)Op.ZeroOut);
        Vector128<sbyte> min = Vector128.Create((sbyte)Op.Min), max = Vector128.Create((sbyte)Op.Max);
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            Vector256<int> lo = Sum(Avx2.ConvertToVector256Int32(a + i), Avx2.ConvertToVector256Int32(b + i));
            Vector256<int> hi = Sum(Avx2.ConvertToVector256Int32(a + i + 8), Avx2.ConvertToVector256Int32(b + i + 8));
            BinaryInt8.Avx2Output(output.Apply(lo), output.Apply(hi), zero, min, max).Store(y + i);
        }

        return i;
    }

    /// <summary>
    /// Sixteen elements at a time on AdvSimd: each input's (q − z) rescaled by NeonMbqm with a left shift of 20 (the
    /// input multipliers are at most 1/2, so their own shifts only go right), the sum (difference), the output
    /// MBQM, zy, the saturating narrowings and the clamp: the scalar path's integers. Returns how many were done.
    /// </summary>
    private readonly int NeonRun(sbyte* a, sbyte* b, sbyte* y, int n)
    {
        ref readonly NeonAddConstants k = ref Neon;
        (Vector128<int> ma, Vector128<int> mb, Vector128<int> mo) = (k.MultiplierA, k.MultiplierB, k.MultiplierOut);
        (Vector128<int> twenty, Vector128<int> ra, Vector128<int> rb) = (k.Twenty, k.RightA, k.RightB);
        (Vector128<int> lo, Vector128<int> ro) = (k.LeftOut, k.RightOut);
        (Vector128<int> za, Vector128<int> zb, Vector128<int> zy) = (k.ZeroA, k.ZeroB, k.ZeroOut);
        (Vector128<sbyte> min, Vector128<sbyte> max) = (k.Min, k.Max);
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            Vector128<sbyte> va = AdvSimd.LoadVector128(a + i), vb = AdvSimd.LoadVector128(b + i);
            Vector128<short> a0 = AdvSimd.SignExtendWideningLower(va.GetLower()), a1 = AdvSimd.SignExtendWideningUpper(va);
            Vector128<short> b0 = AdvSimd.SignExtendWideningLower(vb.GetLower()), b1 = AdvSimd.SignExtendWideningUpper(vb);
            Vector128<int> s0 = NeonSum(AdvSimd.SignExtendWideningLower(a0.GetLower()), AdvSimd.SignExtendWideningLower(b0.GetLower()), za, zb, ma, mb, twenty, ra, rb);
            Vector128<int> s1 = NeonSum(AdvSimd.SignExtendWideningUpper(a0), AdvSimd.SignExtendWideningUpper(b0), za, zb, ma, mb, twenty, ra, rb);
            Vector128<int> s2 = NeonSum(AdvSimd.SignExtendWideningLower(a1.GetLower()), AdvSimd.SignExtendWideningLower(b1.GetLower()), za, zb, ma, mb, twenty, ra, rb);
            Vector128<int> s3 = NeonSum(AdvSimd.SignExtendWideningUpper(a1), AdvSimd.SignExtendWideningUpper(b1), za, zb, ma, mb, twenty, ra, rb);
            Vector128<short> l16 = AdvSimd.ExtractNarrowingSaturateUpper(
                AdvSimd.ExtractNarrowingSaturateLower(Int8Requantizer.NeonMbqm(s0, mo, lo, ro) + zy), Int8Requantizer.NeonMbqm(s1, mo, lo, ro) + zy);
            Vector128<short> h16 = AdvSimd.ExtractNarrowingSaturateUpper(
                AdvSimd.ExtractNarrowingSaturateLower(Int8Requantizer.NeonMbqm(s2, mo, lo, ro) + zy), Int8Requantizer.NeonMbqm(s3, mo, lo, ro) + zy);
            Vector128<sbyte> bytes = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(l16), h16);
            AdvSimd.Store(y + i, AdvSimd.Min(AdvSimd.Max(bytes, min), max));
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector128<int> NeonSum(Vector128<int> a, Vector128<int> b, Vector128<int> za, Vector128<int> zb, Vector128<int> ma, Vector128<int> mb,
        Vector128<int> left, Vector128<int> ra, Vector128<int> rb)
    {
        Vector128<int> x = Int8Requantizer.NeonMbqm(a - za, ma, left, ra), y = Int8Requantizer.NeonMbqm(b - zb, mb, left, rb);
        return Subtract ? x - y : x + y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector256<int> Sum(Vector256<int> a, Vector256<int> b)
        => Subtract ? RescaleA.Apply(a) - RescaleB.Apply(b) : RescaleA.Apply(a) + RescaleB.Apply(b);
}

/// <summary>The AdvSimd add's constants (see <see cref="AddSubInt8"/>), built once at Prepare.</summary>
internal readonly struct NeonAddConstants(BinaryInt8 op, int ma, int sa, int mb, int sb, int mo, int so)
{
    public readonly Vector128<int> MultiplierA = Vector128.Create(ma), MultiplierB = Vector128.Create(mb), MultiplierOut = Vector128.Create(mo);
    public readonly Vector128<int> Twenty = Vector128.Create(AddSubInt8.LeftShift), RightA = Vector128.Create(-sa), RightB = Vector128.Create(-sb);
    public readonly Vector128<int> LeftOut = Vector128.Create(Math.Max(so, 0)), RightOut = Vector128.Create(Math.Max(-so, 0));
    public readonly Vector128<int> ZeroA = Vector128.Create(op.ZeroA), ZeroB = Vector128.Create(op.ZeroB), ZeroOut = Vector128.Create(op.ZeroOut);
    public readonly Vector128<sbyte> Min = Vector128.Create((sbyte)op.Min), Max = Vector128.Create((sbyte)op.Max);
}

/// <summary>
/// MBQM((q − z)·2^20, m, shift) of eight int8 values in int32 arithmetic only, for a multiplier below 1 (shift ≤ 0,
/// as Add's input rescaling always is). With d = q − z (|d| ≤ 255) the high multiply is
/// SRDHM(d·2^20, m) = ⌊(d·m + 2^10)/2^11⌋, and splitting m = mh·2^11 + ml keeps every product in int32:
/// d·mh + ⌊(d·ml + 2^10)/2^11⌋ (d·mh is an integer, so it leaves the floor unchanged). The rounding shift that
/// follows is (h + 2^(s−1) − [h &lt; 0]) &gt;&gt; s, ties away from zero. The same integers as the scalar table.
/// </summary>
internal readonly struct RescaleAvx2
{
    private readonly Vector256<int> _zero, _high, _low, _half;
    private readonly Vector128<long> _right;
    private readonly bool _round;

    public RescaleAvx2(int zeroPoint, int multiplier, int shift)
    {
        int right = Math.Max(-shift, 0);
        _zero = Vector256.Create(zeroPoint);
        _high = Vector256.Create(multiplier >> 11);
        _low = Vector256.Create(multiplier & 2047);
        _half = Vector256.Create(right > 0 ? 1 << (right - 1) : 0);
        _right = Vector128.CreateScalar((long)right);
        _round = right > 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> Apply(Vector256<int> q)
    {
        Vector256<int> d = q - _zero;
        Vector256<int> h = Avx2.MultiplyLow(d, _high) + Avx2.ShiftRightArithmetic(Avx2.MultiplyLow(d, _low) + Vector256.Create(1024), 11);
        if (!_round)
        {
            return h;
        }

        return Avx2.ShiftRightArithmetic(h + _half + Avx2.CompareGreaterThan(Vector256<int>.Zero, h), _right.AsInt32());
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

/// <summary>
/// Int8 Mul: y = clamp(zy + MBQM((a − za)·(b − zb), QuantizeMultiplier(sa·sb/sy))), NumPy broadcasting. The
/// product of two offset int8 values (|·| ≤ 255²) is exact in int32, so the vector paths take sixteen elements per
/// step along each contiguous run (an operand repeated along the run, stride 0, is one broadcast value) and
/// requantize as the GEMMs do: AVX2 with vpmulld and the uniform MBQM, AdvSimd with SMULL/SMULL2 of int16
/// differences and SQRDMULH. Same integers as the scalar loop. MobileNetV3's squeeze-and-excitation scaling
/// ([1, H, W, C] by [1, 1, 1, C]) is this kernel with runs of C.
/// </summary>
public unsafe struct MulInt8Kernel : IKernel<MulInt8Kernel>
{
    private BinaryInt8 _op;
    private int _multiplier, _shift;
    private KernelPath _path;

    public static OpCode OpCode => OpCode.Mul;

    public static DataType InputType => DataType.Int8;

    public static MulInt8Kernel Prepare(ref KernelContext context)
    {
        BinaryInt8 op = BinaryInt8.Read(ref context);
        (int m, int s) = QuantizedMath.QuantizeMultiplier((double)op.ScaleA * op.ScaleB / op.ScaleOut);
        return new MulInt8Kernel { _op = op, _multiplier = m, _shift = s, _path = context.Path };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        if (KernelPaths.UsesAvx2(_path))
        {
            InvokeAvx2();
        }
        else if (_path is KernelPath.Vector128 or KernelPath.DotProduct && AdvSimd.Arm64.IsSupported)
        {
            InvokeNeon();
        }
        else
        {
            for (int run = 0; run < _op.Plan.OuterCount; run++)
            {
                Run(run, out sbyte* a, out sbyte* b, out sbyte* y);
                ScalarTail(a, b, y, 0);
            }
        }
    }

    /// <summary>Run <paramref name="run"/>'s operands and output (one contiguous run of the broadcast plan).</summary>
    private readonly void Run(int run, out sbyte* a, out sbyte* b, out sbyte* y)
    {
        _op.Plan.RunOffsets(run, out long offsetA, out long offsetB);
        a = (sbyte*)_op.A.Pointer + offsetA;
        b = (sbyte*)_op.B.Pointer + offsetB;
        y = (sbyte*)_op.Output.Pointer + (long)run * _op.Plan.InnerLength;
    }

    /// <summary>Elements from..n−1 of one run, one at a time (TFLite's reference arithmetic).</summary>
    private readonly void ScalarTail(sbyte* a, sbyte* b, sbyte* y, int from)
    {
        int strideA = _op.Plan.InnerStrideA, strideB = _op.Plan.InnerStrideB;
        for (int i = from; i < _op.Plan.InnerLength; i++)
        {
            int product = (a[i * strideA] - _op.ZeroA) * (b[i * strideB] - _op.ZeroB);
            int v = _op.ZeroOut + QuantizedMath.MultiplyByQuantizedMultiplier(product, _multiplier, _shift);
            y[i] = (sbyte)Math.Clamp(v, _op.Min, _op.Max);
        }
    }

    /// <summary>
    /// Sixteen elements per step along each run (inner strides 0 or 1), the constants set up once per call: a
    /// squeeze-and-excitation scaling is thousands of runs as short as its channel count.
    /// </summary>
    private readonly void InvokeAvx2()
    {
        var output = new Int8Requantizer.Avx2Uniform(_multiplier, _shift);
        Vector256<int> za = Vector256.Create(_op.ZeroA), zb = Vector256.Create(_op.ZeroB);
        Vector256<short> zero = Vector256.Create((short)_op.ZeroOut);
        Vector128<sbyte> min = Vector128.Create((sbyte)_op.Min), max = Vector128.Create((sbyte)_op.Max);
        int n = _op.Plan.InnerLength, strideA = _op.Plan.InnerStrideA, strideB = _op.Plan.InnerStrideB;
        for (int run = 0; run < _op.Plan.OuterCount; run++)
        {
            Run(run, out sbyte* a, out sbyte* b, out sbyte* y);
            Vector256<int> onlyA = Vector256.Create((int)*a) - za, onlyB = Vector256.Create((int)*b) - zb;
            int i = 0;
            for (; i <= n - 16; i += 16)
            {
                Vector256<int> a0 = strideA == 0 ? onlyA : Avx2.ConvertToVector256Int32(a + i) - za;
                Vector256<int> a1 = strideA == 0 ? onlyA : Avx2.ConvertToVector256Int32(a + i + 8) - za;
                Vector256<int> b0 = strideB == 0 ? onlyB : Avx2.ConvertToVector256Int32(b + i) - zb;
                Vector256<int> b1 = strideB == 0 ? onlyB : Avx2.ConvertToVector256Int32(b + i + 8) - zb;
                BinaryInt8.Avx2Output(output.Apply(Avx2.MultiplyLow(a0, b0)), output.Apply(Avx2.MultiplyLow(a1, b1)), zero, min, max).Store(y + i);
            }

            ScalarTail(a, b, y, i);
        }
    }

    /// <summary>Sixteen elements per step on AdvSimd along each run (inner strides 0 or 1), constants set up once.</summary>
    private readonly void InvokeNeon()
    {
        Vector128<short> za = Vector128.Create((short)_op.ZeroA), zb = Vector128.Create((short)_op.ZeroB);
        Vector128<int> m = Vector128.Create(_multiplier), left = Vector128.Create(Math.Max(_shift, 0)), right = Vector128.Create(Math.Max(-_shift, 0));
        Vector128<int> zy = Vector128.Create(_op.ZeroOut);
        Vector128<sbyte> min = Vector128.Create((sbyte)_op.Min), max = Vector128.Create((sbyte)_op.Max);
        int n = _op.Plan.InnerLength, strideA = _op.Plan.InnerStrideA, strideB = _op.Plan.InnerStrideB;
        for (int run = 0; run < _op.Plan.OuterCount; run++)
        {
            Run(run, out sbyte* a, out sbyte* b, out sbyte* y);
            Vector128<short> onlyA = Vector128.Create((short)*a) - za, onlyB = Vector128.Create((short)*b) - zb;
            int i = 0;
            for (; i <= n - 16; i += 16)
            {
                // x − z of int8 values fits int16 (|·| ≤ 255), and SMULL of two such is the exact int32 product.
                Vector128<sbyte> va = strideA == 0 ? default : AdvSimd.LoadVector128(a + i);
                Vector128<sbyte> vb = strideB == 0 ? default : AdvSimd.LoadVector128(b + i);
                Vector128<short> a0 = strideA == 0 ? onlyA : AdvSimd.SignExtendWideningLower(va.GetLower()) - za;
                Vector128<short> a1 = strideA == 0 ? onlyA : AdvSimd.SignExtendWideningUpper(va) - za;
                Vector128<short> b0 = strideB == 0 ? onlyB : AdvSimd.SignExtendWideningLower(vb.GetLower()) - zb;
                Vector128<short> b1 = strideB == 0 ? onlyB : AdvSimd.SignExtendWideningUpper(vb) - zb;
                Vector128<int> p0 = Int8Requantizer.NeonMbqm(AdvSimd.MultiplyWideningLower(a0.GetLower(), b0.GetLower()), m, left, right) + zy;
                Vector128<int> p1 = Int8Requantizer.NeonMbqm(AdvSimd.MultiplyWideningUpper(a0, b0), m, left, right) + zy;
                Vector128<int> p2 = Int8Requantizer.NeonMbqm(AdvSimd.MultiplyWideningLower(a1.GetLower(), b1.GetLower()), m, left, right) + zy;
                Vector128<int> p3 = Int8Requantizer.NeonMbqm(AdvSimd.MultiplyWideningUpper(a1, b1), m, left, right) + zy;
                Vector128<short> lo = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(p0), p1);
                Vector128<short> hi = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(p2), p3);
                Vector128<sbyte> bytes = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(lo), hi);
                AdvSimd.Store(y + i, AdvSimd.Min(AdvSimd.Max(bytes, min), max));
            }

            ScalarTail(a, b, y, i);
        }
    }
}
