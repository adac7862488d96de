namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Maps (operator, type of the first input) to a kernel. Registration is explicit, so a trimmed device build keeps
/// only the kernels its registry names (no reflection, no assembly scanning).
/// </summary>
public sealed class KernelRegistry
{
    internal delegate KernelNode Factory(ref KernelContext context);

    private readonly Dictionary<(OpCode Op, DataType Type), Factory> _factories = [];

    public KernelRegistry Add<TKernel>() where TKernel : struct, IKernel<TKernel>
    {
        _factories[(TKernel.OpCode, TKernel.InputType)] = static (ref KernelContext context) => new KernelNode<TKernel>(TKernel.Prepare(ref context));
        return this;
    }

    public bool Contains(OpCode op, DataType inputType) => _factories.ContainsKey((op, inputType));

    internal Factory? Get(OpCode op, DataType inputType) => _factories.GetValueOrDefault((op, inputType));

    /// <summary>Every kernel this runtime has.</summary>
    public static KernelRegistry Builtin { get; } = BuiltinKernels.Register(new KernelRegistry());
}
