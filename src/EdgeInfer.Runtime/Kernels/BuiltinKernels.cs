namespace EdgeInfer.Runtime.Kernels;

/// <summary>The one list of built-in kernels. A device build that wants fewer makes its own registry.</summary>
internal static partial class BuiltinKernels
{
    public static KernelRegistry Register(KernelRegistry registry) => RegisterInt8(registry
        // float32
        .Add<FullyConnectedKernel>()
        .Add<Conv2DKernel>()
        .Add<MaxPool2DKernel>()
        .Add<AveragePool2DKernel>()
        .Add<GlobalAveragePoolKernel>()
        .Add<AddKernel>()
        .Add<SubKernel>()
        .Add<MulKernel>()
        .Add<DivKernel>()
        .Add<ReluKernel>()
        .Add<ClipKernel>()
        .Add<LeakyReluKernel>()
        .Add<SigmoidKernel>()
        .Add<TanhKernel>()
        .Add<HardSigmoidKernel>()
        .Add<HardSwishKernel>()
        .Add<SwishKernel>()
        .Add<AbsKernel>()
        .Add<SqrtKernel>()
        .Add<ExpKernel>()
        .Add<EluKernel>()
        .Add<SoftmaxKernel>()
        .Add<ConcatKernel>()
        .Add<ReshapeKernel>()
        .Add<TransposeKernel>()
        .Add<SliceKernel>()
        .Add<MatMulKernel>()
        .Add<LstmKernel>()
        .Add<GruKernel>());
}
