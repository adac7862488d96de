using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>y = max(x, 0), elementwise. Lanes are independent, so every path gives the same bits.</summary>
public unsafe struct ReluKernel : IKernel<ReluKernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private int _count;
    private KernelPath _path;

    public static OpCode OpCode => OpCode.Relu;

    public static ReluKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(output, DataType.Float32, "output");
        context.RequireSameElements(input, output);
        return new ReluKernel { _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _count = (int)input.ElementCount, _path = context.Path };
    }

    public void Invoke(Span<byte> scratch)
    {
        ref float x = ref _input.Ref<float>();
        ref float y = ref _output.Ref<float>();
        int i = 0;
        if (_path == KernelPath.Avx2 && Vector256.IsHardwareAccelerated)
        {
            for (; i <= _count - 8; i += 8)
            {
                Vector256.Max(Vector256.LoadUnsafe(ref x, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref y, (nuint)i);
            }
        }
        else if (_path != KernelPath.Scalar && Vector128.IsHardwareAccelerated)
        {
            for (; i <= _count - 4; i += 4)
            {
                Vector128.Max(Vector128.LoadUnsafe(ref x, (nuint)i), Vector128<float>.Zero).StoreUnsafe(ref y, (nuint)i);
            }
        }

        for (; i < _count; i++)
        {
            float v = Unsafe.Add(ref x, i);
            Unsafe.Add(ref y, i) = v > 0 ? v : 0;
        }
    }
}
