namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Maps operator codes to kernels. Registration is explicit, so a trimmed device build keeps only the kernels
/// its registry names (no reflection, no assembly scanning).
/// </summary>
public sealed class KernelRegistry
{
    internal delegate KernelNode Factory(ref KernelContext context);

    private readonly Factory?[] _factories = new Factory?[(int)OpCodes.Max + 1];

    public KernelRegistry Add<TKernel>() where TKernel : struct, IKernel<TKernel>
    {
        _factories[(int)TKernel.OpCode] = static (ref KernelContext context) => new KernelNode<TKernel>(TKernel.Prepare(ref context));
        return this;
    }

    public bool Contains(OpCode op) => (int)op < _factories.Length && _factories[(int)op] is not null;

    internal Factory? Get(OpCode op) => (int)op < _factories.Length ? _factories[(int)op] : null;

    /// <summary>Every kernel this runtime has.</summary>
    public static KernelRegistry Builtin { get; } = BuiltinKernels.Register(new KernelRegistry());
}
