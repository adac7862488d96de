namespace EdgeInfer.Runtime.Kernels;

/// <summary>The one list of built-in kernels. A device build that wants fewer makes its own registry.</summary>
internal static partial class BuiltinKernels
{
    public static KernelRegistry Register(KernelRegistry registry) => RegisterInt8(registry
        .Add<FullyConnectedKernel>()
        .Add<ReluKernel>());
}
