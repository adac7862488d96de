using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

// The fused recurrences. Each computes a step exactly as the chain of the runtime's own operators that the converter
// would otherwise unroll (the recurrent FullyConnected without bias, Add, the activation operators, Mul, Add/Sub):
// the product R·h is FloatGemm's, with the FullyConnected kernel's packing and chain order; the activations are the
// activation kernels' own functions; every other step is one IEEE operation per element, in the unrolled order and
// never contracted. So a fused model gives the unrolled model's bits on every path (the converter's tests compare
// the two), while it runs one operator per layer instead of about sixteen per time step, and its file holds one
// record per layer instead of one per step and operation.
//
// R may instead be an int8 constant with a scale per row (full-int8 models): then each product R·h is
// HybridRecurrentProduct's (int8 R times h quantized per row and step) and everything around it is unchanged, so the
// paths still agree bit for bit with each other, no longer with the float chain.

/// <summary>
/// The shape of a fused recurrence: T steps of N rows; where step t's row n of a sequence of width w starts; the
/// options, validated. Shared by <see cref="LstmKernel"/> and <see cref="GruKernel"/>.
/// </summary>
internal unsafe struct RecurrentSequence
{
    public int Steps;
    public int Rows;
    public int Hidden;
    public bool TimeMajor;      // time axis 0: [T, N, w]; otherwise [N, T, w]
    public bool Reverse;
    public FloatLanes Lanes;
    public KernelPath Path;
    public bool Int8Weights;    // R is int8: the products are hybrid (HybridRecurrentProduct), nothing is packed for FloatGemm

    /// <summary>Validates the options, the projected gates (input 0), R (input 1, fixed at load) and the output.</summary>
    public static RecurrentSequence Prepare(ref KernelContext context, int gates, out RecurrentOptions options)
    {
        context.RequireOutputs(1);
        try
        {
            options = RecurrentOptions.Read(context.Options);
        }
        catch (ArgumentException e)
        {
            context.Fail(e.Message);
            throw; // unreachable: Fail throws
        }

        context.Require(options.TimeAxis is 0 or 1, $"time axis {options.TimeAxis} must be 0 ([T, N, ·]) or 1 ([N, T, ·])");
        RequireActivation(ref context, options.Gate, "gate");
        RequireActivation(ref context, options.Candidate, "candidate");
        TensorInfo projected = context.Input(0);
        TensorInfo weights = context.Input(1);
        TensorInfo output = context.Output(0);
        context.RequireType(projected, DataType.Float32, "projected gates");
        context.Require(weights.DataType is DataType.Float32 or DataType.Int8, $"recurrent weights {weights} must be float32 or int8");
        context.RequireType(output, DataType.Float32, "output");
        context.Require(weights.Rank == 2 && weights.Dim(1) >= 1 && weights.Dim(0) == (long)gates * weights.Dim(1),
            $"recurrent weights {weights} must be [{gates}·H, H]");
        context.Require(KernelContext.IsFixedAtPrepare(weights), $"recurrent weights {weights} must be a constant or derived tensor");
        int hidden = weights.Dim(1);
        bool int8 = weights.DataType == DataType.Int8;
        if (int8)
        {
            HybridRecurrentProduct.Validate(ref context, weights, gates * hidden, hidden);
        }

        context.Require(projected.Rank == 3 && projected.Dim(2) == gates * hidden,
            $"projected gates {projected} must be rank 3 with {gates}·{hidden} = {gates * hidden} gate values per step");
        context.RequireShape(output, [projected.Dim(0), projected.Dim(1), hidden], "output");
        return new RecurrentSequence
        {
            Steps = projected.Dim(options.TimeAxis),
            Rows = projected.Dim(1 - options.TimeAxis),
            Hidden = hidden,
            TimeMajor = options.TimeAxis == 0,
            Reverse = options.Reverse,
            Lanes = FloatVector.LanesFor(context.Path),
            Path = context.Path,
            Int8Weights = int8,
        };
    }

    /// <summary>Scratch the products need beyond the kernel's own: the hybrid product's quantized h.</summary>
    public readonly long ProductScratchBytes => Int8Weights ? HybridRecurrentProduct.ScratchBytes(Hidden) : 0;

    public static void RequireActivation(ref KernelContext context, RecurrentActivation a, string role)
    {
        context.Require(a.Op is OpCode.Sigmoid or OpCode.Tanh or OpCode.Relu or OpCode.HardSigmoid,
            $"{role} activation {a.Op} is not Sigmoid, Tanh, Relu or HardSigmoid");
        context.Require(a.Op != OpCode.HardSigmoid || (float.IsFinite(a.Alpha) && float.IsFinite(a.Beta)),
            $"{role} activation HardSigmoid({a.Alpha}, {a.Beta}) must have a finite alpha and beta");
    }

    /// <summary>The time index of the <paramref name="s"/>-th step computed.</summary>
    public readonly int TimeOf(int s) => Reverse ? Steps - 1 - s : s;

    /// <summary>Row <paramref name="n"/> of step <paramref name="t"/> in a sequence <paramref name="width"/> wide.</summary>
    public readonly float* Row(float* sequence, int t, int n, int width)
        => sequence + (TimeMajor ? ((long)t * Rows + n) : ((long)n * Steps + t)) * width;

    /// <summary>Floats from one row of a step to the next in a sequence <paramref name="width"/> wide.</summary>
    public readonly nint RowStride(int width) => TimeMajor ? width : (nint)Steps * width;

    /// <summary>y = a(x) over <paramref name="count"/> floats with the activation operator's own function.</summary>
    public readonly void Activate(RecurrentActivation a, float* x, float* y, int count)
    {
        switch (a.Op)
        {
            case OpCode.Sigmoid:
                FloatMap.Apply(Lanes, default(SigmoidFunction), x, y, count);
                break;
            case OpCode.Tanh:
                FloatMap.Apply(Lanes, default(TanhFunction), x, y, count);
                break;
            case OpCode.Relu:
                FloatMap.Apply(Lanes, default(ReluFunction), x, y, count);
                break;
            default:
                FloatMap.Apply(Lanes, new HardSigmoidFunction(a.Alpha, a.Beta), x, y, count);
                break;
        }
    }

    /// <summary>
    /// Packs rows [<paramref name="first"/>, first + count) of float R [G·H, H] for FloatGemm, once at load; with
    /// int8 R nothing is packed (an empty array): <see cref="HybridRows"/> lays those rows out instead.
    /// </summary>
    public readonly float[] PackRows(ref KernelContext context, float* weights, int first, int count, int hidden)
    {
        if (Int8Weights)
        {
            return [];
        }

        float[] packed = context.AllocatePersistent<float>(checked((int)FloatGemm.PackedLength(count, hidden)));
        fixed (float* p = packed)
        {
            FloatGemm.PackRows(weights + (long)first * hidden, hidden, count, hidden, p);
        }

        return packed;
    }

    /// <summary>The hybrid product of rows [<paramref name="first"/>, first + count) of int8 R; default for float R.</summary>
    public readonly HybridRecurrentProduct HybridRows(ref KernelContext context, int first, int count)
        => Int8Weights
            ? HybridRecurrentProduct.Create(ref context, context.Input(1), (sbyte*)context.InputBuffer(1).Pointer, first, count, Hidden)
            : default;

    /// <summary>
    /// C[n, 0..columns) = R·h for the N rows of h, <paramref name="hStride"/> floats apart (the previous step, read
    /// in place from the output sequence), C's rows <paramref name="ldc"/> apart: with float R, the unrolled chain's
    /// recurrent FullyConnected, no bias, no clamp (<paramref name="packed"/>); with int8 R, <paramref name="hybrid"/>
    /// (the same rows), using <paramref name="scratch"/>.
    /// </summary>
    public readonly void Product(float* h, nint hStride, float[] packed, in HybridRecurrentProduct hybrid, int columns, float* c, nint ldc, byte* scratch)
    {
        if (Int8Weights)
        {
            hybrid.Multiply(h, hStride, Rows, c, ldc, scratch);
            return;
        }

        fixed (float* p = packed)
        {
            FloatGemm.Multiply(Path, h, hStride, Rows, p, columns, Hidden, c, ldc, null, float.NegativeInfinity, float.PositiveInfinity);
        }
    }
}

/// <summary>
/// LSTM over a whole sequence (<see cref="OpCode.Lstm"/>): z = P_t + R·h; i, f, o = gate(z); g = candidate(z);
/// c = f·c + i·g, clamped to ±CellClip when that is positive; h = o·output(c); the first step has h = c = 0, so it
/// skips the product and sets c = i·g, as the unrolled chain does. The hidden states are read back from the output, so only the gates and the cell state
/// live in scratch.
/// </summary>
public unsafe struct LstmKernel : IKernel<LstmKernel>
{
    private RecurrentSequence _seq;
    private RecurrentOptions _options;
    private float* _projected;
    private float* _output;
    private float[] _packed;    // R [4H, H] in FloatGemm panels (pinned)
    private HybridRecurrentProduct _hybrid; // int8 R [4H, H]

    public static OpCode OpCode => OpCode.Lstm;

    public static LstmKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 2);
        var seq = RecurrentSequence.Prepare(ref context, 4, out RecurrentOptions options);
        RecurrentSequence.RequireActivation(ref context, options.Output, "output");
        context.Require(!options.ResetAfter, "reset-after is a GRU form; an LSTM must not set it");
        context.Require(float.IsFinite(options.CellClip) && options.CellClip >= 0, $"cell clip {options.CellClip} must be finite and non-negative (0 for none)");
        int h = seq.Hidden;
        context.RequestScratch(((long)seq.Rows * 4 * h + (long)seq.Rows * h) * sizeof(float) + seq.ProductScratchBytes);
        return new LstmKernel
        {
            _seq = seq,
            _options = options,
            _projected = (float*)context.InputBuffer(0).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _packed = seq.PackRows(ref context, (float*)context.InputBuffer(1).Pointer, 0, 4 * h, h),
            _hybrid = seq.HybridRows(ref context, 0, 4 * h),
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        int h = _seq.Hidden, width = 4 * h;
        fixed (byte* s = scratch)
        {
            float* gates = (float*)s;                         // [N, 4H]
            float* cell = gates + (long)_seq.Rows * width;    // [N, H]
            byte* productScratch = (byte*)(cell + (long)_seq.Rows * h);
            for (int step = 0; step < _seq.Steps; step++)
            {
                int t = _seq.TimeOf(step);
                bool first = step == 0;
                if (!first)
                {
                    int previous = _seq.Reverse ? t + 1 : t - 1;
                    _seq.Product(_seq.Row(_output, previous, 0, h), _seq.RowStride(h), _packed, in _hybrid, width, gates, width, productScratch);
                }

                for (int n = 0; n < _seq.Rows; n++)
                {
                    float* z = gates + (long)n * width;
                    float* p = _seq.Row(_projected, t, n, width);
                    if (first)
                    {
                        new ReadOnlySpan<float>(p, width).CopyTo(new Span<float>(z, width));
                    }
                    else
                    {
                        for (int j = 0; j < width; j++)
                        {
                            z[j] = p[j] + z[j];
                        }
                    }

                    _seq.Activate(_options.Gate, z, z, 2 * h);              // i, f
                    _seq.Activate(_options.Candidate, z + 2 * h, z + 2 * h, h); // g
                    _seq.Activate(_options.Gate, z + 3 * h, z + 3 * h, h);  // o
                    float* c = cell + (long)n * h;
                    for (int j = 0; j < h; j++)
                    {
                        float ig = z[j] * z[2 * h + j];
                        c[j] = first ? ig : (z[h + j] * c[j]) + ig;
                    }

                    if (_options.CellClip > 0)
                    {
                        // The Clip operator's clamp, so the bits are those of a Clip after the cell update.
                        for (int j = 0; j < h; j++)
                        {
                            c[j] = FloatVector.Clamp(c[j], -_options.CellClip, _options.CellClip);
                        }
                    }

                    float* y = _seq.Row(_output, t, n, h);
                    _seq.Activate(_options.Output, c, y, h);
                    for (int j = 0; j < h; j++)
                    {
                        y[j] = z[3 * h + j] * y[j];
                    }
                }
            }
        }
    }
}

/// <summary>
/// GRU over a whole sequence (<see cref="OpCode.Gru"/>): z, r = gate(P_zr + R_zr·h); the candidate n =
/// candidate(P_n + r·(R_n·h + b)) when reset-after, else candidate(P_n + R_n·(r·h)); h = n + z·(h − n). The first
/// step has h = 0: no products, n = candidate(P_n + r·b) or candidate(P_n), and h = n − z·n, as the unrolled chain.
/// </summary>
public unsafe struct GruKernel : IKernel<GruKernel>
{
    private RecurrentSequence _seq;
    private RecurrentOptions _options;
    private float* _projected;
    private float* _output;
    private float* _candidateBias;  // reset-after only
    private float[] _packedGates;   // reset-after: R [3H, H]; otherwise R_zr [2H, H]
    private float[]? _packedCandidate; // otherwise: R_n [H, H]
    private HybridRecurrentProduct _hybridGates;     // int8 R: the rows of _packedGates
    private HybridRecurrentProduct _hybridCandidate; // int8 R, not reset-after: R_n

    public static OpCode OpCode => OpCode.Gru;

    public static GruKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 3);
        var seq = RecurrentSequence.Prepare(ref context, 3, out RecurrentOptions options);
        context.Require(options.Output == RecurrentActivation.None, $"a GRU has no output activation (found {options.Output})");
        context.Require(options.CellClip == 0, $"a GRU has no cell state to clip (cell clip {options.CellClip})");
        int h = seq.Hidden;
        context.Require(context.HasInput(2) == options.ResetAfter,
            options.ResetAfter ? "reset-after needs the candidate's recurrent bias as input 2" : "input 2 (the candidate's recurrent bias) is only for reset-after");
        float* bias = null;
        if (options.ResetAfter)
        {
            TensorInfo b = context.Input(2);
            context.RequireType(b, DataType.Float32, "candidate bias");
            context.Require(b.ElementCount == h, $"candidate bias {b} should hold {h} values");
            bias = (float*)context.InputBuffer(2).Pointer;
        }

        float* r = (float*)context.InputBuffer(1).Pointer; // read only when R is float
        context.RequestScratch(((long)seq.Rows * 3 * h + 3L * seq.Rows * h) * sizeof(float) + seq.ProductScratchBytes);
        return new GruKernel
        {
            _seq = seq,
            _options = options,
            _projected = (float*)context.InputBuffer(0).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _candidateBias = bias,
            _packedGates = seq.PackRows(ref context, r, 0, options.ResetAfter ? 3 * h : 2 * h, h),
            _packedCandidate = options.ResetAfter ? null : seq.PackRows(ref context, r, 2 * h, h, h),
            _hybridGates = seq.HybridRows(ref context, 0, options.ResetAfter ? 3 * h : 2 * h),
            _hybridCandidate = options.ResetAfter ? default : seq.HybridRows(ref context, 2 * h, h),
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        int h = _seq.Hidden, width = 3 * h;
        int productWidth = _options.ResetAfter ? 3 * h : 2 * h;
        long rows = _seq.Rows;
        fixed (byte* s = scratch)
        {
            float* gates = (float*)s;                   // [N, 3H]: R·h, then the activated z and r
            float* candidate = gates + rows * width;    // [N, H]
            float* resetHidden = candidate + rows * h;  // [N, H]: r·h (reset before)
            float* candidateProduct = resetHidden + rows * h; // [N, H]: R_n·(r·h)
            byte* productScratch = (byte*)(candidateProduct + rows * h);
            for (int step = 0; step < _seq.Steps; step++)
            {
                int t = _seq.TimeOf(step);
                bool first = step == 0;
                int previous = _seq.Reverse ? t + 1 : t - 1;
                if (!first)
                {
                    _seq.Product(_seq.Row(_output, previous, 0, h), _seq.RowStride(h), _packedGates, in _hybridGates, productWidth, gates, width, productScratch);
                }

                for (int n = 0; n < _seq.Rows; n++)
                {
                    float* g = gates + n * (long)width;
                    float* p = _seq.Row(_projected, t, n, width);
                    if (first)
                    {
                        new ReadOnlySpan<float>(p, 2 * h).CopyTo(new Span<float>(g, 2 * h));
                    }
                    else
                    {
                        for (int j = 0; j < 2 * h; j++)
                        {
                            g[j] = p[j] + g[j];
                        }
                    }

                    _seq.Activate(_options.Gate, g, g, 2 * h); // z, r
                }

                if (!first && !_options.ResetAfter)
                {
                    // r·h for every row, then one product R_n·(r·h) over the rows.
                    for (int n = 0; n < _seq.Rows; n++)
                    {
                        float* r = gates + n * (long)width + h;
                        float* hp = _seq.Row(_output, previous, n, h);
                        float* rh = resetHidden + n * (long)h;
                        for (int j = 0; j < h; j++)
                        {
                            rh[j] = r[j] * hp[j];
                        }
                    }

                    _seq.Product(resetHidden, h, _packedCandidate!, in _hybridCandidate, h, candidateProduct, h, productScratch);
                }

                for (int n = 0; n < _seq.Rows; n++)
                {
                    float* g = gates + n * (long)width;
                    float* p = _seq.Row(_projected, t, n, width) + 2 * h;
                    float* c = candidate + n * (long)h;
                    if (_options.ResetAfter)
                    {
                        for (int j = 0; j < h; j++)
                        {
                            float hh = first ? _candidateBias[j] : g[2 * h + j] + _candidateBias[j];
                            c[j] = p[j] + (g[h + j] * hh);
                        }
                    }
                    else if (first)
                    {
                        new ReadOnlySpan<float>(p, h).CopyTo(new Span<float>(c, h));
                    }
                    else
                    {
                        float* hh = candidateProduct + n * (long)h;
                        for (int j = 0; j < h; j++)
                        {
                            c[j] = p[j] + hh[j];
                        }
                    }

                    _seq.Activate(_options.Candidate, c, c, h);
                    float* y = _seq.Row(_output, t, n, h);
                    if (first)
                    {
                        for (int j = 0; j < h; j++)
                        {
                            y[j] = c[j] - (g[j] * c[j]);
                        }
                    }
                    else
                    {
                        float* hp = _seq.Row(_output, previous, n, h);
                        for (int j = 0; j < h; j++)
                        {
                            y[j] = c[j] + (g[j] * (hp[j] - c[j]));
                        }
                    }
                }
            }
        }
    }
}
