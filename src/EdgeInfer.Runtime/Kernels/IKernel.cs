namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// An operator implementation. <see cref="Prepare"/> runs once per node at load time: it validates the node
/// (types, shapes, options), precomputes what it can, may request scratch memory, and returns the kernel state.
/// <see cref="Invoke"/> runs on every inference: no checks, no allocation, writes only its outputs and scratch.
/// Kernels are structs so that the interpreter's per-node call is a single virtual call into specialised code.
/// </summary>
public interface IKernel<TSelf> where TSelf : struct, IKernel<TSelf>
{
    static abstract OpCode OpCode { get; }

    /// <summary>
    /// The data type of the node's first input this kernel handles. An operator has one kernel per input type
    /// (float32, int8, ...), so a device registers only the variants its models use.
    /// </summary>
    static virtual DataType InputType => DataType.Float32;

    static abstract TSelf Prepare(ref KernelContext context);

    /// <param name="scratch">Scratch memory shared by all nodes, at least as long as Prepare requested.</param>
    void Invoke(Span<byte> scratch);
}

/// <summary>A prepared node: the interpreter's only per-node indirection.</summary>
public abstract class KernelNode
{
    private protected KernelNode()
    {
    }

    public abstract void Invoke(Span<byte> scratch);
}

internal sealed class KernelNode<TKernel> : KernelNode where TKernel : struct, IKernel<TKernel>
{
    private TKernel _kernel;

    public KernelNode(TKernel kernel) => _kernel = kernel;

    public override void Invoke(Span<byte> scratch) => _kernel.Invoke(scratch);
}
