using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// NHWC average pooling: y = clamp(sum / divisor). The sum runs over the window's in-input positions in canonical
/// order across channels (<see cref="FloatColumns.SumTaps{T}"/>; padding adds no terms). The divisor is the number of
/// those positions, or with CountIncludePad the number of window positions inside the padded extent
/// [−padTop, H + padBottom) × [−padLeft, W + padRight) (ONNX). The division is one IEEE division on every path.
/// </summary>
public unsafe struct AveragePool2DKernel : IKernel<AveragePool2DKernel>
{
    private PoolGeometry _g;

    public static OpCode OpCode => OpCode.AveragePool2D;

    public static AveragePool2DKernel Prepare(ref KernelContext context) => new() { _g = PoolGeometry.Prepare(ref context) };

    public readonly void Invoke(Span<byte> scratch)
    {
        float** taps = (float**)Unsafe.AsPointer(ref MemoryMarshal.GetReference(scratch));
        switch (_g.Lanes)
        {
            case FloatLanes.Eight:
                Run<Float256>(taps);
                break;
            case FloatLanes.Four:
                Run<Float128>(taps);
                break;
            default:
                Run<ScalarFloat>(taps);
                break;
        }
    }

    private readonly void Run<T>(float** taps) where T : struct, IFloatVector<T>
    {
        int channels = _g.Channels;
        float* y = _g.Output;
        for (int n = 0; n < _g.Batch; n++)
        {
            float* image = _g.Input + (long)n * _g.Height * _g.Width * channels;
            for (int oy = 0; oy < _g.OutHeight; oy++)
            {
                for (int ox = 0; ox < _g.OutWidth; ox++, y += channels)
                {
                    int count = _g.ListWindow(taps, image, oy, ox, out int paddedCount);
                    float divisor = _g.CountIncludePad ? paddedCount : count;
                    nint c = 0;
                    for (; c <= channels - T.Count; c += T.Count)
                    {
                        Channels<T>(taps, count, divisor, y, c);
                    }

                    for (; c < channels; c++)
                    {
                        Channels<ScalarFloat>(taps, count, divisor, y, c);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Channels<T>(float** taps, int count, float divisor, float* y, nint c) where T : struct, IFloatVector<T>
    {
        T mean = FloatColumns.SumTaps<T>(taps, count, c) / T.Create(divisor);
        T.Store(FloatVector.Clamp(mean, T.Create(_g.Min), T.Create(_g.Max)), ref *y, c);
    }
}
