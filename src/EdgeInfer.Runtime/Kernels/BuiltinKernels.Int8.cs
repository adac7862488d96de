namespace EdgeInfer.Runtime.Kernels;

internal static partial class BuiltinKernels
{
    /// <summary>The int8 kernels (keyed by an int8 first input), and Quantize, whose first input is float32.</summary>
    private static KernelRegistry RegisterInt8(KernelRegistry registry) => registry
        .Add<FullyConnectedInt8Kernel>()
        .Add<Conv2DInt8Kernel>();
}
