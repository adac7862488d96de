using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime.Kernels;

// AVX2 im2col straight into the GEMM's int16 strips (one group; any kernel, stride, dilation, padding).
//
// The image is first copied into scratch with its padding written as zx (what im2col writes for a padded tap; the
// folded bias cancels it) and enough rows and columns that every tap of every output pixel is inside the copy. A
// patch is then KH runs of KW·Cin contiguous bytes (KH·KW runs of Cin with dilation), each widened 16 bytes at a
// time (vpmovsxbw; 8 at a time for runs of at most 8) into the strip row, with no bounds checks. A widened run may
// spill up to 15 values past its end: the next run overwrites them, and spill past K lands on k ≥ K, where the packed weights are zero (or in the
// strip's slack). The strip then goes through the same micro-kernel as every other Avx2 GEMM, so the integer sums,
// hence the bytes, are those of the im2col path and of Scalar.
public unsafe partial struct Conv2DInt8Kernel
{
    private const int SpillSlack = 16;

    // Patches are gathered for up to 64 pixels before the GEMM reads them: a strip read right after its
    // overlapping 32-byte stores would be served by failed store-to-load forwarding (a stall per load).
    private const int StripChunkBytes = 16 * 1024;

    private void PrepareStrips(ref KernelContext context)
    {
        ConvGeometry g = _g;
        _mode = 3;
        _paddedHeight = Math.Max(g.PadTop + g.Height, (g.OutputHeight - 1) * g.StrideH + (g.KernelHeight - 1) * g.DilationH + 1);
        _paddedWidth = Math.Max(g.PadLeft + g.Width, (g.OutputWidth - 1) * g.StrideW + (g.KernelWidth - 1) * g.DilationW + 1);
        long image = (long)_paddedHeight * _paddedWidth * g.InputChannels + SpillSlack;
        _stripOffset = (int)FormatConstants.AlignUp(image);
        int kp = _gemms[0].PaddedDepth;
        _chunkRows = Math.Clamp(StripChunkBytes / (kp * sizeof(short)), 4, 64) & ~3;
        long strip = ((long)_chunkRows * kp + 2 * SpillSlack) * sizeof(short);
        context.RequestScratch(_stripOffset + strip);
    }

    private readonly void RunStrips(sbyte* x, sbyte* y, Span<byte> scratch)
    {
        ConvGeometry g = _g;
        int cin = g.InputChannels;
        int pixels = g.OutputHeight * g.OutputWidth;
        int kp = _gemms[0].PaddedDepth;
        long rowBytes = (long)_paddedWidth * cin;
        var walk = new PatchWalk
        {
            Run = g.DilationW == 1 ? g.KernelWidth * cin : cin,
            Runs = g.DilationW == 1 ? 1 : g.KernelWidth,
            RunStep = (long)g.DilationW * cin,
            KernelHeight = g.KernelHeight,
            KhStep = g.DilationH * rowBytes,
            PixelStep = (long)g.StrideW * cin,
            RowStep = g.StrideH * rowBytes,
            OutputWidth = g.OutputWidth,
            Kp = kp,
        };
        fixed (byte* basePtr = scratch)
        {
            sbyte* padded = (sbyte*)basePtr;
            short* strip = (short*)(basePtr + _stripOffset);
            for (int b = 0; b < g.Batch; b++)
            {
                Pad(x + (long)b * g.Height * g.Width * cin, padded);
                sbyte* yb = y + (long)b * pixels * g.OutputChannels;
                walk.Row = padded;
                walk.Column = 0;
                for (int c0 = 0; c0 < pixels; c0 += _chunkRows)
                {
                    int chunk = Math.Min(_chunkRows, pixels - c0);
                    Gather(ref walk, strip, chunk);
                    _gemms[0].RunStripAvx2(strip, chunk, yb + (long)c0 * g.OutputChannels, g.OutputChannels);
                }
            }
        }
    }

    /// <summary>Where the next patch starts in the padded image, and the steps between runs, rows and pixels.</summary>
    private struct PatchWalk
    {
        public sbyte* Row;          // the padded-image row of the next output row's top taps
        public int Column;          // the next output column
        public int OutputWidth;
        public int Run;             // contiguous bytes per run
        public int Runs;            // runs per kernel row (1 unless dilated horizontally)
        public long RunStep;
        public int KernelHeight;
        public long KhStep;
        public long PixelStep;
        public long RowStep;
        public int Kp;

        /// <summary>The patch origin of the pixel after the one at <paramref name="src"/>, wrapping to the next output row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public sbyte* Next(sbyte* src, ref int column)
        {
            if (++column < OutputWidth)
            {
                return src + PixelStep;
            }

            column = 0;
            Row += RowStep;
            return Row;
        }
    }

    /// <summary>
    /// Widens the patches of the next <paramref name="count"/> output pixels into strip rows Kp apart. Its own
    /// method with the walk in a small struct, so the per-run loop keeps its pointers in registers (inlined into the
    /// kernel's Invoke it spilled the geometry and cost ~40 instructions per run).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Gather(ref PatchWalk walk, short* strip, int count)
    {
        sbyte* src = walk.Row + walk.Column * walk.PixelStep;
        int column = walk.Column;
        int run = walk.Run;
        long khStep = walk.KhStep;
        int kernelHeight = walk.KernelHeight;
        short* dst = strip;
        if (walk.Runs == 1 && kernelHeight == 3 && run <= 16)
        {
            // The common 3×3 first layers, unrolled: three widenings and three stores per patch. Runs of ≤ 8 bytes
            // widen 8 bytes into 16-byte stores (half the store width, fewer cache-line splits), longer ones 16.
            bool narrow = run <= 8;
            for (int r = 0; r < count; r++, dst += walk.Kp)
            {
                if (narrow)
                {
                    Sse2.Store(dst, Sse41.ConvertToVector128Int16(src));
                    Sse2.Store(dst + run, Sse41.ConvertToVector128Int16(src + khStep));
                    Sse2.Store(dst + 2 * run, Sse41.ConvertToVector128Int16(src + 2 * khStep));
                }
                else
                {
                    Avx.Store(dst, Avx2.ConvertToVector256Int16(src));
                    Avx.Store(dst + run, Avx2.ConvertToVector256Int16(src + khStep));
                    Avx.Store(dst + 2 * run, Avx2.ConvertToVector256Int16(src + 2 * khStep));
                }

                src = walk.Next(src, ref column);
            }

            walk.Column = column;
            return;
        }

        for (int r = 0; r < count; r++)
        {
            short* d = dst;
            if (walk.Runs == 1 && run <= 8)
            {
                // A short run (a first layer's few input channels): one 8-byte widening into a 16-byte store, half
                // the store width and fewer cache-line splits.
                sbyte* s = src;
                for (int kh = 0; kh < kernelHeight; kh++, s += khStep, d += run)
                {
                    Sse2.Store(d, Sse41.ConvertToVector128Int16(s));
                }
            }
            else if (walk.Runs == 1 && run <= 16)
            {
                // One 16-byte widening per kernel row (a 3×3 stem over RGB: runs of 9).
                sbyte* s = src;
                for (int kh = 0; kh < kernelHeight; kh++, s += khStep, d += run)
                {
                    Avx.Store(d, Avx2.ConvertToVector256Int16(s));
                }
            }
            else
            {
                for (int kh = 0; kh < kernelHeight; kh++)
                {
                    sbyte* s = src + kh * khStep;
                    for (int k = 0; k < walk.Runs; k++, d += run)
                    {
                        sbyte* sr = s + k * walk.RunStep;
                        for (int i = 0; i < run; i += 16)
                        {
                            Avx.Store(d + i, Avx2.ConvertToVector256Int16(sr + i));
                        }
                    }
                }
            }

            dst += walk.Kp;
            src = walk.Next(src, ref column);
        }

        walk.Column = column;
    }

    /// <summary>The image with zx in the padding, <see cref="_paddedHeight"/> × <see cref="_paddedWidth"/> pixels.</summary>
    /// <remarks>One fill of the whole copy, then the rows: a small image (the digits model's 8×8) would otherwise
    /// spend more in per-row fill and copy calls than in its convolution.</remarks>
    private readonly void Pad(sbyte* x, sbyte* padded)
    {
        ConvGeometry g = _g;
        int cin = g.InputChannels;
        long rowBytes = (long)_paddedWidth * cin;
        new Span<sbyte>(padded, (int)(_paddedHeight * rowBytes + SpillSlack)).Fill((sbyte)_inputZero);
        int inner = g.Width * cin;
        sbyte* d = padded + g.PadTop * rowBytes + g.PadLeft * cin;
        for (int ih = 0; ih < g.Height; ih++, d += rowBytes)
        {
            sbyte* src = x + (long)ih * inner;
            int i = 0;
            for (; i <= inner - 16; i += 16)
            {
                Vector128.Store(Vector128.Load(src + i), d + i);
            }

            for (; i <= inner - 8; i += 8)
            {
                *(long*)(d + i) = *(long*)(src + i);
            }

            for (; i < inner; i++)
            {
                d[i] = src[i];
            }
        }
    }
}
