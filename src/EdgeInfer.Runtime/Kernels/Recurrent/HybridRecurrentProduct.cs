using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// The recurrent product R·h of <see cref="LstmKernel"/> and <see cref="GruKernel"/> when R is an int8 constant
/// [G·H, H], symmetric with one scale per row (axis 0, zero points 0): the "hybrid" product, int8 weights times a
/// hidden state quantized on the fly. For each row n of h (H floats):
/// <code>
/// m      = max over k of |h[n,k]|, folded from +0 with MathF.Max (a NaN in h makes m NaN)
/// s      = m / 127f
/// if s == 0:  C[n,j] = +0 for every j (nothing is quantized)
/// q[k]   = (sbyte)Math.Clamp(MathF.Round(h[n,k] / s), -127f, 127f)   (round to nearest, ties to even)
/// acc[j] = Σ_k q[k]·R[j,k] in int32 (exact: |acc| ≤ H·127·128)
/// C[n,j] = (float)acc[j] * (s * scale[j])
/// </code>
/// h is quantized per row and per step because the hidden state has no calibrated range: it is bounded (|h| ≤ 1
/// under tanh/sigmoid) but its spread changes from step to step, and one dynamic scale per row costs H divisions
/// against the G·H² multiplies it saves in float. The vector paths quantize with the same IEEE operations per element
/// as the scalar code (see <see cref="Quantize"/>), the sums are integers, and the final scaling is one multiply per
/// element whether in a vector or not, so every path (scalar; AVX2, 16-row panels of int16 k-pairs against a broadcast
/// pair of q; SSE4.1, pmaddwd; AdvSimd SMULL/SMLAL2/SADALP pairs; SDOT) gives the same bytes. q never reaches −128, so a weight of −128
/// is exact everywhere: the arm64 int16 pair sums hold at most 2·127·128 = 32,512.
/// </summary>
internal unsafe struct HybridRecurrentProduct
{
    private const int KStep = 16; // R rows and q are zero-padded to a multiple of 16: whole vector steps, no k tail

    private const int PanelRows = 16; // AVX2: rows per panel, two vectors of eight int32 sums

    private KernelPath _path;
    private int _hidden;        // H: the depth of each dot product
    private int _paddedHidden;  // H rounded up to KStep
    private int _units;         // rows of this product (a segment of R)
    private sbyte[]? _weights;  // arm64 and scalar: the rows [units, paddedHidden], zeros past H (pinned)
    private short[]? _weights16; // SSE4.1: the same widened to int16 (pmaddwd reads it straight from memory)
    private short[]? _panels;   // AVX2: per 16 rows, per k-pair p, rows' (w[2p], w[2p+1]) as int16, zero rows past the end
    private float[] _scales;    // one per row (pinned)

    /// <summary>Scratch of <see cref="Multiply"/>: q as int8 and as int16, H padded.</summary>
    public static long ScratchBytes(int hidden) => 3L * Padded(hidden);

    private static int Padded(int hidden) => (hidden + KStep - 1) & ~(KStep - 1);

    /// <summary>Validates int8 R [units, H] for the hybrid product: a constant, symmetric, one scale per row.</summary>
    public static void Validate(ref KernelContext context, TensorInfo weights, int units, int hidden)
    {
        context.Require(weights.Storage == TensorStorage.Constant, $"int8 recurrent weights {weights} must be a constant");
        QuantizationInfo? q = weights.Quantization;
        context.Require(q is not null, $"int8 recurrent weights {weights} have no quantization parameters");
        context.Require(q.Axis == 0 && q.Scales.Length == units,
            $"int8 recurrent weights {weights} must be quantized per row (axis 0, {units} scales)");
        foreach (int z in q.ZeroPoints)
        {
            context.Require(z == 0, $"int8 recurrent weights {weights} must be symmetric (zero point 0), has {z}");
        }

        foreach (float s in q.Scales)
        {
            context.Require(float.IsFinite(s), $"int8 recurrent weights {weights} have a scale {s}");
        }

        context.Require(hidden <= Int8Gemm.MaxDepth, $"hidden size {hidden} is above {Int8Gemm.MaxDepth}: int32 accumulation could overflow");
    }

    /// <summary>
    /// The product of rows [<paramref name="first"/>, first + count) of validated int8 R (H = <paramref name="hidden"/>
    /// columns), laid out for the context's path once at load.
    /// </summary>
    public static HybridRecurrentProduct Create(ref KernelContext context, TensorInfo weights, sbyte* data, int first, int count, int hidden)
    {
        int padded = Padded(hidden);
        sbyte* rows = data + (long)first * hidden;
        var product = new HybridRecurrentProduct
        {
            _path = context.Path,
            _hidden = hidden,
            _paddedHidden = padded,
            _units = count,
            _scales = context.AllocatePersistent<float>(count),
        };
        weights.Quantization!.Scales.AsSpan(first, count).CopyTo(product._scales);
        if (KernelPaths.UsesAvx2(context.Path))
        {
            int panels = (count + PanelRows - 1) / PanelRows;
            short[] packed = product._panels = context.AllocatePersistent<short>(checked(panels * PanelRows * padded));
            for (int j = 0; j < count; j++)
            {
                // Panel j / 16, pair p at 32·p shorts into it: rows 0–7 then 8–15 of the panel, two shorts per row.
                int at = j / PanelRows * PanelRows * padded + (j % PanelRows) * 2;
                for (int k = 0; k < hidden; k++)
                {
                    packed[at + k / 2 * 2 * PanelRows + (k & 1)] = rows[(long)j * hidden + k];
                }
            }
        }
        else if (UseSse(context.Path))
        {
            short[] wide = product._weights16 = context.AllocatePersistent<short>(checked(count * padded));
            for (int j = 0; j < count; j++)
            {
                for (int k = 0; k < hidden; k++)
                {
                    wide[j * padded + k] = rows[(long)j * hidden + k];
                }
            }
        }
        else
        {
            sbyte[] copy = product._weights = context.AllocatePersistent<sbyte>(checked(count * padded));
            for (int j = 0; j < count; j++)
            {
                new ReadOnlySpan<sbyte>(rows + (long)j * hidden, hidden).CopyTo(copy.AsSpan(j * padded, hidden));
            }
        }

        return product;
    }

    /// <summary>
    /// C[n, 0..units) = the hybrid product of this product's rows of R with the <paramref name="rows"/> rows of h
    /// (<paramref name="hStride"/> floats apart), C's rows <paramref name="ldc"/> apart.
    /// </summary>
    public readonly void Multiply(float* h, nint hStride, int rows, float* c, nint ldc, byte* scratch)
    {
        int kp = _paddedHidden, columns = _units;
        sbyte* q = (sbyte*)scratch;
        short* q16 = (short*)(scratch + kp);
        fixed (sbyte* w = _weights)
        fixed (short* w16 = _weights16)
        fixed (short* panels = _panels)
        fixed (float* scale = _scales)
        {
            for (int n = 0; n < rows; n++)
            {
                float* hn = h + n * hStride;
                float* cn = c + n * ldc;
                float s = Quantize(hn, q, q16);
                if (s == 0)
                {
                    new Span<float>(cn, columns).Clear();
                }
                else if (panels != null)
                {
                    ProductAvx2(panels, kp, q16, columns, s, scale, cn);
                }
                else
                {
                    for (int j = 0; j < columns; j += 4)
                    {
                        // Rows past the last repeat it (their sums are dropped), so R is never read past its end.
                        int j1 = Math.Min(j + 1, columns - 1), j2 = Math.Min(j + 2, columns - 1), j3 = Math.Min(j + 3, columns - 1);
                        Vector128<int> acc = w16 != null
                            ? Dot4Sse(w16 + (long)j * kp, w16 + (long)j1 * kp, w16 + (long)j2 * kp, w16 + (long)j3 * kp, q16, kp)
                            : Dot4(w + (long)j * kp, w + (long)j1 * kp, w + (long)j2 * kp, w + (long)j3 * kp, q);
                        Scale(acc, s, scale + j, cn + j, Math.Min(4, columns - j));
                    }
                }
            }
        }
    }

    /// <summary>y[i] = (float)acc[i] * (s * scale[i]) for the first <paramref name="count"/> lanes (all four: one vector expression, the same IEEE operations per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale(Vector128<int> acc, float s, float* scale, float* y, int count)
    {
        if (count == 4)
        {
            (Vector128.ConvertToSingle(acc) * (Vector128.Create(s) * Vector128.Load(scale))).Store(y);
            return;
        }

        for (int i = 0; i < count; i++)
        {
            y[i] = (float)acc.GetElement(i) * (s * scale[i]);
        }
    }

    /// <summary>
    /// The AVX2 product of one row of h: per 16-row panel, each k-pair of q is broadcast (one int32 of two int16) and
    /// vpmaddwd multiplies it by the panel's pairs of that k, eight rows per vector, so each int32 lane accumulates
    /// one row's sum and no horizontal reduction is needed; two k-pairs per iteration keep four independent chains.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ProductAvx2(short* panels, int kp, short* q16, int columns, float s, float* scale, float* y)
    {
        int* pairs = (int*)q16;
        int pairCount = kp / 2; // even: kp is a multiple of 16
        Vector256<float> sv = Vector256.Create(s);
        for (int j = 0; j < columns; j += PanelRows)
        {
            short* w = panels + (long)j * kp;
            Vector256<int> a0 = default, a1 = default, b0 = default, b1 = default;
            for (int p = 0; p < pairCount; p += 2, w += 4 * PanelRows)
            {
                Vector256<short> x = Vector256.Create(pairs[p]).AsInt16();
                Vector256<short> z = Vector256.Create(pairs[p + 1]).AsInt16();
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Avx.LoadVector256(w), x));
                a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(Avx.LoadVector256(w + 16), x));
                b0 = Avx2.Add(b0, Avx2.MultiplyAddAdjacent(Avx.LoadVector256(w + 32), z));
                b1 = Avx2.Add(b1, Avx2.MultiplyAddAdjacent(Avx.LoadVector256(w + 48), z));
            }

            Vector256<int> low = a0 + b0, high = a1 + b1;
            int count = Math.Min(PanelRows, columns - j);
            if (count == PanelRows)
            {
                (Vector256.ConvertToSingle(low) * (sv * Vector256.Load(scale + j))).Store(y + j);
                (Vector256.ConvertToSingle(high) * (sv * Vector256.Load(scale + j + 8))).Store(y + j + 8);
            }
            else
            {
                for (int i = 0; i < count; i++)
                {
                    int acc = i < 8 ? low.GetElement(i) : high.GetElement(i - 8);
                    y[j + i] = (float)acc * (s * scale[j + i]);
                }
            }
        }
    }

    /// <summary>
    /// q = h / s rounded (ties to even) and clamped to ±127, zeros past H, as int8 and (x64) int16; returns
    /// s = max|h| / 127. The vector form does the same IEEE operations per element (division, round half even,
    /// clamp, exact conversion) and takes the maximum exactly, so it writes the scalar form's bytes; it runs only
    /// when s is finite and positive (a NaN or infinity in h goes the scalar way, whose NaN handling is the definition).
    /// </summary>
    private readonly float Quantize(float* h, sbyte* q, short* q16)
    {
        int hidden = _hidden;
        bool vector = _path != KernelPath.Scalar && Vector128.IsHardwareAccelerated;
        int whole = vector ? hidden & ~7 : 0;
        float m = 0;
        if (whole > 0)
        {
            Vector128<float> max = Vector128<float>.Zero, nan = Vector128<float>.Zero;
            for (int k = 0; k < whole; k += 4)
            {
                Vector128<float> v = Vector128.Abs(Vector128.Load(h + k));
                nan |= ~Vector128.Equals(v, v);
                max = Vector128.MaxNative(max, v);
            }

            m = nan != Vector128<float>.Zero ? float.NaN : MathF.Max(MathF.Max(max[0], max[1]), MathF.Max(max[2], max[3]));
        }

        for (int k = whole; k < hidden; k++)
        {
            m = MathF.Max(m, MathF.Abs(h[k]));
        }

        float s = m / 127f;
        if (s == 0)
        {
            return s;
        }

        int from = 0;
        if (vector && float.IsFinite(s))
        {
            Vector128<float> divisor = Vector128.Create(s), low = Vector128.Create(-127f), high = Vector128.Create(127f);
            for (; from < whole; from += 8)
            {
                Vector128<float> r0 = Vector128.Min(Vector128.Max(Vector128.Round(Vector128.Load(h + from) / divisor), low), high);
                Vector128<float> r1 = Vector128.Min(Vector128.Max(Vector128.Round(Vector128.Load(h + from + 4) / divisor), low), high);
                Vector128<short> v = Vector128.Narrow(Vector128.ConvertToInt32(r0), Vector128.ConvertToInt32(r1));
                v.Store(q16 + from);
                Vector64.Narrow(v.GetLower(), v.GetUpper()).Store(q + from);
            }
        }

        for (int k = from; k < hidden; k++)
        {
            q[k] = (sbyte)Math.Clamp(MathF.Round(h[k] / s), -127f, 127f);
            q16[k] = q[k];
        }

        for (int k = hidden; k < _paddedHidden; k++)
        {
            q[k] = 0;
            q16[k] = 0;
        }

        return s;
    }

    private static bool UseSse(KernelPath path) => path == KernelPath.Vector128 && Sse41.IsSupported;

    private static bool UseNeon(KernelPath path) => path == KernelPath.Vector128 && AdvSimd.Arm64.IsSupported;

    private static bool UseDot(KernelPath path) => path == KernelPath.DotProduct && Dp.IsSupported;

    /// <summary>Σ_k q·w of four R rows, in row order.</summary>
    private readonly Vector128<int> Dot4(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, sbyte* q)
    {
        if (UseDot(_path))
        {
            return Dot4Sdot(w0, w1, w2, w3, q, _paddedHidden);
        }

        if (UseNeon(_path))
        {
            return Dot4Smull(w0, w1, w2, w3, q, _paddedHidden);
        }

        return Vector128.Create(DotScalar(w0, q), DotScalar(w1, q), DotScalar(w2, q), DotScalar(w3, q));
    }

    private readonly int DotScalar(sbyte* w, sbyte* q)
    {
        int sum = 0;
        for (int k = 0; k < _hidden; k++)
        {
            sum += q[k] * w[k];
        }

        return sum;
    }

    /// <summary>The SSE4.1 form: pmaddwd of int16 weights against q16, 8 k per step, exact.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<int> Dot4Sse(short* w0, short* w1, short* w2, short* w3, short* q16, int kp)
    {
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int k = 0; k < kp; k += 8)
        {
            Vector128<short> x = Sse2.LoadVector128(q16 + k);
            a0 = Sse2.Add(a0, Sse2.MultiplyAddAdjacent(Sse2.LoadVector128(w0 + k), x));
            a1 = Sse2.Add(a1, Sse2.MultiplyAddAdjacent(Sse2.LoadVector128(w1 + k), x));
            a2 = Sse2.Add(a2, Sse2.MultiplyAddAdjacent(Sse2.LoadVector128(w2 + k), x));
            a3 = Sse2.Add(a3, Sse2.MultiplyAddAdjacent(Sse2.LoadVector128(w3 + k), x));
        }

        return Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(a0, a1), Ssse3.HorizontalAdd(a2, a3));
    }

    /// <summary>
    /// arm64 AdvSimd: SMULL + SMLAL2 put two products in each int16 lane and SADALP widens the pairs into int32
    /// (<see cref="Int8Gemm.Pairs"/>): 16 k per step. Exact for any weight, −128 included, since |q| ≤ 127.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<int> Dot4Smull(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, sbyte* q, int kp)
    {
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int k = 0; k < kp; k += 16)
        {
            Vector128<sbyte> x = AdvSimd.LoadVector128(q + k);
            Vector64<sbyte> xl = AdvSimd.LoadVector64(q + k);
            a0 = Int8Gemm.Pairs(a0, AdvSimd.LoadVector64(w0 + k), AdvSimd.LoadVector128(w0 + k), xl, x);
            a1 = Int8Gemm.Pairs(a1, AdvSimd.LoadVector64(w1 + k), AdvSimd.LoadVector128(w1 + k), xl, x);
            a2 = Int8Gemm.Pairs(a2, AdvSimd.LoadVector64(w2 + k), AdvSimd.LoadVector128(w2 + k), xl, x);
            a3 = Int8Gemm.Pairs(a3, AdvSimd.LoadVector64(w3 + k), AdvSimd.LoadVector128(w3 + k), xl, x);
        }

        return Int8Gemm.Reduce4(a0, a1, a2, a3);
    }

    /// <summary>SDOT: four products per int32 lane, 16 k per step.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<int> Dot4Sdot(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, sbyte* q, int kp)
    {
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int k = 0; k < kp; k += 16)
        {
            Vector128<sbyte> x = AdvSimd.LoadVector128(q + k);
            a0 = Dp.DotProduct(a0, AdvSimd.LoadVector128(w0 + k), x);
            a1 = Dp.DotProduct(a1, AdvSimd.LoadVector128(w1 + k), x);
            a2 = Dp.DotProduct(a2, AdvSimd.LoadVector128(w2 + k), x);
            a3 = Dp.DotProduct(a3, AdvSimd.LoadVector128(w3 + k), x);
        }

        return Int8Gemm.Reduce4(a0, a1, a2, a3);
    }
}
