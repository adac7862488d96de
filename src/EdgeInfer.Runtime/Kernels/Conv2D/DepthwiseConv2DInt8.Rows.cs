using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

// The AVX2 row kernel (channel multiplier 1, any channel count, stride, dilation and padding).
//
// Input rows are converted once each into a ring of int16 rows in scratch: x − zx, channels padded to Cp (a multiple
// of 16) with zeros, and PadLeft/PadRight columns of zeros; a row above or below the image is a shared row of zeros.
// A padded tap therefore contributes (0)·w = 0, exactly the "skip the tap" of the scalar loop, so the kernel has no
// bounds checks. Taps are taken in pairs: vpunpcklwd/vpunpckhwd interleave the two taps' x for 8 channels per
// 128-bit lane and one vpmaddwd against the weights interleaved the same way at Prepare adds both products into
// int32 (|x − zx|·|w| ≤ 255·128, so the pair sum is exact). The unpack leaves channels as [0-3, 8-11] and
// [4-7, 12-15]; two vperm2i128 restore the order before requantization. The sums are the scalar loop's integers,
// so every path gives the same bytes.
internal unsafe partial struct DepthwiseConv2DInt8
{
    private const int MaxRowTaps = 64;
    private const int MaxRingRows = 16;


    private static bool UseRows(ConvGeometry g, KernelPath path, int multiplier)
        => path == KernelPath.Avx2 && Avx2.IsSupported && multiplier == 1
            && g.KernelHeight * g.KernelWidth <= MaxRowTaps && (g.KernelHeight - 1) * g.DilationH + 1 <= MaxRingRows;

    private void PrepareRows(ref KernelContext context, sbyte* weights)
    {
        ref readonly ConvGeometry g = ref _g;
        int c = g.OutputChannels;
        int taps = g.KernelHeight * g.KernelWidth;
        _rowChannels = (c + 15) & ~15;
        _pairs = (taps + 1) / 2;
        int lastColumn = (g.OutputWidth - 1) * g.StrideW + (g.KernelWidth - 1) * g.DilationW; // in padded columns
        int columns = Math.Max(lastColumn + 1, g.PadLeft + g.Width);
        _rowLength = (columns * _rowChannels + 15) & ~15;
        _ringRows = (g.KernelHeight - 1) * g.DilationH + 1;
        context.RequestScratch(((long)_ringRows + 1) * _rowLength * sizeof(short) + 64);

        _pairWeights = context.AllocatePersistent<short>(_pairs * _rowChannels * 2);
        for (int p = 0; p < _pairs; p++)
        {
            for (int c0 = 0; c0 < _rowChannels; c0 += 16)
            {
                int at = (p * _rowChannels + c0) * 2;
                for (int half = 0; half < 2; half++)           // L: channels 0-3 | 8-11, H: 4-7 | 12-15
                {
                    for (int lane = 0; lane < 2; lane++)
                    {
                        for (int i = 0; i < 4; i++)
                        {
                            int ch = c0 + lane * 8 + half * 4 + i;
                            _pairWeights[at++] = Tap(weights, c, taps, ch, 2 * p);
                            _pairWeights[at++] = Tap(weights, c, taps, ch, 2 * p + 1);
                        }
                    }
                }
            }
        }
    }

    private static short Tap(sbyte* weights, int channels, int taps, int channel, int tap)
        => channel < channels && tap < taps ? weights[channel * taps + tap] : (short)0;

    private readonly void RunRows(sbyte* x, sbyte* y, Span<byte> scratch)
    {
        if (_requantizer.Folded)
        {
            RunRows<Int8Requantizer.FoldedForm>(x, y, scratch);
        }
        else
        {
            RunRows<Int8Requantizer.ThresholdForm>(x, y, scratch);
        }
    }

    /// <remarks>
    /// Per output row, channels go in the outer loop and output columns in the inner one, so a block's
    /// requantization constants are loaded once per row rather than once per pixel; the tap pointers of a 3×3 kernel
    /// are three row pointers and two column steps held in locals.
    /// </remarks>
    private readonly void RunRows<TForm>(sbyte* x, sbyte* y, Span<byte> scratch) where TForm : struct
    {
        ref readonly ConvGeometry g = ref _g;
        int cp = _rowChannels;
        int c = g.OutputChannels;
        int taps = g.KernelHeight * g.KernelWidth;
        int outputWidth = g.OutputWidth;
        long columnStep = (long)g.StrideW * cp;
        int* ringTag = stackalloc int[MaxRingRows];
        short** tap = stackalloc short*[MaxRowTaps + 1];
        bool threeByThree = _pairs == 5 && g.KernelHeight == 3 && g.KernelWidth == 3;
        fixed (byte* scratchBase = scratch)
        fixed (short* pw = _pairWeights)
        {
            short* zeroRow = (short*)(((nint)scratchBase + 31) & ~(nint)31);
            short* ring = zeroRow + _rowLength;
            new Span<short>(zeroRow, _rowLength).Clear();
            for (int b = 0; b < g.Batch; b++)
            {
                sbyte* xb = x + (long)b * g.Height * g.Width * c;
                for (int r = 0; r < _ringRows; r++)
                {
                    ringTag[r] = int.MinValue;
                }

                for (int oh = 0; oh < g.OutputHeight; oh++)
                {
                    for (int kh = 0; kh < g.KernelHeight; kh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                        short* row = zeroRow;
                        if ((uint)ih < (uint)g.Height)
                        {
                            int slot = ih % _ringRows;
                            row = ring + (long)slot * _rowLength;
                            if (ringTag[slot] != ih)
                            {
                                ConvertRow(xb + (long)ih * g.Width * c, row);
                                ringTag[slot] = ih;
                            }
                        }

                        for (int kw = 0; kw < g.KernelWidth; kw++)
                        {
                            tap[kh * g.KernelWidth + kw] = row + (long)kw * g.DilationW * cp;
                        }
                    }

                    tap[taps] = tap[taps - 1]; // partner of an odd last tap (its weights are zero)
                    sbyte* yr = y + ((long)b * g.OutputHeight + oh) * outputWidth * c;
                    for (int c0 = 0; c0 < c; c0 += 16)
                    {
                        Int8Requantizer.Avx2Channels8 q0 = _requantizer.LoadAvx2<TForm>(c0);
                        Int8Requantizer.Avx2Channels8 q1 = _requantizer.LoadAvx2<TForm>(c0 + 8);
                        short* w = pw + c0 * 2;
                        int count = Math.Min(16, c - c0);
                        sbyte* yp = yr + c0;
                        if (threeByThree)
                        {
                            // The 3×3 case (MobileNet's): taps (kh, kw) are row kh + kw·step, paired (0,1) (2,3) … (8,8').
                            long step = (long)g.DilationW * cp;
                            short* r0 = tap[0] + c0, r1 = tap[3] + c0, r2 = tap[6] + c0;
                            long wStep = cp * 2;
                            for (int ow = 0; ow < outputWidth; ow++, r0 += columnStep, r1 += columnStep, r2 += columnStep, yp += c)
                            {
                                Vector256<int> accL = Vector256<int>.Zero, accH = Vector256<int>.Zero;
                                PairStep(r0, r0 + step, w, ref accL, ref accH);
                                PairStep(r0 + 2 * step, r1, w + wStep, ref accL, ref accH);
                                PairStep(r1 + step, r1 + 2 * step, w + 2 * wStep, ref accL, ref accH);
                                PairStep(r2, r2 + step, w + 3 * wStep, ref accL, ref accH);
                                PairStep(r2 + 2 * step, r2 + 2 * step, w + 4 * wStep, ref accL, ref accH);
                                Store(_requantizer.Avx2x16<TForm>(Avx2.Permute2x128(accL, accH, 0x20), Avx2.Permute2x128(accL, accH, 0x31), q0, q1), yp, count);
                            }
                        }
                        else
                        {
                            for (int ow = 0; ow < outputWidth; ow++, yp += c)
                            {
                                long at = ow * columnStep + c0;
                                Vector256<int> accL = Vector256<int>.Zero, accH = Vector256<int>.Zero;
                                short* wp = w;
                                for (int p = 0; p < _pairs; p++)
                                {
                                    PairStep(tap[2 * p] + at, tap[2 * p + 1] + at, wp, ref accL, ref accH);
                                    wp += cp * 2;
                                }

                                Store(_requantizer.Avx2x16<TForm>(Avx2.Permute2x128(accL, accH, 0x20), Avx2.Permute2x128(accL, accH, 0x31), q0, q1), yp, count);
                            }
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<sbyte> result, sbyte* destination, int count)
    {
        if (count >= 16)
        {
            result.Store(destination);
        }
        else
        {
            StorePartial(result, destination, count);
        }
    }

    /// <summary>One input row as int16 x − zx into a ring row: zero columns left and right, zero channels up to Cp.</summary>
    private readonly void ConvertRow(sbyte* src, short* dst)
    {
        ref readonly ConvGeometry g = ref _g;
        int cp = _rowChannels;
        int c = g.InputChannels;
        new Span<short>(dst, g.PadLeft * cp).Clear();
        short* d = dst + (long)g.PadLeft * cp;
        Vector256<short> zero = Vector256.Create((short)_inputZero);
        if (c == cp)
        {
            int n = g.Width * c;
            for (int i = 0; i < n; i += 16)
            {
                Avx.Store(d + i, Avx2.Subtract(Avx2.ConvertToVector256Int16(src + i), zero));
            }
        }
        else
        {
            for (int iw = 0; iw < g.Width; iw++)
            {
                short* dp = d + (long)iw * cp;
                sbyte* sp = src + (long)iw * c;
                int ch = 0;
                for (; ch <= c - 16; ch += 16)
                {
                    Avx.Store(dp + ch, Avx2.Subtract(Avx2.ConvertToVector256Int16(sp + ch), zero));
                }

                for (; ch < c; ch++)
                {
                    dp[ch] = (short)(sp[ch] - _inputZero);
                }

                for (; ch < cp; ch++)
                {
                    dp[ch] = 0;
                }
            }
        }

        long used = (long)(g.PadLeft + g.Width) * cp;
        new Span<short>(dst + used, (int)(_rowLength - used)).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairStep(short* a, short* b, short* w, ref Vector256<int> accL, ref Vector256<int> accH)
    {
        Vector256<short> xa = Avx.LoadVector256(a);
        Vector256<short> xb = Avx.LoadVector256(b);
        accL = Avx2.Add(accL, Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(xa, xb), Avx.LoadVector256(w)));
        accH = Avx2.Add(accH, Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(xa, xb), Avx.LoadVector256(w + 16)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartial(Vector128<sbyte> value, sbyte* destination, int count)
    {
        Vector128<sbyte> copy = value;
        sbyte* bytes = (sbyte*)&copy;
        for (int i = 0; i < count; i++)
        {
            destination[i] = bytes[i];
        }
    }
}
