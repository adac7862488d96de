using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// NHWC max pooling: y = clamp(max over the window's in-input positions), padding ignored. The maximum is IEEE
/// (a NaN anywhere in the window gives NaN, +0 beats −0), taken in the canonical order across channels
/// (<see cref="FloatColumns.MaxTaps{T}"/>), so every path gives the same bits including NaN payloads.
/// </summary>
public unsafe struct MaxPool2DKernel : IKernel<MaxPool2DKernel>
{
    private PoolGeometry _g;

    public static OpCode OpCode => OpCode.MaxPool2D;

    public static MaxPool2DKernel Prepare(ref KernelContext context) => new() { _g = PoolGeometry.Prepare(ref context) };

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
                    int count = _g.ListWindow(taps, image, oy, ox, out _);
                    nint c = 0;
                    for (; c <= channels - T.Count; c += T.Count)
                    {
                        Channels<T>(taps, count, y, c);
                    }

                    for (; c < channels; c++)
                    {
                        Channels<ScalarFloat>(taps, count, y, c);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Channels<T>(float** taps, int count, float* y, nint c) where T : struct, IFloatVector<T>
    {
        T m = FloatColumns.MaxTaps<T>(taps, count, c);
        T.Store(FloatVector.Clamp(m, T.Create(_g.Min), T.Create(_g.Max)), ref *y, c);
    }
}
