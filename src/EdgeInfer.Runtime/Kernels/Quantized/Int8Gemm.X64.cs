using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime.Kernels.Quantized;

// x64 micro-kernels: int16 k-pairs and vpmaddwd (Avx2.MultiplyAddAdjacent), which multiplies eight (or four)
// channel pairs by one broadcast pair of X and adds adjacent products into int32 lanes. Exact: |x·w| ≤ 2^14.
internal unsafe partial struct Int8Gemm
{
    /// <summary>The most rows one requantization pass takes (the accumulators of a whole chunk wait on the stack).</summary>
    private const int MaxTileChunk = 64;

    /// <summary>
    /// Rows 0..rows−1 of packed int16 X (row stride <see cref="PaddedDepth"/>), in chunks of up to 64 rows. Per panel
    /// (16 channels, the last possibly 8) and chunk: layers with K ≤ 8 stream their rows past the panel held in
    /// registers (<see cref="StreamRows16"/>); otherwise the rows are accumulated four at a time in one call
    /// (<see cref="Tiles16{TRows}"/>; a last group of fewer than four computes four, except when one row is left over:
    /// then the last nine rows go three at a time, or a single last row runs alone), then the chunk's accumulators
    /// are requantized in one pass with the channel constants loaded once.
    /// </summary>
    [SkipLocalsInit] // acc is written before it is read: zeroing it cost a fill per call
    private readonly void RunAvx2(short* strip, int rows, sbyte* y, int outputStride, int nb, int ne)
    {
        int kp = _paddedDepth;
        int pairs = kp / 2;
        Vector256<int>* acc = stackalloc Vector256<int>[2 * MaxTileChunk + 2];
        fixed (short* packed = _packed16)
        {
            for (int c0 = 0; c0 < rows; c0 += MaxTileChunk)
            {
                int chunk = Math.Min(MaxTileChunk, rows - c0);
                short* x = strip + (long)c0 * kp;
                sbyte* yc = y + (long)c0 * outputStride;
                for (int n0 = nb; n0 < ne; n0 += 16)
                {
                    short* w = packed + (long)n0 * kp;
                    int width = Math.Min(16, _units - n0);
                    bool wide = PanelWidth(_units, n0) == 16;
                    if (wide && pairs <= MaxStreamPairs)
                    {
                        int done = UseAvx512(_path) ? StreamRows16x512(w, (int*)x, pairs, chunk, yc + n0, outputStride, n0, width) : 0;
                        if (done < chunk)
                        {
                            StreamRows16(w, (int*)(x + (long)done * kp), pairs, chunk - done, yc + (long)done * outputStride + n0, outputStride, n0, width);
                        }

                        continue;
                    }

                    // M ≡ 1 mod 4: the last nine rows go as three groups of three (MobileNet's 3×3 maps are nine
                    // rows). 4 + 4 + 1 left a single row that loads a weight vector per vpmaddwd, and that row cost
                    // about what four rows in a tile do (9×112×1280: 68 → 74 GMAC/s). Below nine rows, a last single
                    // row runs alone in the same panel pass, so W is still streamed once.
                    int tiled = chunk;
                    if ((chunk & 3) == 1)
                    {
                        tiled = chunk >= 9 ? chunk - 9 : chunk - 1;
                        int* xs = (int*)(x + (long)tiled * kp);
                        switch (wide, chunk >= 9)
                        {
                            case (true, true): Tiles16<ThreeRows>((int*)w, xs, pairs, 3, acc + 2 * tiled); break;
                            case (false, true): Tiles8<ThreeRows>((int*)w, xs, pairs, 3, acc + tiled); break;
                            case (true, false): Tile1x16(w, xs, pairs, acc + 2 * tiled); break;
                            default: Tile1x8(w, xs, pairs, acc + tiled); break;
                        }
                    }

                    int groups = (tiled + RowTile - 1) / RowTile;
                    if (wide)
                    {
                        Tiles16<FourRows>((int*)w, (int*)x, pairs, groups, acc);
                    }
                    else
                    {
                        Tiles8<FourRows>((int*)w, (int*)x, pairs, groups, acc);
                    }

                    if (wide && UseAvx512(_path) && Requantizer.Form == Int8Requantizer.Avx2Form.FoldedRelu)
                    {
                        Requantizer.StoreAvx512Rows16(acc, chunk, yc + n0, outputStride, n0, width);
                    }
                    else
                    {
                        Requantizer.StoreAvx2Rows(acc, chunk, yc + n0, outputStride, n0, width, wide);
                    }
                }
            }
        }
    }

    /// <summary>The most k-pairs whose 16-channel weights <see cref="StreamRows16"/> holds in registers.</summary>
    private const int MaxStreamPairs = 4;

    private readonly void StreamRows16(short* w, int* x, int pairs, int rows, sbyte* y, int outputStride, int n0, int count)
    {
        switch (Requantizer.Form)
        {
            case Int8Requantizer.Avx2Form.Folded: StreamRows16<Int8Requantizer.FoldedForm>(w, x, pairs, rows, y, outputStride, n0, count); break;
            case Int8Requantizer.Avx2Form.FoldedRelu: StreamRows16<Int8Requantizer.FoldedReluForm>(w, x, pairs, rows, y, outputStride, n0, count); break;
            default: StreamRows16<Int8Requantizer.ThresholdForm>(w, x, pairs, rows, y, outputStride, n0, count); break;
        }
    }

    /// <summary>
    /// One 16-channel panel of a layer with K ≤ 8 (at most four k-pairs: MobileNet's 8→48 expansions): the panel's
    /// weights and requantization constants stay in registers while the rows stream past two at a time, and each
    /// pair of rows is requantized straight from registers. At this depth the 4×16 tile spent as much on its call,
    /// its accumulator spill and the reload by the requantization pass as on its vpmaddwd. Rows past
    /// <paramref name="rows"/> (to an even count) are read and dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void StreamRows16<TForm>(short* w, int* x, int pairs, int rows, sbyte* y, int outputStride, int n0, int count)
        where TForm : struct
    {
        Int8Requantizer.Avx2Channels8 t0 = Requantizer.LoadAvx2<TForm>(n0);
        Int8Requantizer.Avx2Channels8 t1 = Requantizer.LoadAvx2<TForm>(n0 + 8);
        Vector256<short> w00 = Avx.LoadVector256(w), w01 = Avx.LoadVector256(w + 16);
        Vector256<short> w10 = default, w11 = default, w20 = default, w21 = default, w30 = default, w31 = default;
        if (pairs > 1)
        {
            w10 = Avx.LoadVector256(w + 32);
            w11 = Avx.LoadVector256(w + 48);
        }

        if (pairs > 2)
        {
            w20 = Avx.LoadVector256(w + 64);
            w21 = Avx.LoadVector256(w + 80);
        }

        if (pairs > 3)
        {
            w30 = Avx.LoadVector256(w + 96);
            w31 = Avx.LoadVector256(w + 112);
        }

        for (int r = 0; r < rows; r += 2, x += 2 * pairs, y += 2 * (long)outputStride)
        {
            (Vector256<int> a0, Vector256<int> a1) = StreamRow(x, pairs, w00, w01, w10, w11, w20, w21, w30, w31);
            (Vector256<int> b0, Vector256<int> b1) = StreamRow(x + pairs, pairs, w00, w01, w10, w11, w20, w21, w30, w31);
            Vector256<sbyte> v = Int8Requantizer.InRowOrder(Requantizer.ClampAvx2(Requantizer.PackAvx2<TForm>(
                Requantizer.Avx2TableMbqm<TForm>(a0, t0), Requantizer.Avx2TableMbqm<TForm>(a1, t1),
                Requantizer.Avx2TableMbqm<TForm>(b0, t0), Requantizer.Avx2TableMbqm<TForm>(b1, t1))));
            Int8Requantizer.StoreBytes(v.GetLower(), y, count);
            if (r + 1 < rows)
            {
                Int8Requantizer.StoreBytes(v.GetUpper(), y + outputStride, count);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int>, Vector256<int>) StreamRow(int* x, int pairs, Vector256<short> w00, Vector256<short> w01,
        Vector256<short> w10, Vector256<short> w11, Vector256<short> w20, Vector256<short> w21, Vector256<short> w30, Vector256<short> w31)
    {
        Vector256<short> x0 = Vector256.Create(x[0]).AsInt16();
        Vector256<int> a0 = Avx2.MultiplyAddAdjacent(x0, w00), a1 = Avx2.MultiplyAddAdjacent(x0, w01);
        if (pairs > 1)
        {
            Vector256<short> x1 = Vector256.Create(x[1]).AsInt16();
            a0 += Avx2.MultiplyAddAdjacent(x1, w10);
            a1 += Avx2.MultiplyAddAdjacent(x1, w11);
        }

        if (pairs > 2)
        {
            Vector256<short> x2 = Vector256.Create(x[2]).AsInt16();
            a0 += Avx2.MultiplyAddAdjacent(x2, w20);
            a1 += Avx2.MultiplyAddAdjacent(x2, w21);
        }

        if (pairs > 3)
        {
            Vector256<short> x3 = Vector256.Create(x[3]).AsInt16();
            a0 += Avx2.MultiplyAddAdjacent(x3, w30);
            a1 += Avx2.MultiplyAddAdjacent(x3, w31);
        }

        return (a0, a1);
    }

    /// <summary>Rows per group of a tile loop, as a type, so that each count compiles to its own loop with no per-row tests.</summary>
    private interface IRowGroup
    {
        static abstract int Rows { get; }
    }

    private struct ThreeRows : IRowGroup { public static int Rows => 3; }

    private struct FourRows : IRowGroup { public static int Rows => 4; }

    /// <summary>
    /// Σ over k-pairs of <typeparamref name="TRows"/> (three or four) X rows against one 16-channel panel into acc
    /// (row r of a group: acc[2r], acc[2r+1]), for <paramref name="groups"/> consecutive groups (rows
    /// <paramref name="pairs"/> ints apart) in one call: at small K a call per tile and its register saves cost a
    /// sixth of the tile (16→96: 43.6 → 46.3 GMAC/s). Its own method on purpose: inside the panel loops the JIT
    /// spilled the row pointers and reloaded them on every k-pair; alone, everything stays in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tiles16<TRows>(int* w, int* x, int pairs, int groups, Vector256<int>* acc) where TRows : struct, IRowGroup
    {
        bool four = TRows.Rows == 4;
        for (int g = 0; g < groups; g++, x += TRows.Rows * pairs, acc += 2 * TRows.Rows)
        {
            int* x1 = x + pairs, x2 = x + 2 * pairs, x3 = x + 3 * pairs;
            Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            int* wp = w;
            for (nint p = 0; p < pairs; p++, wp += 16)
            {
                Vector256<short> w0 = Avx.LoadVector256((short*)wp);
                Vector256<short> w1 = Avx.LoadVector256((short*)wp + 16);
                PairStep16(x[p], w0, w1, ref a00, ref a01);
                PairStep16(x1[p], w0, w1, ref a10, ref a11);
                PairStep16(x2[p], w0, w1, ref a20, ref a21);
                if (four)
                {
                    PairStep16(x3[p], w0, w1, ref a30, ref a31);
                }
            }

            acc[0] = a00; acc[1] = a01; acc[2] = a10; acc[3] = a11; acc[4] = a20; acc[5] = a21;
            if (four)
            {
                acc[6] = a30; acc[7] = a31;
            }
        }
    }

    /// <summary>The 8-channel panel form of <see cref="Tiles16{TRows}"/>: row r of a group into acc[r].</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tiles8<TRows>(int* w, int* x, int pairs, int groups, Vector256<int>* acc) where TRows : struct, IRowGroup
    {
        bool four = TRows.Rows == 4;
        for (int g = 0; g < groups; g++, x += TRows.Rows * pairs, acc += TRows.Rows)
        {
            int* x1 = x + pairs, x2 = x + 2 * pairs, x3 = x + 3 * pairs;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            int* wp = w;
            for (nint p = 0; p < pairs; p++, wp += 8)
            {
                Vector256<short> w0 = Avx.LoadVector256((short*)wp);
                a0 += Avx2.MultiplyAddAdjacent(Vector256.Create(x[p]).AsInt16(), w0);
                a1 += Avx2.MultiplyAddAdjacent(Vector256.Create(x1[p]).AsInt16(), w0);
                a2 += Avx2.MultiplyAddAdjacent(Vector256.Create(x2[p]).AsInt16(), w0);
                if (four)
                {
                    a3 += Avx2.MultiplyAddAdjacent(Vector256.Create(x3[p]).AsInt16(), w0);
                }
            }

            acc[0] = a0; acc[1] = a1; acc[2] = a2;
            if (four)
            {
                acc[3] = a3;
            }
        }
    }

    /// <summary>One row's k-pair (both int16 x values in one int32, broadcast) against a 16-channel panel's two weight vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairStep16(int xPair, Vector256<short> w0, Vector256<short> w1, ref Vector256<int> a0, ref Vector256<int> a1)
    {
        Vector256<short> b = Vector256.Create(xPair).AsInt16();
        a0 += Avx2.MultiplyAddAdjacent(b, w0);
        a1 += Avx2.MultiplyAddAdjacent(b, w1);
    }

    /// <summary>One row against one 16-channel panel into acc[0], acc[1]; k-pairs two at a time for two add chains.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tile1x16(short* w, int* x0, int pairs, Vector256<int>* acc)
    {
        Vector256<int> a0 = Vector256<int>.Zero, a1 = Vector256<int>.Zero, b0 = Vector256<int>.Zero, b1 = Vector256<int>.Zero;
        int p = 0;
        for (; p < pairs - 1; p += 2)
        {
            Vector256<short> x = Vector256.Create(x0[p]).AsInt16();
            Vector256<short> xn = Vector256.Create(x0[p + 1]).AsInt16();
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(x, Avx.LoadVector256(w)));
            a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(x, Avx.LoadVector256(w + 16)));
            b0 = Avx2.Add(b0, Avx2.MultiplyAddAdjacent(xn, Avx.LoadVector256(w + 32)));
            b1 = Avx2.Add(b1, Avx2.MultiplyAddAdjacent(xn, Avx.LoadVector256(w + 48)));
            w += 64;
        }

        if (p < pairs)
        {
            Vector256<short> x = Vector256.Create(x0[p]).AsInt16();
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(x, Avx.LoadVector256(w)));
            a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(x, Avx.LoadVector256(w + 16)));
        }

        acc[0] = Avx2.Add(a0, b0);
        acc[1] = Avx2.Add(a1, b1);
    }

    /// <summary>The 8-channel panel form of <see cref="Tile1x16"/>, into acc[0].</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tile1x8(short* w, int* x0, int pairs, Vector256<int>* acc)
    {
        Vector256<int> a0 = Vector256<int>.Zero;
        for (int p = 0; p < pairs; p++)
        {
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Vector256.Create(x0[p]).AsInt16(), Avx.LoadVector256(w)));
            w += 16;
        }

        acc[0] = a0;
    }

    private readonly void RunSse(short* strip, int rows, sbyte* y, int outputStride, int nb, int ne)
    {
        int kp = _paddedDepth;
        int pairs = kp / 2;
        fixed (short* packed = _packed16)
        {
            for (int half = 0; half < rows; half += 2)
            {
                int* x0 = (int*)(strip + half * kp);
                int* x1 = (int*)(strip + (half + 1) * kp);
                sbyte* y0 = y + (long)half * outputStride;
                for (int n0 = nb; n0 < ne; n0 += 16)
                {
                    short* w = packed + (long)n0 * kp;
                    int count = Math.Min(16, _units - n0);
                    int step = PanelWidth(_units, n0) * 2;
                    Vector128<int> a00 = Vector128<int>.Zero, a01 = Vector128<int>.Zero, a02 = Vector128<int>.Zero, a03 = Vector128<int>.Zero, a10 = Vector128<int>.Zero, a11 = Vector128<int>.Zero, a12 = Vector128<int>.Zero, a13 = Vector128<int>.Zero;
                    if (step == 32)
                    {
                        for (int p = 0; p < pairs; p++)
                        {
                            Vector128<short> w0 = Sse2.LoadVector128(w);
                            Vector128<short> w1 = Sse2.LoadVector128(w + 8);
                            Vector128<short> w2 = Sse2.LoadVector128(w + 16);
                            Vector128<short> w3 = Sse2.LoadVector128(w + 24);
                            w += 32;
                            Vector128<short> b0 = Vector128.Create(x0[p]).AsInt16();
                            a00 = Sse2.Add(a00, Sse2.MultiplyAddAdjacent(b0, w0));
                            a01 = Sse2.Add(a01, Sse2.MultiplyAddAdjacent(b0, w1));
                            a02 = Sse2.Add(a02, Sse2.MultiplyAddAdjacent(b0, w2));
                            a03 = Sse2.Add(a03, Sse2.MultiplyAddAdjacent(b0, w3));
                            Vector128<short> b1 = Vector128.Create(x1[p]).AsInt16();
                            a10 = Sse2.Add(a10, Sse2.MultiplyAddAdjacent(b1, w0));
                            a11 = Sse2.Add(a11, Sse2.MultiplyAddAdjacent(b1, w1));
                            a12 = Sse2.Add(a12, Sse2.MultiplyAddAdjacent(b1, w2));
                            a13 = Sse2.Add(a13, Sse2.MultiplyAddAdjacent(b1, w3));
                        }
                    }
                    else
                    {
                        for (int p = 0; p < pairs; p++)
                        {
                            Vector128<short> w0 = Sse2.LoadVector128(w);
                            Vector128<short> w1 = Sse2.LoadVector128(w + 8);
                            w += 16;
                            Vector128<short> b0 = Vector128.Create(x0[p]).AsInt16();
                            a00 = Sse2.Add(a00, Sse2.MultiplyAddAdjacent(b0, w0));
                            a01 = Sse2.Add(a01, Sse2.MultiplyAddAdjacent(b0, w1));
                            Vector128<short> b1 = Vector128.Create(x1[p]).AsInt16();
                            a10 = Sse2.Add(a10, Sse2.MultiplyAddAdjacent(b1, w0));
                            a11 = Sse2.Add(a11, Sse2.MultiplyAddAdjacent(b1, w1));
                        }
                    }

                    Int8Requantizer.StoreBytes(Requantizer.V128x16(a00, a01, a02, a03, n0), y0 + n0, count);
                    if (rows > half + 1) Int8Requantizer.StoreBytes(Requantizer.V128x16(a10, a11, a12, a13, n0), y0 + outputStride + n0, count);
                }
            }
        }
    }

    /// <summary>Scratch of <see cref="RunGemvAvx2"/>: the two nibble planes of x (Kp bytes each) and N int32 sums, aligned.</summary>
    private static int GemvScratchBytes(int paddedDepth, int units) => 2 * paddedDepth + 4 * ((units + 31) & ~31) + 64;

    /// <summary>
    /// One row against W [N, K] in place with vpmaddubsw (unsigned × signed bytes, adjacent products summed into
    /// int16): W's bytes are the signed operand as they lie, so nothing is widened or packed, which matters when the
    /// weights stream from memory (a classifier's 1.28 MB). The unsigned operand is x + 128 split into nibbles,
    /// x + 128 = 16·h + l with h, l ∈ [0, 15], so a pair sum is at most 2·15·128 = 3,840 in magnitude and eight of them
    /// add exactly in int16 before vpmaddwd (by 16 for h, by 1 for l) widens them into int32. The sum is
    /// Σ (x + 128)·w; <see cref="Create"/> folded −128·Σw into the bias. The same integers as every other path.
    /// </summary>
    private readonly void RunGemvAvx2(sbyte* x, sbyte* y, byte* scratch)
    {
        int k = _depth;
        int blocks = k >> 5;
        byte* xh = (byte*)(((nint)scratch + 31) & ~(nint)31);
        byte* xl = xh + _paddedDepth;
        int* sums = (int*)(xl + _paddedDepth);
        int scale = Requantizer.Avx2AccumulatorScale;
        Vector256<byte> nibble = Vector256.Create((byte)0x0F);
        for (int b = 0; b < blocks; b++)
        {
            Vector256<byte> u = Avx.LoadVector256((byte*)x + 32 * b) ^ Vector256.Create((byte)0x80);
            Avx.Store(xh + 32 * b, Avx2.ShiftRightLogical(u.AsUInt16(), 4).AsByte() & nibble);
            Avx.Store(xl + 32 * b, u & nibble);
        }

        // A last partial block: its nibbles past K are zero, so a W row may be read on into the next row's bytes,
        // which then add nothing. Only the group holding W's last row stops at the whole blocks (reading on would
        // leave W) and adds its tail one product at a time.
        int tail = k - blocks * 32;
        int paddedBlocks = blocks;
        if (tail > 0)
        {
            for (int i = 0; i < 32; i++)
            {
                int u = i < tail ? x[blocks * 32 + i] + 128 : 0;
                xh[blocks * 32 + i] = (byte)(u >> 4);
                xl[blocks * 32 + i] = (byte)(u & 15);
            }

            paddedBlocks++;
        }

        for (int n = 0; n < _units; n += 4)
        {
            sbyte* w0 = _weights + (long)n * k;
            sbyte* w1 = _weights + (long)Math.Min(n + 1, _units - 1) * k; // past the last row: repeat it, drop the sum
            sbyte* w2 = _weights + (long)Math.Min(n + 2, _units - 1) * k;
            sbyte* w3 = _weights + (long)Math.Min(n + 3, _units - 1) * k;
            bool last = n + 4 >= _units;
            Vector128<int> s = GemvDot4(w0, w1, w2, w3, xh, xl, last ? blocks : paddedBlocks, scale, k >= 512 ? 4L * k : 0);
            for (int i = blocks * 32; last && i < k; i++)
            {
                int u = scale * (x[i] + 128);
                s += Vector128.Create(u * w0[i], u * w1[i], u * w2[i], u * w3[i]);
            }

            s.Store(sums + n);
        }

        Requantizer.StoreAvx2Channels(sums, _units, y);
    }

    /// <summary>One 32-byte block of a W row against both nibble planes, into the row's int16 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NibbleStep(Vector256<byte> vh, Vector256<byte> vl, sbyte* w, ref Vector256<short> h, ref Vector256<short> l)
    {
        Vector256<sbyte> v = Avx.LoadVector256(w);
        h = Avx2.Add(h, Avx2.MultiplyAddAdjacent(vh, v));
        l = Avx2.Add(l, Avx2.MultiplyAddAdjacent(vl, v));
    }

    /// <summary>Σ over 32-byte blocks of four W rows against the nibble planes (see <see cref="RunGemvAvx2"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<int> GemvDot4(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, byte* xh, byte* xl, int blocks, int scale, long ahead)
    {
        Vector256<short> sixteen = Vector256.Create((short)(16 * scale)), one = Vector256.Create((short)scale);
        Vector256<int> a0 = Vector256<int>.Zero, a1 = Vector256<int>.Zero, a2 = Vector256<int>.Zero, a3 = Vector256<int>.Zero;
        for (int b0 = 0; b0 < blocks; b0 += 8)
        {
            int end = Math.Min(blocks, b0 + 8); // eight pair sums of ≤ 3,840 stay inside int16
            Vector256<short> h0 = default, h1 = default, h2 = default, h3 = default, l0 = default, l1 = default, l2 = default, l3 = default;
            for (nint o = 32 * b0; o < 32 * end; o += 32)
            {
                // The next group's rows, same offset, one 64-byte line per two blocks: four streams the hardware
                // prefetcher alone kept too short (a classifier's 1.28 MB of W comes from L3 each inference:
                // 47 → 58 GMAC/s); short rows (K < 512) lose by it. A hint: past W's end it fetches nothing, never faults.
                if (ahead != 0 && (o & 32) == 0)
                {
                    Sse.Prefetch0(w0 + ahead + o);
                    Sse.Prefetch0(w1 + ahead + o);
                    Sse.Prefetch0(w2 + ahead + o);
                    Sse.Prefetch0(w3 + ahead + o);
                }

                Vector256<byte> vh = Avx.LoadAlignedVector256(xh + o);
                Vector256<byte> vl = Avx.LoadAlignedVector256(xl + o);
                NibbleStep(vh, vl, w0 + o, ref h0, ref l0);
                NibbleStep(vh, vl, w1 + o, ref h1, ref l1);
                NibbleStep(vh, vl, w2 + o, ref h2, ref l2);
                NibbleStep(vh, vl, w3 + o, ref h3, ref l3);
            }

            a0 += Avx2.MultiplyAddAdjacent(h0, sixteen) + Avx2.MultiplyAddAdjacent(l0, one);
            a1 += Avx2.MultiplyAddAdjacent(h1, sixteen) + Avx2.MultiplyAddAdjacent(l1, one);
            a2 += Avx2.MultiplyAddAdjacent(h2, sixteen) + Avx2.MultiplyAddAdjacent(l2, one);
            a3 += Avx2.MultiplyAddAdjacent(h3, sixteen) + Avx2.MultiplyAddAdjacent(l3, one);
        }

        // [a0 0+1, a0 2+3, a1 0+1, a1 2+3 | upper halves], then [a0, a1, a2, a3 partial | upper]: two lanes to add.
        Vector256<int> s = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
        return s.GetLower() + s.GetUpper();
    }
}
