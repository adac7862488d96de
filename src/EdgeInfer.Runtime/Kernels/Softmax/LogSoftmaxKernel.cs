using System.Runtime.CompilerServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// y = (β·x − m) − log Σ exp(β·x − m) along one axis, m = max β·x along the axis.
/// <para>The slices are <see cref="SoftmaxKernel"/>'s and so are the first steps: z = β·x (written into y), m = the
/// canonical maximum of z, y = exp(z − m) (<see cref="FloatMath.Exp{T}(T)"/>), s = the canonical sum of y; so s is
/// bit for bit the sum Softmax divides by. Then one L = <see cref="FloatMath.Log{T}(T)"/>(s) per slice (s ≥ 1 unless
/// the slice holds NaN), and y = (β·x − m) − L, recomputed from x (β·x is the same single rounding as z; x is never
/// y's buffer). Each element is thus d = fl(fl(β·x) − m), then fl(d − L).</para>
/// <para>−∞ inputs give −∞; a slice holding NaN or +∞ (where z − m is ∞ − ∞), or only −∞, gives NaN everywhere.</para>
/// </summary>
public unsafe struct LogSoftmaxKernel : IKernel<LogSoftmaxKernel>
{
    private float* _input;
    private float* _output;
    private int _outer;
    private int _length;
    private int _inner;
    private float _beta;
    private KernelPath _path;
    private FloatLanes _lanes;

    public static OpCode OpCode => OpCode.LogSoftmax;

    public static LogSoftmaxKernel Prepare(ref KernelContext context)
    {
        (int outer, int length, int inner, float beta) = SoftmaxKernel.Slices(ref context);
        return new LogSoftmaxKernel
        {
            _input = (float*)context.InputBuffer(0).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _outer = outer,
            _length = length,
            _inner = inner,
            _beta = beta,
            _path = context.Path,
            _lanes = FloatVector.LanesFor(context.Path),
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        long slice = (long)_length * _inner;
        for (int o = 0; o < _outer; o++)
        {
            float* x = _input + o * slice;
            float* y = _output + o * slice;
            FloatMap.Apply(_lanes, new SoftmaxKernel.ScaleOperator(_beta), x, y, (nint)slice);
            if (_inner == 1)
            {
                Row(x, y);
            }
            else
            {
                Columns(x, y);
            }
        }
    }

    private readonly void Row(float* x, float* y)
    {
        float max = FloatDot.Max(_path, ref *y, _length);
        FloatMap.Apply(_lanes, new SoftmaxKernel.ExpOperator(max), y, y, _length);
        float log = FloatMath.Log(FloatDot.Sum(_path, ref *y, _length));
        FloatMap.Apply(_lanes, new ShiftOperator(_beta, max, log), x, y, _length);
    }

    private readonly void Columns(float* x, float* y)
    {
        switch (_lanes)
        {
            case FloatLanes.Eight:
                Columns<Float256>(x, y);
                break;
            case FloatLanes.Four:
                Columns<Float128>(x, y);
                break;
            default:
                Columns<ScalarFloat>(x, y);
                break;
        }
    }

    private readonly void Columns<T>(float* x, float* y) where T : struct, IFloatVector<T>
    {
        nint c = 0;
        for (; c <= _inner - T.Count; c += T.Count)
        {
            Column<T>(x, y, c);
        }

        for (; c < _inner; c++)
        {
            Column<ScalarFloat>(x, y, c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Column<T>(float* x, float* y, nint c) where T : struct, IFloatVector<T>
    {
        nint stride = _inner;
        T max = FloatColumns.MaxStrided<T>(y, _length, stride, c);
        ref float column = ref y[c];
        for (int k = 0; k < _length; k++)
        {
            T.Store(FloatMath.Exp(T.Load(ref column, k * stride) - max), ref column, k * stride);
        }

        T log = FloatMath.Log(FloatColumns.SumStrided<T>(y, _length, stride, c));
        ref float source = ref x[c];
        T beta = T.Create(_beta);
        for (int k = 0; k < _length; k++)
        {
            T.Store(T.Load(ref source, k * stride) * beta - max - log, ref column, k * stride);
        }
    }

    private readonly struct ShiftOperator(float beta, float max, float log) : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => x * T.Create(beta) - T.Create(max) - T.Create(log);
    }
}
