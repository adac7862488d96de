namespace EdgeInfer.Runtime.Kernels;

/// <summary>The one list of built-in kernels. A device build that wants fewer makes its own registry.</summary>
internal static class BuiltinKernels
{
    public static KernelRegistry Register(KernelRegistry registry) => registry
        .Add<FullyConnectedKernel>()
        .Add<ReluKernel>();
}
