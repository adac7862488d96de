using System.Runtime.CompilerServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

// The elementwise activations. Each kernel validates its options and runs a lane-wise operator; lanes never mix,
// so every path gives the same bits. Comparisons follow one rule (FloatVector.Clamp): a NaN input comes out NaN,
// and −0 is kept wherever x itself is returned.

/// <summary>y = max(x, 0) as x &lt; 0 ? 0 : x (NaN and −0 pass through).</summary>
public struct ReluKernel : IKernel<ReluKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.Relu;

    public static ReluKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(ReluFunction));
}

// The four functions a recurrent cell may use as an activation (RecurrentActivation) are shared with the fused
// Lstm and Gru kernels, so a fused cell computes each activation with exactly the bits of the operator itself.

internal readonly struct ReluFunction : IFloatUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Apply<T>(T x) where T : struct, IFloatVector<T> => T.Select(T.LessThan(x, T.Zero), T.Zero, x);
}

internal readonly struct SigmoidFunction : IFloatUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Apply<T>(T x) where T : struct, IFloatVector<T> => FloatMath.Sigmoid(x);
}

internal readonly struct TanhFunction : IFloatUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Apply<T>(T x) where T : struct, IFloatVector<T> => FloatMath.Tanh(x);
}

/// <summary>clamp(fma(alpha, x, beta), 0, 1): the affine step is one fused multiply-add on every path.</summary>
internal readonly struct HardSigmoidFunction(float alpha, float beta) : IFloatUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Apply<T>(T x) where T : struct, IFloatVector<T>
        => FloatVector.Clamp(T.FusedMultiplyAdd(T.Create(alpha), x, T.Create(beta)), T.Zero, T.Create(1f));
}

/// <summary>y = clamp(x, Min, Max) by <see cref="FloatVector.Clamp(float, float, float)"/>; Min &gt; Max gives Max everywhere (ONNX).</summary>
public struct ClipKernel : IKernel<ClipKernel>
{
    private UnaryFloatMap _map;
    private ClampOperator _op;

    public static OpCode OpCode => OpCode.Clip;

    public static ClipKernel Prepare(ref KernelContext context)
    {
        var map = UnaryFloatMap.Prepare(ref context);
        ClampOptions clamp = ClampOptions.Read(context.Options);
        context.Require(!float.IsNaN(clamp.Min) && !float.IsNaN(clamp.Max), $"clip bounds [{clamp.Min}, {clamp.Max}] must not be NaN");
        return new ClipKernel { _map = map, _op = new ClampOperator(clamp.Min, clamp.Max) };
    }

    public void Invoke(Span<byte> scratch) => _map.Run(_op);

    private readonly struct ClampOperator(float min, float max) : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => FloatVector.Clamp(x, T.Create(min), T.Create(max));
    }
}

/// <summary>y = x &lt; 0 ? Alpha·x : x.</summary>
public struct LeakyReluKernel : IKernel<LeakyReluKernel>
{
    private UnaryFloatMap _map;
    private LeakyReluOperator _op;

    public static OpCode OpCode => OpCode.LeakyRelu;

    public static LeakyReluKernel Prepare(ref KernelContext context)
    {
        var map = UnaryFloatMap.Prepare(ref context);
        float alpha = LeakyReluOptions.Read(context.Options).Alpha;
        context.Require(float.IsFinite(alpha), $"alpha {alpha} must be finite");
        return new LeakyReluKernel { _map = map, _op = new LeakyReluOperator(alpha) };
    }

    public void Invoke(Span<byte> scratch) => _map.Run(_op);

    private readonly struct LeakyReluOperator(float alpha) : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => T.Select(T.LessThan(x, T.Zero), x * T.Create(alpha), x);
    }
}

/// <summary>
/// y = x · sigmoid(x) (SiLU): the Sigmoid kernel's value times x, so the bits are those of Sigmoid followed by Mul,
/// the pair the converter fuses into this operator.
/// </summary>
public struct SwishKernel : IKernel<SwishKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.Swish;

    public static SwishKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(SwishOperator));

    private readonly struct SwishOperator : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => x * FloatMath.Sigmoid(x);
    }
}

/// <summary>y = 1 / (1 + e^−x) by <see cref="FloatMath.Sigmoid{T}(T)"/>.</summary>
public struct SigmoidKernel : IKernel<SigmoidKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.Sigmoid;

    public static SigmoidKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(SigmoidFunction));
}

/// <summary>y = tanh(x) by <see cref="FloatMath.Tanh{T}(T)"/>.</summary>
public struct TanhKernel : IKernel<TanhKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.Tanh;

    public static TanhKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(TanhFunction));
}

/// <summary>y = clamp(fma(Alpha, x, Beta), 0, 1): the affine step is one fused multiply-add on every path.</summary>
public struct HardSigmoidKernel : IKernel<HardSigmoidKernel>
{
    private UnaryFloatMap _map;
    private HardSigmoidFunction _op;

    public static OpCode OpCode => OpCode.HardSigmoid;

    public static HardSigmoidKernel Prepare(ref KernelContext context)
    {
        var map = UnaryFloatMap.Prepare(ref context);
        HardSigmoidOptions options = HardSigmoidOptions.Read(context.Options);
        context.Require(float.IsFinite(options.Alpha) && float.IsFinite(options.Beta), $"alpha {options.Alpha} and beta {options.Beta} must be finite");
        return new HardSigmoidKernel { _map = map, _op = new HardSigmoidFunction(options.Alpha, options.Beta) };
    }

    public void Invoke(Span<byte> scratch) => _map.Run(_op);
}

/// <summary>
/// y = x · (clamp(x + 3, 0, 6) · (1/6)). The factor is exactly 1 for x ≥ 3 (6 · float(1/6) rounds to 1), so large
/// inputs pass unchanged, and exactly 0 for x ≤ −3.
/// </summary>
public struct HardSwishKernel : IKernel<HardSwishKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.HardSwish;

    public static HardSwishKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(HardSwishOperator));

    private readonly struct HardSwishOperator : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T>
        {
            T relu6 = FloatVector.Clamp(x + T.Create(3f), T.Zero, T.Create(6f));
            return x * (relu6 * T.Create(1f / 6f));
        }
    }
}

/// <summary>y = |x|: the sign bit cleared (exact on every path).</summary>
public struct AbsKernel : IKernel<AbsKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.Abs;

    public static AbsKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(AbsOperator));

    private readonly struct AbsOperator : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => T.And(x, T.CreateFromBits(0x7FFF_FFFF));
    }
}

/// <summary>y = √x, IEEE (correctly rounded, so every path gives the same bits).</summary>
public struct SqrtKernel : IKernel<SqrtKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.Sqrt;

    public static SqrtKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(SqrtOperator));

    private readonly struct SqrtOperator : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => T.Sqrt(x);
    }
}

/// <summary>y = eˣ by <see cref="FloatMath.Exp{T}(T)"/> (the exp of Softmax and Sigmoid).</summary>
public struct ExpKernel : IKernel<ExpKernel>
{
    private UnaryFloatMap _map;

    public static OpCode OpCode => OpCode.Exp;

    public static ExpKernel Prepare(ref KernelContext context) => new() { _map = UnaryFloatMap.Prepare(ref context) };

    public void Invoke(Span<byte> scratch) => _map.Run(default(ExpOperator));

    private readonly struct ExpOperator : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => FloatMath.Exp(x);
    }
}

/// <summary>y = Scale · (x &gt; 0 ? x : Alpha · (eˣ − 1)), eˣ by <see cref="FloatMath.Exp{T}(T)"/>; a NaN input comes out NaN.</summary>
public struct EluKernel : IKernel<EluKernel>
{
    private UnaryFloatMap _map;
    private EluOperator _op;

    public static OpCode OpCode => OpCode.Elu;

    public static EluKernel Prepare(ref KernelContext context)
    {
        var map = UnaryFloatMap.Prepare(ref context);
        EluOptions options = EluOptions.Read(context.Options);
        context.Require(float.IsFinite(options.Alpha) && float.IsFinite(options.Scale), $"alpha {options.Alpha} and scale {options.Scale} must be finite");
        return new EluKernel { _map = map, _op = new EluOperator(options.Alpha, options.Scale) };
    }

    public void Invoke(Span<byte> scratch) => _map.Run(_op);

    private readonly struct EluOperator(float alpha, float scale) : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T>
        {
            // (eˣ − 1)·α where x ≤ 0 (or NaN: the exp of a NaN is clamped, so the NaN is passed through by the select).
            T negative = (FloatMath.Exp(x) - T.Create(1f)) * T.Create(alpha);
            return T.Select(T.GreaterThan(x, T.Zero), x, T.Select(T.LessThan(x, T.Create(float.PositiveInfinity)), negative, x)) * T.Create(scale);
        }
    }
}
