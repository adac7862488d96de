using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// A group of float lanes that a kernel is written against once and instantiated at three widths:
/// <see cref="ScalarFloat"/> (1 lane, the reference), <see cref="Float128"/> (4 lanes: SSE / AdvSimd) and
/// <see cref="Float256"/> (8 lanes: AVX2). Every operation here is lane-wise and exactly rounded (IEEE add, sub, mul,
/// div, fused multiply-add) or exact (compare, select, bit operations), so code that is generic over this interface
/// computes, in every lane, the bits the scalar instantiation computes for that element. That is how the elementwise,
/// per-channel and transcendental kernels get identical bytes on every path without three hand-written copies.
/// <para>Reductions <em>along</em> the vector (dot products over K, sums of a row) cannot be written this way, because
/// the lanes would hold different partial sums at different widths; they live in <see cref="FloatDot"/>.</para>
/// <para>Masks are lanes with every bit set (true) or clear (false), as the comparison instructions produce.</para>
/// </summary>
internal interface IFloatVector<TSelf> where TSelf : struct, IFloatVector<TSelf>
{
    static abstract int Count { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf Create(float value);

    /// <summary>Every lane holds the float whose bits are <paramref name="bits"/>.</summary>
    static abstract TSelf CreateFromBits(int bits);

    /// <summary>Lanes from source[index], source[index + 1], ...</summary>
    static abstract TSelf Load(ref float source, nint index);
    static abstract void Store(TSelf value, ref float destination, nint index);

    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);

    /// <summary>a·b + c with one rounding.</summary>
    static abstract TSelf FusedMultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>IEEE 754-2019 maximum: NaN when either lane is NaN, +0 above −0 (Math.Max semantics).</summary>
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>IEEE square root, correctly rounded on every path (so every path gives the same bits).</summary>
    static abstract TSelf Sqrt(TSelf a);

    /// <summary>IEEE 754-2019 minimum: NaN when either lane is NaN, −0 below +0.</summary>
    static abstract TSelf Min(TSelf a, TSelf b);

    /// <summary>Mask of a &lt; b (false when either is NaN).</summary>
    static abstract TSelf LessThan(TSelf a, TSelf b);

    /// <summary>Mask of a &gt; b (false when either is NaN).</summary>
    static abstract TSelf GreaterThan(TSelf a, TSelf b);

    /// <summary>Per lane: <paramref name="whenTrue"/> where <paramref name="mask"/> is set, else <paramref name="whenFalse"/>.</summary>
    static abstract TSelf Select(TSelf mask, TSelf whenTrue, TSelf whenFalse);

    static abstract TSelf And(TSelf a, TSelf b);
    static abstract TSelf Or(TSelf a, TSelf b);
    static abstract TSelf Xor(TSelf a, TSelf b);

    /// <summary>Lane bits as int32, added (wrapping).</summary>
    static abstract TSelf AddInt32(TSelf a, TSelf b);

    /// <summary>Lane bits as int32, subtracted (wrapping).</summary>
    static abstract TSelf SubtractInt32(TSelf a, TSelf b);

    static abstract TSelf ShiftLeftInt32(TSelf a, int count);
    static abstract TSelf ShiftRightArithmeticInt32(TSelf a, int count);
}

/// <summary>Operations built from <see cref="IFloatVector{TSelf}"/> that several kernels share.</summary>
internal static class FloatVector
{
    /// <summary>
    /// The lane width a kernel path computes with: Avx2 and Avx512 → 8, Vector128 and DotProduct (a 128-bit path for float
    /// kernels) → 4, Scalar → 1. The hardware checks only guard against a path the interpreter would have refused.
    /// </summary>
    public static FloatLanes LanesFor(KernelPath path) =>
        KernelPaths.UsesAvx2(path) ? FloatLanes.Eight
        : path != KernelPath.Scalar && Vector128.IsHardwareAccelerated ? FloatLanes.Four
        : FloatLanes.One;

    /// <summary>
    /// The clamp of every fused activation, Relu and Clip: t = x &lt; lo ? lo : x, then t &gt; hi ? hi : t.
    /// NaN passes through (both comparisons are false), −0 passes a lower bound of 0 unchanged, and an empty range
    /// (lo &gt; hi) gives hi everywhere, as NumPy's and ONNX's clip do. For lo ≤ hi it is <see cref="Math.Clamp(float, float, float)"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Clamp<T>(T x, T lo, T hi) where T : struct, IFloatVector<T>
    {
        T t = T.Select(T.LessThan(x, lo), lo, x);
        return T.Select(T.GreaterThan(t, hi), hi, t);
    }

    /// <summary>The scalar form of <see cref="Clamp{T}(T, T, T)"/>, bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Clamp(float x, float lo, float hi)
    {
        float t = x < lo ? lo : x;
        return t > hi ? hi : t;
    }

    /// <summary>|x|: the sign bit cleared (NaN keeps its payload).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Abs<T>(T x) where T : struct, IFloatVector<T> => T.And(x, T.CreateFromBits(0x7FFF_FFFF));

    /// <summary>The sign bit of x alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SignBit<T>(T x) where T : struct, IFloatVector<T> => T.And(x, T.CreateFromBits(unchecked((int)0x8000_0000)));

    /// <summary>−x: the sign bit flipped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Negate<T>(T x) where T : struct, IFloatVector<T> => T.Xor(x, T.CreateFromBits(unchecked((int)0x8000_0000)));
}

/// <summary>One lane: plain C# float arithmetic, the reference every other width is checked against.</summary>
internal readonly struct ScalarFloat : IFloatVector<ScalarFloat>
{
    private const int AllBits = -1;
    private readonly float _value;

    private ScalarFloat(float value) => _value = value;

    public float Value => _value;
    public static int Count => 1;
    public static ScalarFloat Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat Create(float value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat CreateFromBits(int bits) => new(BitConverter.Int32BitsToSingle(bits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat Load(ref float source, nint index) => new(Unsafe.Add(ref source, index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ScalarFloat value, ref float destination, nint index) => Unsafe.Add(ref destination, index) = value._value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat operator +(ScalarFloat a, ScalarFloat b) => new(a._value + b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat operator -(ScalarFloat a, ScalarFloat b) => new(a._value - b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat operator *(ScalarFloat a, ScalarFloat b) => new(a._value * b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat operator /(ScalarFloat a, ScalarFloat b) => new(a._value / b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat FusedMultiplyAdd(ScalarFloat a, ScalarFloat b, ScalarFloat c) => new(MathF.FusedMultiplyAdd(a._value, b._value, c._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat Max(ScalarFloat a, ScalarFloat b) => new(MathF.Max(a._value, b._value));

    public static ScalarFloat Sqrt(ScalarFloat a) => new(MathF.Sqrt(a._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat Min(ScalarFloat a, ScalarFloat b) => new(MathF.Min(a._value, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat LessThan(ScalarFloat a, ScalarFloat b) => Mask(a._value < b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat GreaterThan(ScalarFloat a, ScalarFloat b) => Mask(a._value > b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat Select(ScalarFloat mask, ScalarFloat whenTrue, ScalarFloat whenFalse) => Bits(mask) != 0 ? whenTrue : whenFalse;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat And(ScalarFloat a, ScalarFloat b) => FromBits(Bits(a) & Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat Or(ScalarFloat a, ScalarFloat b) => FromBits(Bits(a) | Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat Xor(ScalarFloat a, ScalarFloat b) => FromBits(Bits(a) ^ Bits(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat AddInt32(ScalarFloat a, ScalarFloat b) => FromBits(unchecked(Bits(a) + Bits(b)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat SubtractInt32(ScalarFloat a, ScalarFloat b) => FromBits(unchecked(Bits(a) - Bits(b)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat ShiftLeftInt32(ScalarFloat a, int count) => FromBits(Bits(a) << count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScalarFloat ShiftRightArithmeticInt32(ScalarFloat a, int count) => FromBits(Bits(a) >> count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Bits(ScalarFloat a) => BitConverter.SingleToInt32Bits(a._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ScalarFloat FromBits(int bits) => new(BitConverter.Int32BitsToSingle(bits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ScalarFloat Mask(bool condition) => FromBits(condition ? AllBits : 0);
}

/// <summary>Four lanes in a <see cref="Vector128{T}"/>: SSE on x64, AdvSimd (NEON) on arm64.</summary>
internal readonly struct Float128 : IFloatVector<Float128>
{
    private readonly Vector128<float> _value;

    private Float128(Vector128<float> value) => _value = value;

    public Vector128<float> Value => _value;
    public static int Count => Vector128<float>.Count;
    public static Float128 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Create(float value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 CreateFromBits(int bits) => new(Vector128.Create(bits).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Load(ref float source, nint index) => new(Vector128.LoadUnsafe(ref source, (nuint)index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Float128 value, ref float destination, nint index) => value._value.StoreUnsafe(ref destination, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 operator +(Float128 a, Float128 b) => new(a._value + b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 operator -(Float128 a, Float128 b) => new(a._value - b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 operator *(Float128 a, Float128 b) => new(a._value * b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 operator /(Float128 a, Float128 b) => new(a._value / b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 FusedMultiplyAdd(Float128 a, Float128 b, Float128 c) => new(Vector128.FusedMultiplyAdd(a._value, b._value, c._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Max(Float128 a, Float128 b) => new(Vector128.Max(a._value, b._value));

    public static Float128 Sqrt(Float128 a) => new(Vector128.Sqrt(a._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Min(Float128 a, Float128 b) => new(Vector128.Min(a._value, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 LessThan(Float128 a, Float128 b) => new(Vector128.LessThan(a._value, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 GreaterThan(Float128 a, Float128 b) => new(Vector128.GreaterThan(a._value, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Select(Float128 mask, Float128 whenTrue, Float128 whenFalse) => new(Vector128.ConditionalSelect(mask._value, whenTrue._value, whenFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 And(Float128 a, Float128 b) => new(a._value & b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Or(Float128 a, Float128 b) => new(a._value | b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 Xor(Float128 a, Float128 b) => new(a._value ^ b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 AddInt32(Float128 a, Float128 b) => new((a._value.AsInt32() + b._value.AsInt32()).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 SubtractInt32(Float128 a, Float128 b) => new((a._value.AsInt32() - b._value.AsInt32()).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 ShiftLeftInt32(Float128 a, int count) => new(Vector128.ShiftLeft(a._value.AsInt32(), count).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float128 ShiftRightArithmeticInt32(Float128 a, int count) => new(Vector128.ShiftRightArithmetic(a._value.AsInt32(), count).AsSingle());
}

/// <summary>Eight lanes in a <see cref="Vector256{T}"/>: x64 AVX2 with FMA.</summary>
internal readonly struct Float256 : IFloatVector<Float256>
{
    private readonly Vector256<float> _value;

    private Float256(Vector256<float> value) => _value = value;

    public Vector256<float> Value => _value;
    public static int Count => Vector256<float>.Count;
    public static Float256 Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Create(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 CreateFromBits(int bits) => new(Vector256.Create(bits).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Load(ref float source, nint index) => new(Vector256.LoadUnsafe(ref source, (nuint)index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Float256 value, ref float destination, nint index) => value._value.StoreUnsafe(ref destination, (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 operator +(Float256 a, Float256 b) => new(a._value + b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 operator -(Float256 a, Float256 b) => new(a._value - b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 operator *(Float256 a, Float256 b) => new(a._value * b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 operator /(Float256 a, Float256 b) => new(a._value / b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 FusedMultiplyAdd(Float256 a, Float256 b, Float256 c) => new(Vector256.FusedMultiplyAdd(a._value, b._value, c._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Max(Float256 a, Float256 b) => new(Vector256.Max(a._value, b._value));

    public static Float256 Sqrt(Float256 a) => new(Vector256.Sqrt(a._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Min(Float256 a, Float256 b) => new(Vector256.Min(a._value, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 LessThan(Float256 a, Float256 b) => new(Vector256.LessThan(a._value, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 GreaterThan(Float256 a, Float256 b) => new(Vector256.GreaterThan(a._value, b._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Select(Float256 mask, Float256 whenTrue, Float256 whenFalse) => new(Vector256.ConditionalSelect(mask._value, whenTrue._value, whenFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 And(Float256 a, Float256 b) => new(a._value & b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Or(Float256 a, Float256 b) => new(a._value | b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 Xor(Float256 a, Float256 b) => new(a._value ^ b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 AddInt32(Float256 a, Float256 b) => new((a._value.AsInt32() + b._value.AsInt32()).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 SubtractInt32(Float256 a, Float256 b) => new((a._value.AsInt32() - b._value.AsInt32()).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 ShiftLeftInt32(Float256 a, int count) => new(Vector256.ShiftLeft(a._value.AsInt32(), count).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float256 ShiftRightArithmeticInt32(Float256 a, int count) => new(Vector256.ShiftRightArithmetic(a._value.AsInt32(), count).AsSingle());
}
