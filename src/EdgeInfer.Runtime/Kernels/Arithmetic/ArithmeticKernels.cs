using System.Runtime.CompilerServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

// Add, Sub, Mul and Div: one IEEE operation per element (a ∘ b, in that order), NumPy broadcasting and the fused
// clamp from BroadcastBinary.

/// <summary>y = clamp(a + b) with broadcasting.</summary>
public struct AddKernel : IKernel<AddKernel>
{
    private BroadcastBinary _binary;

    public static OpCode OpCode => OpCode.Add;

    public static AddKernel Prepare(ref KernelContext context) => new() { _binary = BroadcastBinary.Prepare(ref context) };

    public readonly void Invoke(Span<byte> scratch) => _binary.Run<AddOperator>();

    private readonly struct AddOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Apply<T>(T a, T b) where T : struct, IFloatVector<T> => a + b;
    }
}

/// <summary>y = clamp(a − b) with broadcasting.</summary>
public struct SubKernel : IKernel<SubKernel>
{
    private BroadcastBinary _binary;

    public static OpCode OpCode => OpCode.Sub;

    public static SubKernel Prepare(ref KernelContext context) => new() { _binary = BroadcastBinary.Prepare(ref context) };

    public readonly void Invoke(Span<byte> scratch) => _binary.Run<SubOperator>();

    private readonly struct SubOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Apply<T>(T a, T b) where T : struct, IFloatVector<T> => a - b;
    }
}

/// <summary>y = clamp(a · b) with broadcasting.</summary>
public struct MulKernel : IKernel<MulKernel>
{
    private BroadcastBinary _binary;

    public static OpCode OpCode => OpCode.Mul;

    public static MulKernel Prepare(ref KernelContext context) => new() { _binary = BroadcastBinary.Prepare(ref context) };

    public readonly void Invoke(Span<byte> scratch) => _binary.Run<MulOperator>();

    private readonly struct MulOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Apply<T>(T a, T b) where T : struct, IFloatVector<T> => a * b;
    }
}

/// <summary>y = clamp(a / b) with broadcasting (IEEE division: x/0 is ±∞ or NaN, never an exception).</summary>
public struct DivKernel : IKernel<DivKernel>
{
    private BroadcastBinary _binary;

    public static OpCode OpCode => OpCode.Div;

    public static DivKernel Prepare(ref KernelContext context) => new() { _binary = BroadcastBinary.Prepare(ref context) };

    public readonly void Invoke(Span<byte> scratch) => _binary.Run<DivOperator>();

    private readonly struct DivOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Apply<T>(T a, T b) where T : struct, IFloatVector<T> => a / b;
    }
}
