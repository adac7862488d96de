namespace EdgeInfer.Runtime.Kernels;

internal static partial class BuiltinKernels
{
    /// <summary>The int8 kernels (keyed by an int8 first input), and Quantize, whose first input is float32.</summary>
    private static KernelRegistry RegisterInt8(KernelRegistry registry) => registry
        .Add<FullyConnectedInt8Kernel>()
        .Add<Conv2DInt8Kernel>()
        .Add<MaxPool2DInt8Kernel>()
        .Add<AveragePool2DInt8Kernel>()
        .Add<GlobalAveragePoolInt8Kernel>()
        .Add<AddInt8Kernel>()
        .Add<SubInt8Kernel>()
        .Add<MulInt8Kernel>()
        .Add<ReluInt8Kernel>()
        .Add<ClipInt8Kernel>()
        .Add<LeakyReluInt8Kernel>()
        .Add<HardSigmoidInt8Kernel>()
        .Add<HardSwishInt8Kernel>()
        .Add<SwishInt8Kernel>()
        .Add<SigmoidInt8Kernel>()
        .Add<TanhInt8Kernel>()
        .Add<AbsInt8Kernel>()
        .Add<SqrtInt8Kernel>()
        .Add<ExpInt8Kernel>()
        .Add<EluInt8Kernel>()
        .Add<SoftmaxInt8Kernel>()
        .Add<LogSoftmaxInt8Kernel>()
        .Add<ConcatInt8Kernel>()
        .Add<ReshapeInt8Kernel>()
        .Add<TransposeInt8Kernel>()
        .Add<SliceInt8Kernel>()
        .Add<MatMulInt8Kernel>()
        .Add<QuantizeKernel>()
        .Add<QuantizeInt8Kernel>()
        .Add<DequantizeInt8Kernel>();
}
