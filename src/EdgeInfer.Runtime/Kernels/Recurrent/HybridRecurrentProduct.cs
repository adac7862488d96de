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
/// against the G·H² multiplies it saves in float. The quantization is scalar code shared by every path; the sums are
/// integers, so every path (scalar, AVX2, SSE4.1, AdvSimd pairs, SDOT) gives the same bytes. q never reaches −128,
/// so a weight of −128 is exact everywhere: the arm64 int16 pair sums hold at most 2·127·128 = 32,512.
/// </summary>
internal unsafe struct HybridRecurrentProduct
{
    private const int KStep = 16; // R rows and q are zero-padded to a multiple of 16: whole vector steps, no k tail

    private KernelPath _path;
    private int _hidden;        // H: the depth of each dot product
    private int _paddedHidden;  // H rounded up to KStep
    private sbyte[] _weights;   // R [units, paddedHidden], zeros past H (pinned)
    private float[] _scales;    // one per row of R (pinned)

    /// <summary>Scratch of <see cref="Multiply"/>: q as int8 and as int16 (the x64 forms), H padded.</summary>
    public static long ScratchBytes(int hidden) => 3L * Padded(hidden);

    private static int Padded(int hidden) => (hidden + KStep - 1) & ~(KStep - 1);

    /// <summary>Validates int8 R (constant, per-row symmetric) and copies it padded; R is [units, hidden].</summary>
    public static HybridRecurrentProduct Create(ref KernelContext context, TensorInfo weights, sbyte* data, int units, int hidden)
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
        int padded = Padded(hidden);
        sbyte[] copy = context.AllocatePersistent<sbyte>(checked(units * padded));
        for (int j = 0; j < units; j++)
        {
            new ReadOnlySpan<sbyte>(data + (long)j * hidden, hidden).CopyTo(copy.AsSpan(j * padded, hidden));
        }

        float[] scales = context.AllocatePersistent<float>(units);
        q.Scales.AsSpan(0, units).CopyTo(scales);
        return new HybridRecurrentProduct
        {
            _path = context.Path,
            _hidden = hidden,
            _paddedHidden = padded,
            _weights = copy,
            _scales = scales,
        };
    }

    /// <summary>
    /// C[n, 0..columns) = the hybrid product of rows [first, first + columns) of R with the <paramref name="rows"/>
    /// rows of h (<paramref name="hStride"/> floats apart), C's rows <paramref name="ldc"/> apart.
    /// </summary>
    public readonly void Multiply(float* h, nint hStride, int rows, int first, int columns, float* c, nint ldc, byte* scratch)
    {
        int kp = _paddedHidden;
        sbyte* q = (sbyte*)scratch;
        short* q16 = (short*)(scratch + kp);
        fixed (sbyte* weights = _weights)
        fixed (float* scales = _scales)
        {
            sbyte* w = weights + (long)first * kp;
            float* scale = scales + first;
            for (int n = 0; n < rows; n++)
            {
                float* hn = h + n * hStride;
                float* cn = c + n * ldc;
                float s = Quantize(hn, q);
                if (s == 0)
                {
                    new Span<float>(cn, columns).Clear();
                    continue;
                }

                if (KernelPaths.UsesAvx2(_path) || UseSse(_path))
                {
                    for (int k = 0; k < kp; k++)
                    {
                        q16[k] = q[k];
                    }
                }

                for (int j = 0; j < columns; j += 4)
                {
                    // Rows past the last repeat it (their sums are dropped), so R is never read past its end.
                    sbyte* w0 = w + (long)j * kp;
                    sbyte* w1 = w + (long)Math.Min(j + 1, columns - 1) * kp;
                    sbyte* w2 = w + (long)Math.Min(j + 2, columns - 1) * kp;
                    sbyte* w3 = w + (long)Math.Min(j + 3, columns - 1) * kp;
                    Vector128<int> acc = Dot4(w0, w1, w2, w3, q, q16);
                    int count = Math.Min(4, columns - j);
                    for (int i = 0; i < count; i++)
                    {
                        cn[j + i] = (float)acc.GetElement(i) * (s * scale[j + i]);
                    }
                }
            }
        }
    }

    /// <summary>q = h / s rounded (ties to even) and clamped to ±127, zeros past H; returns s = max|h| / 127.</summary>
    private readonly float Quantize(float* h, sbyte* q)
    {
        float m = 0;
        for (int k = 0; k < _hidden; k++)
        {
            m = MathF.Max(m, MathF.Abs(h[k]));
        }

        float s = m / 127f;
        if (s == 0)
        {
            return s;
        }

        for (int k = 0; k < _hidden; k++)
        {
            q[k] = (sbyte)Math.Clamp(MathF.Round(h[k] / s), -127f, 127f);
        }

        for (int k = _hidden; k < _paddedHidden; k++)
        {
            q[k] = 0;
        }

        return s;
    }

    private static bool UseSse(KernelPath path) => path == KernelPath.Vector128 && Sse41.IsSupported;

    private static bool UseNeon(KernelPath path) => path == KernelPath.Vector128 && AdvSimd.Arm64.IsSupported;

    private static bool UseDot(KernelPath path) => path == KernelPath.DotProduct && Dp.IsSupported;

    /// <summary>Σ_k q·w of four R rows, in row order.</summary>
    private readonly Vector128<int> Dot4(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, sbyte* q, short* q16)
    {
        if (KernelPaths.UsesAvx2(_path))
        {
            return Dot4Avx2(w0, w1, w2, w3, q16, _paddedHidden);
        }

        if (UseSse(_path))
        {
            return Dot4Sse(w0, w1, w2, w3, q16, _paddedHidden);
        }

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

    /// <summary>Weights sign-extended to int16 as they load (vpmovsxbw), vpmaddwd against q16: 16 k per step, exact.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<int> Dot4Avx2(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, short* q16, int kp)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int k = 0; k < kp; k += 16)
        {
            Vector256<short> x = Avx.LoadVector256(q16 + k);
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w0 + k), x));
            a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w1 + k), x));
            a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w2 + k), x));
            a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w3 + k), x));
        }

        // Each 128-bit half ends as [Σa0, Σa1, Σa2, Σa3] over its lanes; the halves add into the four sums.
        Vector256<int> s = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
        return s.GetLower() + s.GetUpper();
    }

    /// <summary>The SSE4.1 form: pmovsxbw 8 weights, pmaddwd against q16: 8 k per step, exact.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<int> Dot4Sse(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, short* q16, int kp)
    {
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int k = 0; k < kp; k += 8)
        {
            Vector128<short> x = Sse2.LoadVector128(q16 + k);
            a0 = Sse2.Add(a0, Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(w0 + k), x));
            a1 = Sse2.Add(a1, Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(w1 + k), x));
            a2 = Sse2.Add(a2, Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(w2 + k), x));
            a3 = Sse2.Add(a3, Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(w3 + k), x));
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
