using System.Runtime.CompilerServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// y = exp(β·x − m) / Σ exp(β·x − m) along one axis, m = max β·x along the axis (so no term exceeds 1 and nothing
/// overflows; a NaN anywhere in a slice makes the whole slice NaN).
/// <para>The tensor is [outer, L, inner] around the axis. Every slice goes through the same steps: z = β·x (one
/// multiply, written into y), m = canonical maximum of z, y = exp(z − m) (<see cref="FloatMath.Exp{T}(T)"/>),
/// s = canonical sum of y, y = y / s (one IEEE division). With inner = 1 (the last axis) a slice is a contiguous
/// row and the reductions run along it (<see cref="FloatDot.Max"/>, <see cref="FloatDot.Sum"/>); otherwise the
/// vector runs across the inner positions and each lane reduces down its own column
/// (<see cref="FloatColumns"/>). Both compute the canonical order over the same terms, so the result of a slice does
/// not depend on where its axis is, nor on the path.</para>
/// </summary>
public unsafe struct SoftmaxKernel : IKernel<SoftmaxKernel>
{
    private float* _input;
    private float* _output;
    private int _outer;
    private int _length;
    private int _inner;
    private float _beta;
    private KernelPath _path;
    private FloatLanes _lanes;

    public static OpCode OpCode => OpCode.Softmax;

    public static SoftmaxKernel Prepare(ref KernelContext context)
    {
        (int outer, int length, int inner, float beta) = Slices(ref context);
        return new SoftmaxKernel
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

    /// <summary>
    /// The checks Softmax and LogSoftmax share (one float32 input, an output of its shape, an axis below the rank,
    /// a finite beta) and the [outer, length, inner] view of the tensor around the axis.
    /// </summary>
    internal static (int Outer, int Length, int Inner, float Beta) Slices(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(output, DataType.Float32, "output");
        context.RequireShape(output, input.Shape, "output");
        SoftmaxOptions options = SoftmaxOptions.Read(context.Options);
        context.Require(options.Axis >= 0 && options.Axis < input.Rank, $"axis {options.Axis} is outside the {input.Rank} axes of {input}");
        context.Require(float.IsFinite(options.Beta), $"beta {options.Beta} must be finite");
        int outer = 1, inner = 1;
        for (int d = 0; d < options.Axis; d++)
        {
            outer *= input.Dim(d);
        }

        for (int d = options.Axis + 1; d < input.Rank; d++)
        {
            inner *= input.Dim(d);
        }

        return (outer, input.Dim(options.Axis), inner, options.Beta);
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        long slice = (long)_length * _inner;
        for (int o = 0; o < _outer; o++)
        {
            float* x = _input + o * slice;
            float* y = _output + o * slice;
            FloatMap.Apply(_lanes, new ScaleOperator(_beta), x, y, (nint)slice);
            if (_inner == 1)
            {
                Row(y);
            }
            else
            {
                Columns(y);
            }
        }
    }

    private readonly void Row(float* y)
    {
        float max = FloatDot.Max(_path, ref *y, _length);
        FloatMap.Apply(_lanes, new ExpOperator(max), y, y, _length);
        float sum = FloatDot.Sum(_path, ref *y, _length);
        FloatMap.Apply(_lanes, new DivideOperator(sum), y, y, _length);
    }

    private readonly void Columns(float* y)
    {
        switch (_lanes)
        {
            case FloatLanes.Eight:
                Columns<Float256>(y);
                break;
            case FloatLanes.Four:
                Columns<Float128>(y);
                break;
            default:
                Columns<ScalarFloat>(y);
                break;
        }
    }

    private readonly void Columns<T>(float* y) where T : struct, IFloatVector<T>
    {
        nint c = 0;
        for (; c <= _inner - T.Count; c += T.Count)
        {
            Column<T>(y, c);
        }

        for (; c < _inner; c++)
        {
            Column<ScalarFloat>(y, c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Column<T>(float* y, nint c) where T : struct, IFloatVector<T>
    {
        nint stride = _inner;
        T max = FloatColumns.MaxStrided<T>(y, _length, stride, c);
        ref float column = ref y[c];
        for (int k = 0; k < _length; k++)
        {
            T.Store(FloatMath.Exp(T.Load(ref column, k * stride) - max), ref column, k * stride);
        }

        T sum = FloatColumns.SumStrided<T>(y, _length, stride, c);
        for (int k = 0; k < _length; k++)
        {
            T.Store(T.Load(ref column, k * stride) / sum, ref column, k * stride);
        }
    }

    internal readonly struct ScaleOperator(float beta) : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T x) where T : struct, IFloatVector<T> => x * T.Create(beta);
    }

    internal readonly struct ExpOperator(float max) : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T z) where T : struct, IFloatVector<T> => FloatMath.Exp(z - T.Create(max));
    }

    private readonly struct DivideOperator(float sum) : IFloatUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<T>(T e) where T : struct, IFloatVector<T> => e / T.Create(sum);
    }
}
