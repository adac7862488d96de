using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime.Kernels.Quantized;

/// <summary>
/// The int8 matrix core shared by FullyConnected and Conv2D: Y[m, n] = requantize(Σ_k X[m,k]·W[n,k] + foldedBias[n])
/// with X int8 rows (any row stride), W int8 [N, K] (symmetric, so no weight zero point), Y int8 (any row stride).
/// The input zero point never appears in the loop: −zx·Σ_k W[n,k] is folded into the bias at Prepare, and padding
/// (convolution) is written as zx, so it contributes nothing.
/// <para>Exactness: products are summed in int32 on every path. |x·w| ≤ 128·128, so K ≤ <see cref="MaxDepth"/>
/// keeps Σ x·w inside int32; every path then computes the same integers, so the bytes are identical.</para>
/// <para>Paths (weights repacked once at Prepare into panels of 16 output channels, the last one 8 wide when N mod 16
/// is 1..8; panel data starts at n0·Kp elements):
/// <list type="bullet">
/// <item>Scalar: the plain triple loop over W in place (no packing).</item>
/// <item>Avx2 / Vector128 on x64: W widened to int16 in k-pairs (w[n,2p], w[n,2p+1]) so one vpmaddwd multiplies a
/// broadcast pair of X by 8 channels and adds adjacent products (exact: no saturation for int8 values); X rows are
/// widened to int16 four at a time. Tile 4 rows × 16 channels (Avx2), 2 × 16 (SSE).</item>
/// <item>Vector128 on arm64, K &gt; 8, weights in [−127, 127] (symmetric quantizers write nothing else): W int8 in
/// 4-channel panels of 16-byte k-blocks; SMULL + SMLAL2 put two products in each int16 lane, SADALP adds lane pairs
/// into int32 (exact: 2·128·127 fits int16). Tile 4 rows × 4 channels, four times per 16 channels.</item>
/// <item>Vector128 on arm64 otherwise (K ≤ 8, or a weight of −128): W widened to int16, k-major (16 channels per k);
/// SMLAL/SMLAL2 by lane of X. Tile 4×16.</item>
/// <item>DotProduct (SDOT): W int8 in k-quads (w[n,4q..4q+3]); one SDOT adds 4 products per channel lane. Tile 4×16.</item>
/// </list>
/// Large N is processed in blocks whose packed weights fit in L2, each block over every 4-row strip of X.</para>
/// </summary>
internal unsafe partial struct Int8Gemm
{
    /// <summary>The largest depth K for which Σ x·w over int8 values cannot leave int32 (K·128·128 &lt; 2^31).</summary>
    public const int MaxDepth = 131_071;

    private const int RowTile = 4;
    private const int L2Budget = 256 * 1024;

    private KernelPath _path;
    private int _depth;          // K
    private int _paddedDepth;    // Kp: K rounded up for the path's k-step
    private int _units;          // N
    private int _blockUnits;     // channels per L2 block, a multiple of 16
    private sbyte* _weights;     // W [N, K] in the model (Scalar path)
    private sbyte[]? _packed8;   // DotProduct, and Vector128 on arm64 with symmetric weights and K > 8 (RunSmull)
    private short[]? _packed16;  // Avx2, Vector128 (on arm64: K ≤ 8 or a weight −128)
    private bool _gemv;          // fewer than 4 rows (Avx2, Vector128 on arm64, DotProduct): W used in place
    private int _chunkRows;      // X rows widened per GEMM call: 4, or up to 64 on Avx2
    public Int8Requantizer Requantizer;

    public readonly int Depth => _depth;
    public readonly int Units => _units;

    /// <summary>K rounded up to the path's k-step: the row length of a packed int16 strip.</summary>
    public readonly int PaddedDepth => _paddedDepth;

    /// <summary>True when <see cref="RunStripAvx2"/> may be used (Avx2 path, weights packed as int16 pairs).</summary>
    public readonly bool HasAvx2Strips => UseAvx2(_path) && _packed16 != null && !_gemv;

    /// <summary>
    /// Y rows 0..rows−1 from already packed int16 rows <see cref="PaddedDepth"/> apart (a whole chunk of gathered
    /// patches in one call: the per-call set-up is paid once, not per four rows). Values at k ≥ K may be anything
    /// (the packed weights there are zero). Rows are taken four at a time, so up to three rows past
    /// <paramref name="rows"/> must be readable; they are computed and dropped, except a single last row, which runs
    /// alone. Used by convolutions that gather patches straight into int16.
    /// </summary>
    public readonly void RunStripAvx2(short* strip, int rows, sbyte* y, int outputStride) => RunAvx2(strip, rows, y, outputStride, 0, _units);

    /// <summary>
    /// Prepares W (constant int8 [N, K] at <paramref name="weights"/>), folds −zx·Σw into the bias, builds the
    /// requantization tables and packs W for the context's path.
    /// </summary>
    /// <remarks><paramref name="rows"/>: the rows every Run will have, when known (FullyConnected), else 0. Fewer than
    /// 4 rows on AVX2 run as matrix–vector products over W in place (<see cref="RunGemvAvx2"/>): nothing is packed.</remarks>
    public static Int8Gemm Create(ref KernelContext context, sbyte* weights, int units, int depth, int* bias, int inputZeroPoint,
        float inputScale, ReadOnlySpan<float> weightScales, float outputScale, int outputZeroPoint, ClampOptions clamp, int rows = 0)
    {
        context.Require(depth >= 1 && depth <= MaxDepth, $"depth {depth} is outside 1..{MaxDepth}: int32 accumulation could overflow");
        var folded = new int[units];
        for (int n = 0; n < units; n++)
        {
            int sum = 0;
            for (int k = 0; k < depth; k++)
            {
                sum += weights[(long)n * depth + k];
            }

            folded[n] = unchecked((bias == null ? 0 : bias[n]) - inputZeroPoint * sum);
        }

        var gemm = new Int8Gemm
        {
            _path = context.Path,
            _depth = depth,
            _units = units,
            _weights = weights,
        };
        if (rows is > 0 and < RowTile && UseAvx2(gemm._path))
        {
            // The matrix–vector form accumulates Σ (x + 128)·w (see RunGemvAvx2): −128·Σw moves into the bias.
            for (int n = 0; n < units; n++)
            {
                int sum = 0;
                for (int k = 0; k < depth; k++)
                {
                    sum += weights[(long)n * depth + k];
                }

                folded[n] = unchecked(folded[n] - 128 * sum);
            }

            gemm._gemv = true;
            gemm._paddedDepth = (depth + 31) & ~31;
            gemm.Requantizer = Int8Requantizer.Create(ref context, folded, inputScale, weightScales, outputScale, outputZeroPoint, clamp, (long)depth * 255 * 128);
            return gemm;
        }

        gemm.Requantizer = Int8Requantizer.Create(ref context, folded, inputScale, weightScales, outputScale, outputZeroPoint, clamp, (long)depth * 128 * 128);
        if (rows is > 0 and < RowTile && (UseDot(gemm._path) || (UseNeon(gemm._path) && MinWeight(weights, (long)units * depth) > sbyte.MinValue)))
        {
            // arm64 matrix–vector form (RunGemvArm64): W in place, nothing packed.
            gemm._gemv = true;
            gemm._paddedDepth = depth;
            return gemm;
        }

        gemm.Pack(ref context);
        return gemm;
    }

    private static bool UseDot(KernelPath path) => path == KernelPath.DotProduct && Dp.IsSupported;

    private static bool UseNeon(KernelPath path) => path == KernelPath.Vector128 && AdvSimd.Arm64.IsSupported;

    private static bool UseAvx2(KernelPath path) => KernelPaths.UsesAvx2(path);

    private static bool UseSse(KernelPath path) => path == KernelPath.Vector128 && Sse41.IsSupported;

    private void Pack(ref KernelContext context)
    {
        int n = _units;
        int k = _depth;
        if (UseAvx2(_path) || UseSse(_path))
        {
            _paddedDepth = (k + 1) & ~1;
            _packed16 = context.AllocatePersistent<short>(PanelUnits(n) * _paddedDepth);
            PackPanels<short>(_packed16, 2, UseAvx2(_path) ? Requantizer.Avx2AccumulatorScale : 1);
        }
        else if (UseNeon(_path) && k > 8 && MinWeight(_weights, (long)n * k) > sbyte.MinValue)
        {
            // Symmetric weights (every quantizer we know writes [−127, 127]): the SMULL/SMLAL2/SADALP form
            // (RunSmull), int8 in 4-channel panels of 16-byte k-blocks, half the bytes of the int16 panels. Up to
            // K = 8 its 16-k step would multiply as many padding zeros as values, as many multiplies as the
            // SMLAL tile, which steps 8 k, with four times the per-tile reductions: that tile stays.
            _paddedDepth = (k + 15) & ~15;
            _packed8 = context.AllocatePersistent<sbyte>(PanelUnits(n) * _paddedDepth);
            PackPanels<sbyte>(_packed8, 16, 1, panel: 4);
        }
        else if (UseNeon(_path))
        {
            _paddedDepth = (k + 7) & ~7;
            _packed16 = context.AllocatePersistent<short>(PanelUnits(n) * _paddedDepth);
            PackPanels<short>(_packed16, 1, 1);
        }
        else if (UseDot(_path))
        {
            _paddedDepth = (k + 15) & ~15;
            _packed8 = context.AllocatePersistent<sbyte>(PanelUnits(n) * _paddedDepth);
            PackPanels<sbyte>(_packed8, 4, 1);
        }
        else
        {
            _path = KernelPath.Scalar;
            _paddedDepth = k;
        }

        int elementBytes = _packed16 != null ? 2 : 1;
        // Avx2 widens up to 64 rows (16 KiB) of X before one GEMM call, so the call's set-up and the strip's
        // packing loop are paid per chunk rather than per four rows (a K = 8 pointwise layer has 2,304 rows).
        _chunkRows = UseAvx2(_path) ? Math.Clamp(16 * 1024 / (_paddedDepth * 2), RowTile, 64) & ~3 : RowTile;
        _blockUnits = Math.Max(16, L2Budget / (_paddedDepth * elementBytes) & ~15);
    }

    /// <summary>
    /// W in panels of 16 channels (the last possibly 8), or of 4 when <paramref name="panel"/> is 4, each panel k-group
    /// by k-group: for every group of <paramref name="group"/> consecutive k, each channel's weights for that group,
    /// times <paramref name="scale"/> (AVX2's doubled weights). Groups of 2 are the int16 k-pairs of vpmaddwd, 1 the
    /// k-major int16 of SMLAL by lane, 4 the int8 k-quads of SDOT, 16 (4-channel panels) the int8 k-blocks of SMULL.
    /// Padding (k ≥ K, channels ≥ N) is zero; both panel widths fill <see cref="PanelUnits"/> channels.
    /// </summary>
    private readonly void PackPanels<T>(T[] packed, int group, int scale, int panel = 16) where T : unmanaged, IBinaryInteger<T>
    {
        for (int n0 = 0, width; n0 < PanelUnits(_units); n0 += width)
        {
            width = panel == 4 ? 4 : PanelWidth(_units, n0);
            int at = n0 * _paddedDepth;
            for (int k0 = 0; k0 < _paddedDepth; k0 += group)
            {
                for (int c = 0; c < width; c++)
                {
                    for (int t = 0; t < group; t++)
                    {
                        packed[at++] = T.CreateTruncating(scale * Weight(n0 + c, k0 + t));
                    }
                }
            }
        }
    }

    private static int MinWeight(sbyte* weights, long count)
    {
        int min = sbyte.MaxValue;
        for (long i = 0; i < count; i++)
        {
            min = Math.Min(min, weights[i]);
        }

        return min;
    }

    private readonly sbyte Weight(int n, int k) => n < _units && k < _depth ? _weights[(long)n * _depth + k] : (sbyte)0;

    /// <summary>Channels rounded up to whole panels (16, the last possibly 8).</summary>
    private static int PanelUnits(int n) => (n & 15) is > 0 and <= 8 ? (n & ~15) + 8 : (n + 15) & ~15;

    private static int PanelWidth(int n, int n0) => n - n0 <= 8 ? 8 : 16;

    /// <summary>Scratch bytes <see cref="Run"/> needs: one packed chunk of X rows.</summary>
    public readonly int ScratchBytes => _path == KernelPath.Scalar ? 0
        : _gemv ? (UseAvx2(_path) ? GemvScratchBytes(_paddedDepth, _units) : 0)
        : Math.Max(RowTile, _chunkRows) * _paddedDepth * (_packed8 != null ? 1 : 2) + 64;

    /// <summary>
    /// Y rows 0..rows−1 (stride <paramref name="outputStride"/>, columns 0..N−1) from X rows (stride
    /// <paramref name="inputStride"/>, columns 0..K−1). X and Y must not overlap.
    /// </summary>
    public readonly void Run(sbyte* x, int inputStride, int rows, sbyte* y, int outputStride, Span<byte> scratch)
    {
        if (_path == KernelPath.Scalar)
        {
            RunScalar(x, inputStride, rows, y, outputStride);
            return;
        }

        // The strip is written through a pointer: a short scratch would corrupt the heap silently.
        System.Diagnostics.Debug.Assert(scratch.Length >= ScratchBytes, "scratch shorter than Int8Gemm.ScratchBytes");

        fixed (byte* strip = scratch)
        {
            if (_gemv)
            {
                for (int m = 0; m < rows; m++)
                {
                    if (UseAvx2(_path))
                    {
                        RunGemvAvx2(x + (long)m * inputStride, y + (long)m * outputStride, strip);
                    }
                    else
                    {
                        RunGemvArm64(x + (long)m * inputStride, y + (long)m * outputStride);
                    }
                }

                return;
            }

            for (int nb = 0; nb < _units; nb += _blockUnits)
            {
                int blockEnd = Math.Min(_units, nb + _blockUnits);
                if (UseAvx2(_path))
                {
                    for (int m0 = 0; m0 < rows; m0 += _chunkRows)
                    {
                        int count = Math.Min(_chunkRows, rows - m0);
                        PackRows16(x + (long)m0 * inputStride, inputStride, count, (short*)strip, (count + RowTile - 1) & ~(RowTile - 1));
                        RunAvx2((short*)strip, count, y + (long)m0 * outputStride, outputStride, nb, blockEnd);
                    }

                    continue;
                }

                for (int m0 = 0; m0 < rows; m0 += RowTile)
                {
                    int count = Math.Min(RowTile, rows - m0);
                    sbyte* xr = x + (long)m0 * inputStride;
                    sbyte* yr = y + (long)m0 * outputStride;
                    if (_packed8 != null)
                    {
                        PackRows8(xr, inputStride, count, (sbyte*)strip);
                        if (UseNeon(_path))
                        {
                            RunSmull((sbyte*)strip, count, yr, outputStride, nb, blockEnd);
                        }
                        else
                        {
                            RunDot((sbyte*)strip, count, yr, outputStride, nb, blockEnd);
                        }
                    }
                    else
                    {
                        PackRows16(xr, inputStride, count, (short*)strip, RowTile);
                        if (UseNeon(_path))
                        {
                            RunNeon((short*)strip, count, yr, outputStride, nb, blockEnd);
                        }
                        else
                        {
                            RunSse((short*)strip, count, yr, outputStride, nb, blockEnd);
                        }
                    }
                }
            }
        }
    }

    private readonly void RunScalar(sbyte* x, int inputStride, int rows, sbyte* y, int outputStride)
    {
        int k = _depth;
        for (int m = 0; m < rows; m++)
        {
            sbyte* xr = x + (long)m * inputStride;
            sbyte* yr = y + (long)m * outputStride;
            for (int n = 0; n < _units; n++)
            {
                sbyte* w = _weights + (long)n * k;
                int acc = 0;
                for (int i = 0; i < k; i++)
                {
                    acc += xr[i] * w[i];
                }

                yr[n] = Requantizer.Scalar(acc, n);
            }
        }
    }

    /// <summary>Copies X rows 0..rows−1 as int16, zero-filling the depth padding and rows rows..tileRows−1.</summary>
    private readonly void PackRows16(sbyte* x, int stride, int rows, short* strip, int tileRows)
    {
        int kp = _paddedDepth;
        if (stride == _depth && kp == _depth && Vector256.IsHardwareAccelerated)
        {
            // Dense rows without padding (a pointwise convolution's input): the chunk is one run of bytes, widened
            // 32 at a time rather than row by row (a K = 8 layer would pay the row loop for every 8 values).
            long total = (long)rows * kp;
            long i = 0;
            for (; i <= total - 32; i += 32)
            {
                (Vector256<short> lo, Vector256<short> hi) = Vector256.Widen(Vector256.Load(x + i));
                lo.Store(strip + i);
                hi.Store(strip + i + 16);
            }

            for (; i < total; i++)
            {
                strip[i] = x[i];
            }

            new Span<short>(strip + total, (tileRows - rows) * kp).Clear();
            return;
        }

        for (int r = 0; r < tileRows; r++)
        {
            short* dst = strip + r * kp;
            if (r >= rows)
            {
                new Span<short>(dst, kp).Clear();
                continue;
            }

            sbyte* src = x + (long)r * stride;
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; i <= _depth - 16; i += 16)
                {
                    var bytes = Vector128.Load(src + i);
                    var (lo, hi) = Vector128.Widen(bytes);
                    lo.Store(dst + i);
                    hi.Store(dst + i + 8);
                }
            }

            if (i <= _depth - 8)
            {
                Vector128<short> wide = Vector128.WidenLower(Vector128.CreateScalar(*(long*)(src + i)).AsSByte());
                wide.Store(dst + i);
                i += 8;
            }

            for (; i < _depth; i++)
            {
                dst[i] = src[i];
            }

            for (; i < kp; i++)
            {
                dst[i] = 0;
            }
        }
    }

    /// <summary>Copies up to four X rows as int8, zero-filling the depth padding and missing rows.</summary>
    private readonly void PackRows8(sbyte* x, int stride, int rows, sbyte* strip)
    {
        int kp = _paddedDepth;
        for (int r = 0; r < RowTile; r++)
        {
            sbyte* dst = strip + r * kp;
            if (r >= rows)
            {
                new Span<sbyte>(dst, kp).Clear();
                continue;
            }

            new ReadOnlySpan<sbyte>(x + (long)r * stride, _depth).CopyTo(new Span<sbyte>(dst, _depth));
            new Span<sbyte>(dst + _depth, kp - _depth).Clear();
        }
    }

    /// <summary>Stores the first <paramref name="count"/> (at most 8) bytes of a result row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow8(Vector128<sbyte> value, sbyte* destination, int count)
    {
        if (count == 8)
        {
            *(long*)destination = value.AsInt64().ToScalar();
            return;
        }

        Int8Requantizer.StoreBytes(value, destination, count);
    }
}
