using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// Layout-agnostic operators: they run in whichever layout their input was computed in. Binary operators broadcast
/// NumPy-style in the runtime, so a channels-last operation only needs its operands in channels-last form (constants
/// re-laid-out, lower-rank operands given leading 1s first). Neg is Mul by −1, Sum a chain of Adds, and PRelu with a
/// per-channel slope is Relu(x) + slope·(x − Relu(x)), which is exact in float32 (one of the two terms is 0).
/// </summary>
internal static class ElementwiseLowering
{
    /// <summary>Channels-last when an activation input was computed channels-last and the output has rank 3 or 4.</summary>
    public static bool ChooseChannelsLast(LoweringContext ctx, IEnumerable<Value?> inputs, Value output)
        => output.Shape!.Length is 3 or 4 && inputs.Any(v => v is { IsConstant: false } && ctx.IsNativeChannelsLast(v));

    /// <summary>The value a node writes: the ONNX value itself, or its new channels-last stand-in.</summary>
    public static Value Output(LoweringContext ctx, Value v, bool channelsLast)
    {
        if (channelsLast)
        {
            return ctx.ProduceChannelsLast(v);
        }

        ctx.ProducedOnnx(v);
        return v;
    }

    public static Value Operand(LoweringContext ctx, Value v, bool channelsLast, int rank)
        => channelsLast ? ctx.ChannelsLastOperand(v, rank) : ctx.Onnx(v);

    public static void Binary(LoweringContext ctx, Node n, OpCode code)
    {
        Value a = n.Input(0), b = n.Input(1), y = n.Output(0);
        bool cl = ChooseChannelsLast(ctx, [a, b], y);
        int rank = y.Shape!.Length;
        Value ai = Operand(ctx, a, cl, rank), bi = Operand(ctx, b, cl, rank);
        ctx.Emit(code, ClampOptions.None, [ai, bi], Output(ctx, y, cl));
    }

    public static void Sum(LoweringContext ctx, Node n)
    {
        Value y = n.Output(0);
        Value[] inputs = [.. n.Inputs.Select((v, i) => v ?? throw ctx.Invalid($"input {i} is missing"))];
        bool cl = ChooseChannelsLast(ctx, inputs, y);
        int rank = y.Shape!.Length;
        Value acc = Operand(ctx, inputs[0], cl, rank);
        if (inputs.Length == 1)
        {
            ctx.Emit(OpCode.Reshape, null, [acc], Output(ctx, y, cl));
            return;
        }

        int[] logical = inputs[0].Shape!;
        for (int i = 1; i < inputs.Length; i++)
        {
            logical = ShapeMath.Broadcast(logical, inputs[i].Shape!);
            int[] expanded = [.. Enumerable.Repeat(1, rank - logical.Length), .. logical];
            Value next = i == inputs.Length - 1 ? Output(ctx, y, cl)
                : ctx.NewValue($"{y.Name}_sum{i}", cl ? LoweringContext.ChannelsLastShape(expanded) : logical);
            ctx.Emit(OpCode.Add, ClampOptions.None, [acc, Operand(ctx, inputs[i], cl, rank)], next);
            acc = next;
        }
    }

    public static void Neg(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0), y = n.Output(0);
        bool cl = ChooseChannelsLast(ctx, [x], y);
        Value minusOne = ctx.Constant(n.Name + "_minus_one", [1], [-1f]);
        ctx.Emit(OpCode.Mul, ClampOptions.None, [Operand(ctx, x, cl, y.Shape!.Length), Operand(ctx, minusOne, cl, y.Shape.Length)], Output(ctx, y, cl));
    }

    public static void Unary(LoweringContext ctx, Node n, OpCode code, IOpOptions? options)
    {
        Value x = n.Input(0), y = n.Output(0);
        bool cl = ChooseChannelsLast(ctx, [x], y);
        ctx.Emit(code, options, [cl ? ctx.ChannelsLast(x) : ctx.Onnx(x)], Output(ctx, y, cl));
    }

    public static void Clip(LoweringContext ctx, Node n)
    {
        float min = n.OptionalInput(1) is { } lo ? Scalar(ctx, lo, "min") : float.NegativeInfinity;
        float max = n.OptionalInput(2) is { } hi ? Scalar(ctx, hi, "max") : float.PositiveInfinity;
        Unary(ctx, n, OpCode.Clip, new ClampOptions(min, max));
    }

    public static void PRelu(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0), slope = n.Input(1), y = n.Output(0);
        float[] s = ctx.RequireConstant(slope, "slope").ToFloatArray();
        if (s.Length == 1)
        {
            Unary(ctx, n, OpCode.LeakyRelu, new LeakyReluOptions(s[0]));
            return;
        }

        int[] xs = x.Shape!;
        int[] slopeShape = slope.Shape!;
        if (n.OpsetVersion < 7 && slopeShape.Length == 1 && xs.Length >= 2 && slopeShape[0] == xs[1])
        {
            // Before opset 7 a 1-D slope is per channel (axis 1), not NumPy-aligned to the last axis.
            slopeShape = [xs[1], .. Enumerable.Repeat(1, xs.Length - 2)];
        }

        try
        {
            if (!ShapeMath.Broadcast(xs, slopeShape).SequenceEqual(xs))
            {
                throw ctx.Invalid($"slope {ShapeMath.Text(slopeShape)} does not broadcast to the input {x.ShapeText}");
            }
        }
        catch (ArgumentException e)
        {
            throw ctx.Invalid(e.Message);
        }

        Value slopeValue = Value.Floats(ctx.Name(slope.Name + "_slope"), slopeShape, s);
        bool cl = ChooseChannelsLast(ctx, [x], y);
        int rank = xs.Length;
        Value xi = Operand(ctx, x, cl, rank);
        int[] physical = xi.Shape!;
        Value relu = ctx.NewValue(y.Name + "_pos", physical);
        Value negative = ctx.NewValue(y.Name + "_neg", physical);
        Value scaled = ctx.NewValue(y.Name + "_scaled", physical);
        ctx.Emit(OpCode.Relu, null, [xi], relu);
        ctx.Emit(OpCode.Sub, ClampOptions.None, [xi, relu], negative);
        ctx.Emit(OpCode.Mul, ClampOptions.None, [negative, Operand(ctx, slopeValue, cl, rank)], scaled);
        ctx.Emit(OpCode.Add, ClampOptions.None, [relu, scaled], Output(ctx, y, cl));
    }

    /// <summary>
    /// Softmax or LogSoftmax (<paramref name="op"/>) over one axis (opset ≥ 13), remapped in channels-last. Before
    /// opset 13 the input was coerced to 2-D [∏d&lt;axis, ∏d≥axis] and normalized over the second dimension: the same
    /// as one axis when axis is the last, otherwise Reshape → op → Reshape in the ONNX layout.
    /// </summary>
    public static void Softmax(LoweringContext ctx, Node n, OpCode op = OpCode.Softmax)
    {
        Value x = n.Input(0), y = n.Output(0);
        int rank = x.Shape!.Length;
        int axis;
        try
        {
            axis = ShapeMath.Axis(n.GetInt("axis", n.OpsetVersion >= 13 ? -1 : 1), rank);
        }
        catch (ArgumentException e)
        {
            throw ctx.Invalid(e.Message);
        }

        if (n.OpsetVersion >= 13 || axis == rank - 1)
        {
            bool cl = ChooseChannelsLast(ctx, [x], y);
            int physicalAxis = cl ? LoweringContext.ChannelsLastAxis(axis, rank) : axis;
            ctx.Emit(op, new SoftmaxOptions(physicalAxis, 1f), [cl ? ctx.ChannelsLast(x) : ctx.Onnx(x)], Output(ctx, y, cl));
            return;
        }

        int[] flat = ShapeMath.Flatten(x.Shape, axis);
        Value flatIn = ctx.NewValue(x.Name + "_2d", flat);
        Value flatOut = ctx.NewValue(y.Name + "_2d", flat);
        ctx.Emit(OpCode.Reshape, null, [ctx.Onnx(x)], flatIn, n.Name + "_flatten");
        ctx.Emit(op, new SoftmaxOptions(1, 1f), [flatIn], flatOut);
        ctx.Emit(OpCode.Reshape, null, [flatOut], Output(ctx, y, false));
    }

    private static float Scalar(LoweringContext ctx, Value v, string role)
    {
        float[] values = ctx.RequireConstant(v, role).ToFloatArray();
        return values.Length == 1 ? values[0] : throw ctx.Invalid($"{role} '{v.Name}' must be a scalar, has {values.Length} values");
    }
}
