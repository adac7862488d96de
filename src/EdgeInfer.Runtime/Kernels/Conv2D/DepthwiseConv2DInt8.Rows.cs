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
        => KernelPaths.UsesAvx2(path) && multiplier == 1
            && g.KernelHeight * g.KernelWidth <= MaxRowTaps && (g.KernelHeight - 1) * g.DilationH + 1 <= MaxRingRows;

    /// <summary>The ring's geometry (Cp, row length, rows) and its scratch: the ring rows and one zero row.</summary>
    private void PrepareRing(ref KernelContext context)
    {
        ref readonly ConvGeometry g = ref _g;
        _rowChannels = (g.OutputChannels + 15) & ~15;
        int lastColumn = (g.OutputWidth - 1) * g.StrideW + (g.KernelWidth - 1) * g.DilationW; // in padded columns
        int columns = Math.Max(lastColumn + 1, g.PadLeft + g.Width);
        _rowLength = (columns * _rowChannels + 15) & ~15;
        _ringRows = (g.KernelHeight - 1) * g.DilationH + 1;
        context.RequestScratch(((long)_ringRows + 1) * _rowLength * sizeof(short) + 64);
    }

    private void PrepareRows(ref KernelContext context, sbyte* weights)
    {
        ref readonly ConvGeometry g = ref _g;
        int c = g.OutputChannels;
        int taps = g.KernelHeight * g.KernelWidth;
        PrepareRing(ref context);
        _pairs = (taps + 1) / 2;

        _pairWeights = context.AllocatePersistent<short>(_pairs * _rowChannels * 2);
        int scale = _requantizer.Avx2AccumulatorScale;
        for (int p = 0; p < _pairs; p++)
        {
            for (int c0 = 0; c0 < _rowChannels; c0 += 16)
            {
                int at = (c0 * _pairs + p * 16) * 2; // per 16-channel block, its pairs contiguous
                for (int half = 0; half < 2; half++)           // L: channels 0-3 | 8-11, H: 4-7 | 12-15
                {
                    for (int lane = 0; lane < 2; lane++)
                    {
                        for (int i = 0; i < 4; i++)
                        {
                            int ch = c0 + lane * 8 + half * 4 + i;
                            _pairWeights[at++] = (short)(scale * Tap(weights, c, taps, ch, 2 * p));
                            _pairWeights[at++] = (short)(scale * Tap(weights, c, taps, ch, 2 * p + 1));
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
        switch (_requantizer.Form)
        {
            case Int8Requantizer.Avx2Form.Folded: RunRows<Int8Requantizer.FoldedForm>(x, y, scratch); break;
            case Int8Requantizer.Avx2Form.FoldedRelu: RunRows<Int8Requantizer.FoldedReluForm>(x, y, scratch); break;
            default: RunRows<Int8Requantizer.ThresholdForm>(x, y, scratch); break;
        }
    }

    /// <remarks>
    /// Per output row, channels go in the outer loop and output columns in the inner one, so a block's
    /// requantization constants are loaded once per row rather than once per pixel; the tap pointers of a 3×3 kernel
    /// are three row pointers and two column steps held in locals. Pixels go in pairs: the two pixels' 32 results
    /// share one narrowing, and their independent chains give the core work to overlap. The accumulators keep the
    /// unpack's channel order ([0–3 | 8–11] and [4–7 | 12–15]); the requantization constants are permuted to match
    /// once per row (<see cref="Int8Requantizer.Avx2Channels8.Lanes"/>), and vpackssdw of the two halves restores
    /// channel order by itself.
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
        bool wide = threeByThree && _path == KernelPath.Avx512 && typeof(TForm) == typeof(Int8Requantizer.FoldedReluForm);
        bool pixelPairs = wide && c == 16 && g.StrideW == 1;
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
                    FillTaps(xb, oh, zeroRow, ring, ringTag, tap);
                    tap[taps] = tap[taps - 1]; // partner of an odd last tap (its weights are zero)
                    sbyte* yr = y + ((long)b * g.OutputHeight + oh) * outputWidth * c;
                    int c0 = 0;
                    for (; wide && c0 + 32 <= c; c0 += 32)
                    {
                        RowBlock32Avx512(tap[0] + c0, tap[3] + c0, tap[6] + c0, g.DilationW * (long)cp, columnStep, pw, c0, yr + c0, c, outputWidth);
                    }

                    for (; c0 < c; c0 += 16)
                    {
                        Int8Requantizer.Avx2Channels8 q0 = _requantizer.LoadAvx2<TForm>(c0);
                        Int8Requantizer.Avx2Channels8 q1 = _requantizer.LoadAvx2<TForm>(c0 + 8);
                        Int8Requantizer.Avx2Channels8 qL = Int8Requantizer.Avx2Channels8.Lanes(q0, q1, 0x20);
                        Int8Requantizer.Avx2Channels8 qH = Int8Requantizer.Avx2Channels8.Lanes(q0, q1, 0x31);
                        short* w = pw + c0 * _pairs * 2;
                        int count = Math.Min(16, c - c0);
                        sbyte* yp = yr + c0;
                        if (threeByThree)
                        {
                            // The 3×3 case (MobileNet's): taps (kh, kw) are row kh + kw·step, paired (0,1) (2,3) … (8,8').
                            long step = (long)g.DilationW * cp;
                            short* r0 = tap[0] + c0, r1 = tap[3] + c0, r2 = tap[6] + c0;
                            int ow = 0;
                            if (pixelPairs)
                            {
                                ow = RowPixels16Avx512(r0, r1, r2, step, pw, yp, outputWidth);
                                r0 += ow * columnStep;
                                r1 += ow * columnStep;
                                r2 += ow * columnStep;
                                yp += ow * c;
                            }

                            for (; ow + 1 < outputWidth; ow += 2, r0 += 2 * columnStep, r1 += 2 * columnStep, r2 += 2 * columnStep, yp += 2 * c)
                            {
                                Accumulate3x3(r0, r1, r2, step, w, out Vector256<int> aL, out Vector256<int> aH);
                                Accumulate3x3(r0 + columnStep, r1 + columnStep, r2 + columnStep, step, w, out Vector256<int> bL, out Vector256<int> bH);
                                StorePixels<TForm>(aL, aH, bL, bH, qL, qH, yp, c, count, 2);
                            }

                            if (ow < outputWidth)
                            {
                                Accumulate3x3(r0, r1, r2, step, w, out Vector256<int> aL, out Vector256<int> aH);
                                StorePixels<TForm>(aL, aH, aL, aH, qL, qH, yp, c, count, 1);
                            }
                        }
                        else
                        {
                            for (int ow = 0; ow < outputWidth; ow += 2, yp += 2 * c)
                            {
                                long at = ow * columnStep + c0;
                                AccumulateTaps(tap, at, w, out Vector256<int> aL, out Vector256<int> aH);
                                int pixels = Math.Min(2, outputWidth - ow);
                                Vector256<int> bL = aL, bH = aH;
                                if (pixels == 2)
                                {
                                    AccumulateTaps(tap, at + columnStep, w, out bL, out bH);
                                }

                                StorePixels<TForm>(aL, aH, bL, bH, qL, qH, yp, c, count, pixels);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// One output row's 32 channels c0..c0+31 of a 3×3 kernel on 512-bit vectors (KernelPath.Avx512, folded ReLU
    /// form): the 16-channel steps of <see cref="Accumulate3x3"/> on two blocks at once, so the unpacks leave lanes
    /// [0–3 | 8–11 | 16–19 | 24–27] and [4–7 | 12–15 | 20–23 | 28–31], and the two blocks' constants are
    /// lane-shuffled to match. Two pixels per step.
    /// </summary>
    private readonly void RowBlock32Avx512(short* r0, short* r1, short* r2, long step, long columnStep, short* pw, int c0, sbyte* yp, int stride, int outputWidth)
    {
        short* block0 = pw + c0 * _pairs * 2;
        Taps3x3Avx512 w = Taps3x3Avx512.Load(block0, block0 + 16 * _pairs * 2);
        Int8Requantizer.Avx512Channels16 t0 = _requantizer.LoadAvx512(c0), t1 = _requantizer.LoadAvx512(c0 + 16);
        Int8Requantizer.Avx512Channels16.InUnpackOrder(t0, t1, out Int8Requantizer.Avx512Channels16 qL, out Int8Requantizer.Avx512Channels16 qH);
        for (int ow = 0; ow < outputWidth; ow += 2, r0 += 2 * columnStep, r1 += 2 * columnStep, r2 += 2 * columnStep, yp += 2 * stride)
        {
            long next = ow + 1 < outputWidth ? columnStep : 0; // a last odd pixel is computed twice: no read past the ring
            Accumulate3x3Avx512(r0, r1, r2, step, w.W0L, w.W0H, w.W1L, w.W1H, w.W2L, w.W2H, w.W3L, w.W3H, w.W4L, w.W4H, out Vector512<int> aL, out Vector512<int> aH);
            Accumulate3x3Avx512(r0 + next, r1 + next, r2 + next, step, w.W0L, w.W0H, w.W1L, w.W1H, w.W2L, w.W2H, w.W3L, w.W3H, w.W4L, w.W4H, out Vector512<int> bL, out Vector512<int> bH);
            Vector512<sbyte> v = NarrowAvx512(aL, aH, bL, bH, qL, qH);
            Avx.Store(yp, v.GetLower());
            if (next != 0)
            {
                Avx.Store(yp + stride, v.GetUpper());
            }
        }
    }

    /// <summary>
    /// One output row of a 16-channel layer with stride 1 (3×3, KernelPath.Avx512, folded ReLU form), four pixels
    /// per step; returns how many pixels it did (the row rounded down to four). Pixels ow and ow + 1 read adjacent
    /// columns for every tap, so one 512-bit load holds a tap of both, with the 16-channel weights and constants in
    /// both halves; the four pixels' 64 bytes leave in one store.
    /// </summary>
    private readonly int RowPixels16Avx512(short* r0, short* r1, short* r2, long step, short* pw, sbyte* yp, int outputWidth)
    {
        Taps3x3Avx512 w = Taps3x3Avx512.Load(pw, pw);
        Int8Requantizer.Avx512Channels16 t = _requantizer.LoadAvx512(0);
        Int8Requantizer.Avx512Channels16.InUnpackOrder(t, t, out Int8Requantizer.Avx512Channels16 qL, out Int8Requantizer.Avx512Channels16 qH);
        int end = outputWidth & ~3;
        for (int ow = 0; ow < end; ow += 4, r0 += 64, r1 += 64, r2 += 64, yp += 64)
        {
            Accumulate3x3Avx512(r0, r1, r2, step, w.W0L, w.W0H, w.W1L, w.W1H, w.W2L, w.W2H, w.W3L, w.W3H, w.W4L, w.W4H, out Vector512<int> aL, out Vector512<int> aH);
            Accumulate3x3Avx512(r0 + 32, r1 + 32, r2 + 32, step, w.W0L, w.W0H, w.W1L, w.W1H, w.W2L, w.W2H, w.W3L, w.W3H, w.W4L, w.W4H, out Vector512<int> bL, out Vector512<int> bH);
            NarrowAvx512(aL, aH, bL, bH, qL, qH).Store(yp);
        }

        return end;
    }

    /// <summary>
    /// Requantizes two 512-bit accumulator pairs (a and b) to 64 clamped bytes: vpackssdw of each pair's halves puts
    /// its 32 int16 in order, vpacksswb interleaves a and b by eight bytes, and one vpermq gives a's 32 bytes then
    /// b's (for a pixel pair of 16 channels each: a's two pixels, then b's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly Vector512<sbyte> NarrowAvx512(Vector512<int> aL, Vector512<int> aH, Vector512<int> bL, Vector512<int> bH,
        in Int8Requantizer.Avx512Channels16 qL, in Int8Requantizer.Avx512Channels16 qH)
    {
        Vector512<short> a = Avx512BW.PackSignedSaturate(Int8Requantizer.Avx512ReluMbqm(aL, qL), Int8Requantizer.Avx512ReluMbqm(aH, qH));
        Vector512<short> b = Avx512BW.PackSignedSaturate(Int8Requantizer.Avx512ReluMbqm(bL, qL), Int8Requantizer.Avx512ReluMbqm(bH, qH));
        Vector512<long> order = Vector512.Create(0L, 2, 4, 6, 1, 3, 5, 7);
        return _requantizer.ClampAvx512(Avx512F.PermuteVar8x64(Avx512BW.PackSignedSaturate(a, b).AsInt64(), order).AsSByte());
    }

    /// <summary>
    /// The ten pair-weight vectors of a 3×3 kernel on 512-bit vectors: each the 16-channel pair weights of one
    /// block in the low half and of another in the high half (the same block twice for pixel pairs). A ref struct
    /// of locals that <see cref="Accumulate3x3Avx512"/> reads field by field, so the JIT keeps all ten in registers
    /// for the row (an instance method on it took the struct's address and reloaded every vector per pixel).
    /// </summary>
    private ref struct Taps3x3Avx512
    {
        public Vector512<short> W0L, W0H, W1L, W1H, W2L, W2H, W3L, W3H, W4L, W4H;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Taps3x3Avx512 Load(short* block0, short* block1) => new()
        {
            W0L = Halves(block0, block1, 0), W0H = Halves(block0, block1, 16),
            W1L = Halves(block0, block1, 32), W1H = Halves(block0, block1, 48),
            W2L = Halves(block0, block1, 64), W2H = Halves(block0, block1, 80),
            W3L = Halves(block0, block1, 96), W3H = Halves(block0, block1, 112),
            W4L = Halves(block0, block1, 128), W4H = Halves(block0, block1, 144),
        };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<short> Halves(short* block0, short* block1, int offset)
            => Vector512.Create(Avx.LoadVector256(block0 + offset), Avx.LoadVector256(block1 + offset));
    }

    /// <summary>The taps of <see cref="Accumulate3x3"/> on 512-bit vectors, paired (0,1) (2,3) (4,5) (6,7) (8, zero weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate3x3Avx512(short* r0, short* r1, short* r2, long step,
        Vector512<short> w0L, Vector512<short> w0H, Vector512<short> w1L, Vector512<short> w1H, Vector512<short> w2L, Vector512<short> w2H,
        Vector512<short> w3L, Vector512<short> w3H, Vector512<short> w4L, Vector512<short> w4H, out Vector512<int> accL, out Vector512<int> accH)
    {
        accL = Vector512<int>.Zero;
        accH = Vector512<int>.Zero;
        PairStep512(r0, r0 + step, w0L, w0H, ref accL, ref accH);
        PairStep512(r0 + 2 * step, r1, w1L, w1H, ref accL, ref accH);
        PairStep512(r1 + step, r1 + 2 * step, w2L, w2H, ref accL, ref accH);
        PairStep512(r2, r2 + step, w3L, w3H, ref accL, ref accH);
        PairStep512(r2 + 2 * step, r2 + 2 * step, w4L, w4H, ref accL, ref accH);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairStep512(short* a, short* b, Vector512<short> wL, Vector512<short> wH, ref Vector512<int> accL, ref Vector512<int> accH)
    {
        Vector512<short> xa = Vector512.Load(a);
        Vector512<short> xb = Vector512.Load(b);
        accL += Avx512BW.MultiplyAddAdjacent(Avx512BW.UnpackLow(xa, xb), wL);
        accH += Avx512BW.MultiplyAddAdjacent(Avx512BW.UnpackHigh(xa, xb), wH);
    }

    /// <summary>One pixel's 16 channels, 3×3 taps paired (0,1) (2,3) (4,5) (6,7) (8, zero weights).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate3x3(short* r0, short* r1, short* r2, long step, short* w, out Vector256<int> accL, out Vector256<int> accH)
    {
        accL = Vector256<int>.Zero;
        accH = Vector256<int>.Zero;
        PairStep(r0, r0 + step, w, ref accL, ref accH);
        PairStep(r0 + 2 * step, r1, w + 32, ref accL, ref accH);
        PairStep(r1 + step, r1 + 2 * step, w + 64, ref accL, ref accH);
        PairStep(r2, r2 + step, w + 96, ref accL, ref accH);
        PairStep(r2 + 2 * step, r2 + 2 * step, w + 128, ref accL, ref accH);
    }

    /// <summary>One pixel's 16 channels over any tap list (pairs of tap row pointers, at column offset <paramref name="at"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void AccumulateTaps(short** tap, long at, short* w, out Vector256<int> accL, out Vector256<int> accH)
    {
        accL = Vector256<int>.Zero;
        accH = Vector256<int>.Zero;
        for (int p = 0; p < _pairs; p++)
        {
            PairStep(tap[2 * p] + at, tap[2 * p + 1] + at, w, ref accL, ref accH);
            w += 32;
        }
    }

    /// <summary>
    /// Requantizes two pixels' accumulators (a and b; b is ignored when <paramref name="pixels"/> is 1) and stores
    /// <paramref name="count"/> channels of each: after the narrowing the bytes are [a 0–7, b 0–7 | a 8–15, b 8–15],
    /// and one vpermq puts each pixel's 16 in a 128-bit half.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void StorePixels<TForm>(Vector256<int> aL, Vector256<int> aH, Vector256<int> bL, Vector256<int> bH,
        in Int8Requantizer.Avx2Channels8 qL, in Int8Requantizer.Avx2Channels8 qH, sbyte* yp, int stride, int count, int pixels)
        where TForm : struct
    {
        Vector256<sbyte> packed = _requantizer.PackAvx2<TForm>(_requantizer.Avx2TableMbqm<TForm>(aL, qL), _requantizer.Avx2TableMbqm<TForm>(aH, qH),
            _requantizer.Avx2TableMbqm<TForm>(bL, qL), _requantizer.Avx2TableMbqm<TForm>(bH, qH));
        Vector256<sbyte> v = _requantizer.ClampAvx2(Avx2.Permute4x64(packed.AsInt64(), 0b11_01_10_00).AsSByte());
        Int8Requantizer.StoreBytes(v.GetLower(), yp, count);
        if (pixels == 2)
        {
            Int8Requantizer.StoreBytes(v.GetUpper(), yp + stride, count);
        }
    }

    /// <summary>
    /// Points tap[kh·KW + kw] at output row <paramref name="oh"/>'s tap rows in the ring, converting each input row the
    /// first time a row needs it (a ring slot remembers which input row it holds); rows outside the image are the
    /// shared zero row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void FillTaps(sbyte* xb, int oh, short* zeroRow, short* ring, int* ringTag, short** tap)
    {
        ref readonly ConvGeometry g = ref _g;
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
                    ConvertRow(xb + (long)ih * g.Width * g.InputChannels, row);
                    ringTag[slot] = ih;
                }
            }

            for (int kw = 0; kw < g.KernelWidth; kw++)
            {
                tap[kh * g.KernelWidth + kw] = row + (long)kw * g.DilationW * _rowChannels;
            }
        }
    }

    /// <summary>One input row as int16 x − zx into a ring row: zero columns left and right, zero channels up to Cp.</summary>
    private readonly void ConvertRow(sbyte* src, short* dst)
    {
        ref readonly ConvGeometry g = ref _g;
        int cp = _rowChannels;
        new Span<short>(dst, g.PadLeft * cp).Clear();
        short* d = dst + (long)g.PadLeft * cp;
        if (!KernelPaths.UsesAvx2(_path))
        {
            ConvertPixels128(src, d);
        }
        else
        {
            ConvertPixelsAvx2(src, d);
        }

        long used = (long)(g.PadLeft + g.Width) * cp;
        new Span<short>(dst + used, (int)(_rowLength - used)).Clear();
    }

    /// <summary>The row's pixels as x − zx, 16 channels per step (the arm64 row kernel's ring).</summary>
    private readonly void ConvertPixels128(sbyte* src, short* d)
    {
        ref readonly ConvGeometry g = ref _g;
        int cp = _rowChannels;
        int c = g.InputChannels;
        Vector128<short> zero = Vector128.Create((short)_inputZero);
        for (int iw = 0; iw < g.Width; iw++)
        {
            short* dp = d + (long)iw * cp;
            sbyte* sp = src + (long)iw * c;
            int ch = 0;
            for (; ch <= c - 16; ch += 16)
            {
                (Vector128<short> lo, Vector128<short> hi) = Vector128.Widen(Vector128.Load(sp + ch));
                (lo - zero).Store(dp + ch);
                (hi - zero).Store(dp + ch + 8);
            }

            ConvertTail(sp, dp, ch, c, cp);
        }
    }

    private readonly void ConvertPixelsAvx2(sbyte* src, short* d)
    {
        ref readonly ConvGeometry g = ref _g;
        int cp = _rowChannels;
        int c = g.InputChannels;
        Vector256<short> zero = Vector256.Create((short)_inputZero);
        if (c == cp)
        {
            int n = g.Width * c;
            int i = 0;
            if (_path == KernelPath.Avx512)
            {
                Vector512<short> zero512 = Vector512.Create((short)_inputZero);
                for (; i + 32 <= n; i += 32)
                {
                    Vector512.Store(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(src + i)) - zero512, d + i);
                }
            }

            for (; i < n; i += 16)
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

                ConvertTail(sp, dp, ch, c, cp);
            }
        }
    }

    /// <summary>
    /// Channels from..c−1 of one pixel as x − zx, then zeros up to Cp. A tail of 8 (24, 40, 72 channels…) is one
    /// 8-byte conversion and the padding one vector of zeros, so such layers convert no slower than whole blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void ConvertTail(sbyte* sp, short* dp, int from, int c, int cp)
    {
        int ch = from;
        if (ch <= c - 8)
        {
            (Vector128.WidenLower(Vector128.CreateScalar(*(long*)(sp + ch)).AsSByte()) - Vector128.Create((short)_inputZero)).Store(dp + ch);
            ch += 8;
        }

        for (; ch < c; ch++)
        {
            dp[ch] = (short)(sp[ch] - _inputZero);
        }

        if (ch <= cp - 8)
        {
            Vector128<short>.Zero.Store(dp + ch);
            ch += 8;
        }

        for (; ch < cp; ch++)
        {
            dp[ch] = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairStep(short* a, short* b, short* w, ref Vector256<int> accL, ref Vector256<int> accH)
    {
        Vector256<short> xa = Avx.LoadVector256(a);
        Vector256<short> xb = Avx.LoadVector256(b);
        accL = Avx2.Add(accL, Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(xa, xb), Avx.LoadVector256(w)));
        accH = Avx2.Add(accH, Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(xa, xb), Avx.LoadVector256(w + 16)));
    }
}
