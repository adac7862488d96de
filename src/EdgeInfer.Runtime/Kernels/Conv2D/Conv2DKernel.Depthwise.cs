using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Depthwise convolution (groups == Cin, Cout = Cin·m): output channel co = ci·m + j reads input channel ci only, so
/// each output is a dot product over the KH·KW taps alone. The vector runs across input channels ci for one
/// multiplier index j at a time: per output pixel the kernel lists one pointer per tap (the input pixel, or a
/// row of zeros for a padded tap, so the term list is the same as im2col's), then
/// <see cref="FloatColumns.ChainTaps{T}"/> accumulates each lane as one sequential fused multiply-add chain over the
/// taps in (ky, kx) order (the (ci, ky, kx) order of <see cref="Conv2DKernel"/> with one input channel) against weights repacked to
/// [j][tap][ci], so a weight vector is one contiguous load. With m &gt; 1 the results of each j land in a scratch row
/// and are interleaved into the NHWC output (co = ci·m + j) afterwards.
/// <para>Weights are repacked once at load when they and the bias are constants; weights computed at load time
/// (derived tensors, filled only after every node is prepared) are repacked into scratch on each invoke.</para>
/// </summary>
public unsafe partial struct Conv2DKernel
{
    private struct DepthwiseState
    {
        public int Multiplier;
        public int Taps;
        public float[]? ZeroRow;      // Cin zeros that padded taps point at (pinned)
        public float[]? Packed;       // [m][K][Cin] weights then [m][Cin] bias, when packed at load (pinned)
        public nint TapsBytes;        // scratch: K tap pointers
        public nint RowBytes;         // scratch: one output pixel's Cout values when m > 1
    }

    private void PrepareDepthwise(ref KernelContext context, bool packAtLoad)
    {
        int taps = _kernelHeight * _kernelWidth;
        _depthwise.Multiplier = _outChannels / _inChannels;
        _depthwise.Taps = taps;
        _depthwise.ZeroRow = context.AllocatePersistent<float>(_inChannels);
        _depthwise.TapsBytes = AlignUp((long)taps * sizeof(nint));
        _depthwise.RowBytes = _depthwise.Multiplier > 1 ? AlignUp((long)_outChannels * sizeof(float)) : 0;
        long packedLength = (long)taps * _outChannels + _outChannels;
        long scratch = _depthwise.TapsBytes + _depthwise.RowBytes;
        if (packAtLoad)
        {
            _depthwise.Packed = context.AllocatePersistent<float>((int)packedLength);
            fixed (float* packed = _depthwise.Packed)
            {
                PackDepthwise(packed);
            }
        }
        else
        {
            scratch += packedLength * sizeof(float);
        }

        context.RequestScratch(scratch);
    }

    private static nint AlignUp(long bytes) => (nint)FormatConstants.AlignUp(bytes);

    /// <summary>W[ci·m + j][t] → packed[(j·K + t)·Cin + ci]; B[ci·m + j] → packed[m·K·Cin + j·Cin + ci].</summary>
    private readonly void PackDepthwise(float* packed)
    {
        int m = _depthwise.Multiplier, taps = _depthwise.Taps, cin = _inChannels;
        float* packedBias = packed + (long)taps * _outChannels;
        for (int co = 0; co < _outChannels; co++)
        {
            int ci = co / m, j = co % m;
            for (int t = 0; t < taps; t++)
            {
                packed[((long)j * taps + t) * cin + ci] = _weights[(long)co * taps + t];
            }

            packedBias[j * cin + ci] = _bias == null ? 0 : _bias[co];
        }
    }

    private readonly void InvokeDepthwise(byte* scratch)
    {
        float** taps = (float**)scratch;
        float* row = (float*)(scratch + _depthwise.TapsBytes);
        float* packed;
        if (_depthwise.Packed is { } atLoad)
        {
            // Pinned at allocation (AllocatePersistent), so the address is stable for the interpreter's lifetime.
            packed = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(atLoad));
        }
        else
        {
            packed = (float*)(scratch + _depthwise.TapsBytes + _depthwise.RowBytes);
            PackDepthwise(packed);
        }

        float* zeros = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_depthwise.ZeroRow!));
        switch (FloatVector.LanesFor(_path))
        {
            case FloatLanes.Eight:
                RunDepthwise<Float256>(taps, row, packed, zeros);
                break;
            case FloatLanes.Four:
                RunDepthwise<Float128>(taps, row, packed, zeros);
                break;
            default:
                RunDepthwise<ScalarFloat>(taps, row, packed, zeros);
                break;
        }
    }

    private readonly void RunDepthwise<T>(float** taps, float* row, float* packed, float* zeros) where T : struct, IFloatVector<T>
    {
        int m = _depthwise.Multiplier, tapCount = _depthwise.Taps, cin = _inChannels, cout = _outChannels;
        float* packedBias = _bias == null ? null : packed + (long)tapCount * cout;
        for (int n = 0; n < _batch; n++)
        {
            float* image = _input + (long)n * _height * _width * cin;
            for (int oy = 0; oy < _outHeight; oy++)
            {
                for (int ox = 0; ox < _outWidth; ox++)
                {
                    ListTaps(taps, image, oy, ox, zeros);
                    float* outPixel = _output + (((long)n * _outHeight + oy) * _outWidth + ox) * cout;
                    for (int j = 0; j < m; j++)
                    {
                        float* weights = packed + (long)j * tapCount * cin;
                        float* bias = packedBias == null ? null : packedBias + j * cin;
                        float* destination = m == 1 ? outPixel : row + j * cin;
                        nint c = 0;
                        for (; c <= cin - T.Count; c += T.Count)
                        {
                            DepthwiseChannels<T>(taps, tapCount, weights, bias, destination, cin, c);
                        }

                        for (; c < cin; c++)
                        {
                            DepthwiseChannels<ScalarFloat>(taps, tapCount, weights, bias, destination, cin, c);
                        }
                    }

                    if (m > 1)
                    {
                        for (int ci = 0; ci < cin; ci++)
                        {
                            for (int j = 0; j < m; j++)
                            {
                                outPixel[ci * m + j] = row[j * cin + ci];
                            }
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void DepthwiseChannels<T>(float** taps, int tapCount, float* weights, float* bias, float* destination, int cin, nint c)
        where T : struct, IFloatVector<T>
    {
        T s = FloatColumns.ChainTaps<T>(taps, tapCount, weights, cin, c);
        if (bias != null)
        {
            s += T.Load(ref *bias, c);
        }

        T.Store(FloatVector.Clamp(s, T.Create(_min), T.Create(_max)), ref *destination, c);
    }

    /// <summary>One pointer per tap of output pixel (oy, ox), in (ky, kx) order: the input pixel, or the zero row.</summary>
    private readonly void ListTaps(float** taps, float* image, int oy, int ox, float* zeros)
    {
        int iy0 = oy * _strideH - _padTop;
        int ix0 = ox * _strideW - _padLeft;
        int t = 0;
        for (int ky = 0; ky < _kernelHeight; ky++)
        {
            int iy = iy0 + ky * _dilationH;
            bool rowInside = (uint)iy < (uint)_height;
            float* inRow = image + (long)iy * _width * _inChannels;
            for (int kx = 0; kx < _kernelWidth; kx++)
            {
                int ix = ix0 + kx * _dilationW;
                taps[t++] = rowInside && (uint)ix < (uint)_width ? inRow + (long)ix * _inChannels : zeros;
            }
        }
    }
}
