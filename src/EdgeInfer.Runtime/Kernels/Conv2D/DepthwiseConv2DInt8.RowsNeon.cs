using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeInfer.Runtime.Kernels;

// The arm64 row kernel for depthwise layers (channel multiplier 1, any channel count, stride, dilation and padding;
// up to 64 taps): MobileNet's 3×3 layers, and the 5×5 of MobileNetV3, EfficientNet and MnasNet, on a Raspberry Pi.
//
// It reads the same ring of int16 rows as the AVX2 row kernel (x − zx, channels padded to Cp with zeros, zero
// columns and a zero row for the padding), so the per-pixel path's work per tap — a bounds check, widening the
// int8 input, subtracting the zero point — is done once per input row instead of once per tap, and no tap needs a
// check. For 3×3, per 16-channel block, the nine taps' int16 weights (18 vectors) stay in registers for the whole
// output row; each tap is two loads and four SMLAL/SMLAL2. Other kernels walk the tap list with each tap's weights
// loaded beside its inputs (four loads and four SMLAL/SMLAL2 per tap). |x − zx|·|w| ≤ 255·128, accumulated in
// int32: the scalar loop's integers, so every path gives the same bytes.
internal unsafe partial struct DepthwiseConv2DInt8
{
    private static bool UseRowsNeon(ConvGeometry g, KernelPath path, int multiplier)
        => AdvSimd.Arm64.IsSupported && path is KernelPath.Vector128 or KernelPath.DotProduct && multiplier == 1
            && g.KernelHeight * g.KernelWidth <= MaxRowTaps && (g.KernelHeight - 1) * g.DilationH + 1 <= MaxRingRows;

    private void PrepareRowsNeon(ref KernelContext context, sbyte* weights)
    {
        int c = _g.OutputChannels;
        int taps = _g.KernelHeight * _g.KernelWidth;
        PrepareRing(ref context);
        _tapWeights = context.AllocatePersistent<short>(taps * _rowChannels);
        for (int c0 = 0; c0 < _rowChannels; c0 += 16)
        {
            for (int t = 0; t < taps; t++)
            {
                for (int i = 0; i < 16; i++)
                {
                    _tapWeights[(c0 * taps) + (t * 16) + i] = Tap(weights, c, taps, c0 + i, t);
                }
            }
        }
    }

    private readonly void RunRowsNeon(sbyte* x, sbyte* y, Span<byte> scratch)
    {
        ref readonly ConvGeometry g = ref _g;
        int c = g.OutputChannels;
        long columnStep = (long)g.StrideW * _rowChannels;
        long step = (long)g.DilationW * _rowChannels;
        int taps = g.KernelHeight * g.KernelWidth;
        bool threeByThree = g.KernelHeight == 3 && g.KernelWidth == 3;
        int* ringTag = stackalloc int[MaxRingRows];
        short** tap = stackalloc short*[MaxRowTaps];
        fixed (byte* scratchBase = scratch)
        fixed (short* tw = _tapWeights)
        {
            short* zeroRow = (short*)(((nint)scratchBase + 31) & ~(nint)31);
            short* ring = zeroRow + _rowLength;
            new Span<short>(zeroRow, _rowLength).Clear();
            for (int b = 0; b < g.Batch; b++)
            {
                sbyte* xb = x + (long)b * g.Height * g.Width * c;
                new Span<int>(ringTag, MaxRingRows).Fill(int.MinValue);
                for (int oh = 0; oh < g.OutputHeight; oh++)
                {
                    FillTaps(xb, oh, zeroRow, ring, ringTag, tap);
                    sbyte* yr = y + ((long)b * g.OutputHeight + oh) * g.OutputWidth * c;
                    for (int c0 = 0; c0 < c; c0 += 16)
                    {
                        if (threeByThree)
                        {
                            RowBlock16Neon(tap[0] + c0, tap[3] + c0, tap[6] + c0, step, columnStep, tw + c0 * 9, c0, yr + c0, c, Math.Min(16, c - c0));
                        }
                        else
                        {
                            RowBlock16NeonTaps(tap, taps, columnStep, tw + c0 * taps, c0, yr + c0, c, Math.Min(16, c - c0));
                        }
                    }
                }
            }
        }
    }

    /// <summary>One output row of the 16 channels c0..c0+15: taps (kh, kw) are row kh plus kw·step.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void RowBlock16Neon(short* r0, short* r1, short* r2, long step, long columnStep, short* w, int c0, sbyte* yp, int stride, int count)
    {
        Vector128<short> w0a = AdvSimd.LoadVector128(w), w0b = AdvSimd.LoadVector128(w + 8);
        Vector128<short> w1a = AdvSimd.LoadVector128(w + 16), w1b = AdvSimd.LoadVector128(w + 24);
        Vector128<short> w2a = AdvSimd.LoadVector128(w + 32), w2b = AdvSimd.LoadVector128(w + 40);
        Vector128<short> w3a = AdvSimd.LoadVector128(w + 48), w3b = AdvSimd.LoadVector128(w + 56);
        Vector128<short> w4a = AdvSimd.LoadVector128(w + 64), w4b = AdvSimd.LoadVector128(w + 72);
        Vector128<short> w5a = AdvSimd.LoadVector128(w + 80), w5b = AdvSimd.LoadVector128(w + 88);
        Vector128<short> w6a = AdvSimd.LoadVector128(w + 96), w6b = AdvSimd.LoadVector128(w + 104);
        Vector128<short> w7a = AdvSimd.LoadVector128(w + 112), w7b = AdvSimd.LoadVector128(w + 120);
        Vector128<short> w8a = AdvSimd.LoadVector128(w + 128), w8b = AdvSimd.LoadVector128(w + 136);
        int outputWidth = _g.OutputWidth;
        for (int ow = 0; ow < outputWidth; ow++, r0 += columnStep, r1 += columnStep, r2 += columnStep, yp += stride)
        {
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            TapNeon(r0, w0a, w0b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r0 + step, w1a, w1b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r0 + 2 * step, w2a, w2b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r1, w3a, w3b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r1 + step, w4a, w4b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r1 + 2 * step, w5a, w5b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r2, w6a, w6b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r2 + step, w7a, w7b, ref a0, ref a1, ref a2, ref a3);
            TapNeon(r2 + 2 * step, w8a, w8b, ref a0, ref a1, ref a2, ref a3);
            Quantized.Int8Requantizer.StoreBytes(_requantizer.V128x16(a0, a1, a2, a3, c0), yp, count);
        }
    }

    /// <summary>One output row of the 16 channels c0..c0+15 over any tap list: tap t is tap[t] plus the pixel's column.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void RowBlock16NeonTaps(short** tap, int taps, long columnStep, short* w, int c0, sbyte* yp, int stride, int count)
    {
        int outputWidth = _g.OutputWidth;
        for (int ow = 0; ow < outputWidth; ow++, yp += stride)
        {
            long at = ow * columnStep + c0;
            Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
            short* wt = w;
            for (int t = 0; t < taps; t++, wt += 16)
            {
                TapNeon(tap[t] + at, AdvSimd.LoadVector128(wt), AdvSimd.LoadVector128(wt + 8), ref a0, ref a1, ref a2, ref a3);
            }

            Quantized.Int8Requantizer.StoreBytes(_requantizer.V128x16(a0, a1, a2, a3, c0), yp, count);
        }
    }

    /// <summary>One tap of sixteen channels: (x − zx)·w into four int32 accumulators (SMLAL, SMLAL2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TapNeon(short* x, Vector128<short> wa, Vector128<short> wb, ref Vector128<int> a0, ref Vector128<int> a1, ref Vector128<int> a2, ref Vector128<int> a3)
    {
        Vector128<short> xa = AdvSimd.LoadVector128(x), xb = AdvSimd.LoadVector128(x + 8);
        a0 = AdvSimd.MultiplyWideningLowerAndAdd(a0, xa.GetLower(), wa.GetLower());
        a1 = AdvSimd.MultiplyWideningUpperAndAdd(a1, xa, wa);
        a2 = AdvSimd.MultiplyWideningLowerAndAdd(a2, xb.GetLower(), wb.GetLower());
        a3 = AdvSimd.MultiplyWideningUpperAndAdd(a3, xb, wb);
    }
}
