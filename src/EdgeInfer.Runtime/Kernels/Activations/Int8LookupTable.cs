using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// The shared body of the int8 activations: a 256-entry table built at Prepare, table[q + 128] =
/// saturate(zy + round_half_away(f(sx·(q − zx)) / sy)), evaluated in double with <see cref="DeterministicMath"/>
/// for exp and tanh, so x64 and arm64 build identical tables. Invoke looks it up (<see cref="ByteTable"/>).
/// </summary>
internal unsafe struct Int8LookupTable
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private int _count;
    private ByteTable _table;

    public static Int8LookupTable Create(ref KernelContext context, Func<double, double> function, int optionsSize = 0)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        (float sx, int zx) = QuantizedTensors.PerTensor(ref context, input, "input");
        (float sy, int zy) = QuantizedTensors.PerTensor(ref context, output, "output");
        context.RequireSameElements(input, output);
        context.Require(context.Options.Length == optionsSize, $"options are {context.Options.Length} bytes, expected {optionsSize}");
        sbyte[] table = context.AllocatePersistent<sbyte>(256);
        for (int q = -128; q < 128; q++)
        {
            double real = (double)sx * (q - zx);
            double y = function(real);
            table[q + 128] = double.IsNaN(y) ? (sbyte)zy : QuantizedMath.SaturateToInt8(zy + Math.Round(y / sy, MidpointRounding.AwayFromZero));
        }

        return new Int8LookupTable
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _count = (int)input.ElementCount,
            _table = ByteTable.Create(ref context, table),
        };
    }

    public readonly void Invoke() => _table.Apply((sbyte*)_input.Pointer, (sbyte*)_output.Pointer, _count);
}

/// <summary>Int8 ReLU by lookup table (input and output quantization may differ).</summary>
public struct ReluInt8Kernel : IKernel<ReluInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Relu;
    public static DataType InputType => DataType.Int8;
    public static ReluInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, static x => x > 0 ? x : 0) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 Clip to the options' real [Min, Max] by lookup table.</summary>
public struct ClipInt8Kernel : IKernel<ClipInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Clip;
    public static DataType InputType => DataType.Int8;

    public static ClipInt8Kernel Prepare(ref KernelContext context)
    {
        ClampOptions c = ClampOptions.Read(context.Options);
        context.Require(!(c.Min > c.Max), $"clip [{c.Min}, {c.Max}] is empty");
        double lo = c.Min, hi = c.Max;
        return new() { _lut = Int8LookupTable.Create(ref context, x => x < lo ? lo : x > hi ? hi : x, ClampOptions.Size) };
    }

    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 LeakyReLU (x ≥ 0 ? x : α·x) by lookup table.</summary>
public struct LeakyReluInt8Kernel : IKernel<LeakyReluInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.LeakyRelu;
    public static DataType InputType => DataType.Int8;

    public static LeakyReluInt8Kernel Prepare(ref KernelContext context)
    {
        double alpha = LeakyReluOptions.Read(context.Options).Alpha;
        return new() { _lut = Int8LookupTable.Create(ref context, x => x >= 0 ? x : alpha * x, LeakyReluOptions.Size) };
    }

    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 HardSigmoid max(0, min(1, α·x + β)) by lookup table.</summary>
public struct HardSigmoidInt8Kernel : IKernel<HardSigmoidInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.HardSigmoid;
    public static DataType InputType => DataType.Int8;

    public static HardSigmoidInt8Kernel Prepare(ref KernelContext context)
    {
        HardSigmoidOptions o = HardSigmoidOptions.Read(context.Options);
        double alpha = o.Alpha, beta = o.Beta;
        return new() { _lut = Int8LookupTable.Create(ref context, x => Math.Max(0, Math.Min(1, alpha * x + beta)), HardSigmoidOptions.Size) };
    }

    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 HardSwish x·min(max(x + 3, 0), 6)/6 by lookup table.</summary>
public struct HardSwishInt8Kernel : IKernel<HardSwishInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.HardSwish;
    public static DataType InputType => DataType.Int8;
    public static HardSwishInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, static x => x * Math.Min(Math.Max(x + 3, 0), 6) / 6) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 logistic 1/(1 + e^−x) by lookup table (deterministic exp).</summary>
public struct SigmoidInt8Kernel : IKernel<SigmoidInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Sigmoid;
    public static DataType InputType => DataType.Int8;
    public static SigmoidInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, DeterministicMath.Logistic) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 SiLU x·(1/(1 + e^−x)) by lookup table (deterministic exp).</summary>
public struct SwishInt8Kernel : IKernel<SwishInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Swish;
    public static DataType InputType => DataType.Int8;
    public static SwishInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, static x => x * DeterministicMath.Logistic(x)) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 tanh by lookup table (deterministic exp).</summary>
public struct TanhInt8Kernel : IKernel<TanhInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Tanh;
    public static DataType InputType => DataType.Int8;
    public static TanhInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, DeterministicMath.Tanh) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 |x| by lookup table.</summary>
public struct AbsInt8Kernel : IKernel<AbsInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Abs;
    public static DataType InputType => DataType.Int8;
    public static AbsInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, Math.Abs) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 √x by lookup table (IEEE double square root; a negative real input maps to the output zero point, as NaN does).</summary>
public struct SqrtInt8Kernel : IKernel<SqrtInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Sqrt;
    public static DataType InputType => DataType.Int8;
    public static SqrtInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, Math.Sqrt) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 eˣ by lookup table (deterministic exp).</summary>
public struct ExpInt8Kernel : IKernel<ExpInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Exp;
    public static DataType InputType => DataType.Int8;
    public static ExpInt8Kernel Prepare(ref KernelContext context) => new() { _lut = Int8LookupTable.Create(ref context, DeterministicMath.Exp) };
    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}

/// <summary>Int8 Scale · (x &gt; 0 ? x : Alpha · (eˣ − 1)) by lookup table (deterministic exp).</summary>
public struct EluInt8Kernel : IKernel<EluInt8Kernel>
{
    private Int8LookupTable _lut;
    public static OpCode OpCode => OpCode.Elu;
    public static DataType InputType => DataType.Int8;

    public static EluInt8Kernel Prepare(ref KernelContext context)
    {
        EluOptions o = EluOptions.Read(context.Options);
        context.Require(float.IsFinite(o.Alpha) && float.IsFinite(o.Scale), $"alpha {o.Alpha} and scale {o.Scale} must be finite");
        (double alpha, double scale) = (o.Alpha, o.Scale);
        return new() { _lut = Int8LookupTable.Create(ref context, x => scale * (x > 0 ? x : alpha * (DeterministicMath.Exp(x) - 1)), EluOptions.Size) };
    }

    public readonly void Invoke(Span<byte> scratch) => _lut.Invoke();
}
