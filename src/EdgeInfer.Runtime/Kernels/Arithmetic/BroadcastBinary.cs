using System.Runtime.CompilerServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>An elementwise binary operation, lane-wise (no reduction): the same bits at every width.</summary>
internal interface IBinaryOperator
{
    static abstract T Apply<T>(T a, T b) where T : struct, IFloatVector<T>;
}

/// <summary>
/// The machinery shared by Add, Sub, Mul and Div: y = clamp(a ∘ b) with NumPy broadcasting of a and b to y's shape.
/// <para><b>Prepare</b> right-aligns the two shapes against the output (missing leading axes are 1), checks every
/// axis (each operand's size is the output's or 1, and the output's is what broadcasting gives), drops size-1 output
/// axes, and merges neighbouring axes that broadcast the same way (neither, only a, only b). What remains is at most
/// eight (size, a stride, b stride) axes, where a broadcast axis has stride 0. Common cases collapse to one or two
/// axes: same shapes → one contiguous run; a scalar operand → one run against a repeated value; a per-channel
/// operand [C] against [N,H,W,C] → N·H·W rows of a C-long run.</para>
/// <para><b>Invoke</b> walks the outer axes with an odometer and runs the innermost axis as one vector loop:
/// vector∘vector, vector∘repeated value or repeated value∘vector (both operands broadcast on the same axis would
/// make the output axis 1, which was dropped).</para>
/// </summary>
internal unsafe struct BroadcastBinary
{
    private float* _a;
    private float* _b;
    private float* _output;
    private int[] _sizes;       // merged axes, outermost first; the last is the inner run
    private int[] _aStrides;    // elements; 0 where a is broadcast
    private int[] _bStrides;
    private int _count;
    private float _min;
    private float _max;
    private bool _clamped;
    private FloatLanes _lanes;

    public static BroadcastBinary Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 2);
        context.RequireOutputs(1);
        TensorInfo a = context.Input(0);
        TensorInfo b = context.Input(1);
        TensorInfo output = context.Output(0);
        context.RequireType(a, DataType.Float32, "input a");
        context.RequireType(b, DataType.Float32, "input b");
        context.RequireType(output, DataType.Float32, "output");
        ClampOptions clamp = FusedClamp.Validate(ref context, ClampOptions.Read(context.Options));
        int rank = output.Rank;
        context.Require(rank == Math.Max(a.Rank, b.Rank), $"output {output} must have the rank of the larger input ({a}, {b})");

        var sizes = new List<int>(rank);
        var aBroadcast = new List<bool>(rank);
        var bBroadcast = new List<bool>(rank);
        for (int d = 0; d < rank; d++)
        {
            int ad = d - (rank - a.Rank) >= 0 ? a.Dim(d - (rank - a.Rank)) : 1;
            int bd = d - (rank - b.Rank) >= 0 ? b.Dim(d - (rank - b.Rank)) : 1;
            int od = output.Dim(d);
            int expected = ad == bd ? ad : ad == 1 ? bd : bd == 1 ? ad : -1;
            context.Require(expected > 0, $"inputs {a} and {b} do not broadcast (axis {d}: {ad} against {bd})");
            context.Require(od == expected, $"output {output} axis {d} is {od}, broadcasting gives {expected}");
            if (od == 1)
            {
                continue;
            }

            bool aB = ad == 1, bB = bd == 1;
            int last = sizes.Count - 1;
            if (last >= 0 && aBroadcast[last] == aB && bBroadcast[last] == bB)
            {
                sizes[last] *= od;
            }
            else
            {
                sizes.Add(od);
                aBroadcast.Add(aB);
                bBroadcast.Add(bB);
            }
        }

        if (sizes.Count == 0)
        {
            sizes.Add(1);
            aBroadcast.Add(false);
            bBroadcast.Add(false);
        }

        int axes = sizes.Count;
        var aStrides = new int[axes];
        var bStrides = new int[axes];
        int aRun = 1, bRun = 1;
        for (int d = axes - 1; d >= 0; d--)
        {
            aStrides[d] = aBroadcast[d] ? 0 : aRun;
            bStrides[d] = bBroadcast[d] ? 0 : bRun;
            aRun *= aBroadcast[d] ? 1 : sizes[d];
            bRun *= bBroadcast[d] ? 1 : sizes[d];
        }

        return new BroadcastBinary
        {
            _a = (float*)context.InputBuffer(0).Pointer,
            _b = (float*)context.InputBuffer(1).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _sizes = [.. sizes],
            _aStrides = aStrides,
            _bStrides = bStrides,
            _count = (int)output.ElementCount,
            _min = clamp.Min,
            _max = clamp.Max,
            _clamped = !clamp.IsNone,
            _lanes = FloatVector.LanesFor(context.Path),
        };
    }

    public readonly void Run<TOp>() where TOp : struct, IBinaryOperator
    {
        switch ((_lanes, _clamped))
        {
            case (FloatLanes.Eight, false):
                Walk<TOp, Float256, Unclamped>();
                break;
            case (FloatLanes.Eight, true):
                Walk<TOp, Float256, Clamped>();
                break;
            case (FloatLanes.Four, false):
                Walk<TOp, Float128, Unclamped>();
                break;
            case (FloatLanes.Four, true):
                Walk<TOp, Float128, Clamped>();
                break;
            case (_, false):
                Walk<TOp, ScalarFloat, Unclamped>();
                break;
            default:
                Walk<TOp, ScalarFloat, Clamped>();
                break;
        }
    }

    private readonly void Walk<TOp, T, TClamp>()
        where TOp : struct, IBinaryOperator
        where T : struct, IFloatVector<T>
        where TClamp : struct, IClampMode
    {
        int last = _sizes.Length - 1;
        int inner = _sizes[last];
        int innerA = _aStrides[last], innerB = _bStrides[last];
        int outer = _count / inner;
        Span<int> index = stackalloc int[FormatConstants.MaxRank];
        long aOffset = 0, bOffset = 0;
        float* y = _output;
        for (int o = 0; o < outer; o++, y += inner)
        {
            float* a = _a + aOffset, b = _b + bOffset;
            if (innerA != 0 && innerB != 0)
            {
                RunBoth<TOp, T, TClamp>(a, b, y, inner);
            }
            else if (innerB == 0)
            {
                RunRepeatedB<TOp, T, TClamp>(a, *b, y, inner);
            }
            else
            {
                RunRepeatedA<TOp, T, TClamp>(*a, b, y, inner);
            }

            // Odometer over the outer axes, innermost first.
            for (int d = last - 1; d >= 0; d--)
            {
                aOffset += _aStrides[d];
                bOffset += _bStrides[d];
                if (++index[d] < _sizes[d])
                {
                    break;
                }

                index[d] = 0;
                aOffset -= (long)_aStrides[d] * _sizes[d];
                bOffset -= (long)_bStrides[d] * _sizes[d];
            }
        }
    }

    private readonly void RunBoth<TOp, T, TClamp>(float* a, float* b, float* y, int count)
        where TOp : struct, IBinaryOperator
        where T : struct, IFloatVector<T>
        where TClamp : struct, IClampMode
    {
        nint i = 0;
        for (; i <= count - T.Count; i += T.Count)
        {
            T.Store(Finish<T, TClamp>(TOp.Apply(T.Load(ref *a, i), T.Load(ref *b, i))), ref *y, i);
        }

        for (; i < count; i++)
        {
            ScalarFloat.Store(Finish<ScalarFloat, TClamp>(TOp.Apply(ScalarFloat.Load(ref *a, i), ScalarFloat.Load(ref *b, i))), ref *y, i);
        }
    }

    private readonly void RunRepeatedB<TOp, T, TClamp>(float* a, float b, float* y, int count)
        where TOp : struct, IBinaryOperator
        where T : struct, IFloatVector<T>
        where TClamp : struct, IClampMode
    {
        T vb = T.Create(b);
        nint i = 0;
        for (; i <= count - T.Count; i += T.Count)
        {
            T.Store(Finish<T, TClamp>(TOp.Apply(T.Load(ref *a, i), vb)), ref *y, i);
        }

        for (; i < count; i++)
        {
            ScalarFloat.Store(Finish<ScalarFloat, TClamp>(TOp.Apply(ScalarFloat.Load(ref *a, i), ScalarFloat.Create(b))), ref *y, i);
        }
    }

    private readonly void RunRepeatedA<TOp, T, TClamp>(float a, float* b, float* y, int count)
        where TOp : struct, IBinaryOperator
        where T : struct, IFloatVector<T>
        where TClamp : struct, IClampMode
    {
        T va = T.Create(a);
        nint i = 0;
        for (; i <= count - T.Count; i += T.Count)
        {
            T.Store(Finish<T, TClamp>(TOp.Apply(va, T.Load(ref *b, i))), ref *y, i);
        }

        for (; i < count; i++)
        {
            ScalarFloat.Store(Finish<ScalarFloat, TClamp>(TOp.Apply(ScalarFloat.Create(a), ScalarFloat.Load(ref *b, i))), ref *y, i);
        }
    }

    /// <summary>The clamp, skipped (a compile-time choice) when the range is (−∞, +∞), where it is the identity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly T Finish<T, TClamp>(T v) where T : struct, IFloatVector<T> where TClamp : struct, IClampMode
        => TClamp.Enabled ? FloatVector.Clamp(v, T.Create(_min), T.Create(_max)) : v;

    private interface IClampMode
    {
        static abstract bool Enabled { get; }
    }

    private readonly struct Clamped : IClampMode
    {
        public static bool Enabled => true;
    }

    private readonly struct Unclamped : IClampMode
    {
        public static bool Enabled => false;
    }
}
