using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// Operators that move data without arithmetic. Reshape, Flatten, Squeeze and Unsqueeze are one runtime Reshape (a
/// copy into the output's shape) over the ONNX layout; Transpose keeps its permutation; Concat stays channels-last
/// with a remapped axis when an input was computed channels-last. Pad in constant mode is a Concat with constant
/// blocks along each padded axis — exact for any value; reflect/edge/wrap modes and cropping (negative pads) have no
/// runtime operator. Tile is a Concat of the input with itself along each repeated axis.
/// </summary>
internal static class ShapeOpLowering
{
    public static void Copy(LoweringContext ctx, Node n)
    {
        Value y = n.Output(0);
        if (y.Type != DataType.Float32)
        {
            throw ctx.Unsupported($"{n.OpType} to {DataTypes.Name(y.Type)}");
        }

        ctx.Emit(OpCode.Reshape, null, [ctx.Onnx(n.Input(0))], y);
        ctx.ProducedOnnx(y);
    }

    public static void Transpose(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0), y = n.Output(0);
        int rank = x.Shape!.Length;
        int[] perm = n.GetInts("perm") is { } p ? ShapeMath.CheckPerm(p, rank) : ShapeMath.DefaultPerm(rank);
        if (rank > FormatConstants.MaxRank)
        {
            throw ctx.Unsupported($"a rank-{rank} transpose (the runtime handles up to {FormatConstants.MaxRank})");
        }

        ctx.Emit(OpCode.Transpose, new TransposeOptions(perm), [ctx.Onnx(x)], y);
        ctx.ProducedOnnx(y);
    }

    public static void Concat(LoweringContext ctx, Node n)
    {
        Value y = n.Output(0);
        Value[] inputs = [.. n.Inputs.OfType<Value>()];
        int rank = y.Shape!.Length;
        int axis = ShapeMath.Axis(n.GetInt("axis"), rank);
        bool cl = ElementwiseLowering.ChooseChannelsLast(ctx, inputs, y);
        Value[] operands = [.. inputs.Select(v => cl ? ctx.ChannelsLast(v) : ctx.Onnx(v))];
        int physicalAxis = cl ? LoweringContext.ChannelsLastAxis(axis, rank) : axis;
        ctx.Emit(OpCode.Concat, new ConcatOptions(physicalAxis), operands, ElementwiseLowering.Output(ctx, y, cl));
    }

    /// <summary>Slice with constant starts, ends, axes and (positive) steps: one Slice operator.</summary>
    public static void Slice(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0);
        long[] Ints(int i, string role) => ctx.RequireConstant(n.Input(i), role).ToInt64Array();
        long[]? Optional(int i, string role) => n.OptionalInput(i) is { } v ? ctx.RequireConstant(v, role).ToInt64Array() : null;
        (long[] start, long[] step, _) = ShapeMath.SliceBox(x.Shape!, Ints(1, "starts"), Ints(2, "ends"), Optional(3, "axes"), Optional(4, "steps"));
        EmitSlice(ctx, x, n.Output(0), start, step, null);
    }

    /// <summary>Split: one Slice per output, each taking its run of the axis.</summary>
    public static void Split(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0);
        int axis = ShapeMath.Axis(n.GetInt("axis", 0), x.Shape!.Length);
        long begin = 0;
        foreach (Value part in n.Outputs)
        {
            var start = new long[x.Shape.Length];
            start[axis] = begin;
            EmitSlice(ctx, x, part, start, [.. Enumerable.Repeat(1L, x.Shape.Length)], part.Name);
            begin += part.Shape![axis];
        }
    }

    /// <summary>
    /// Gather with constant indices from an activation (PyTorch's h[0], x[:, -1]): one Slice per index along the axis,
    /// joined by a Concat when there are several, then a Reshape to the indices' shape in place of the axis.
    /// </summary>
    public static void Gather(LoweringContext ctx, Node n)
    {
        Value x = ctx.Onnx(n.Input(0)), y = n.Output(0);
        int rank = x.Shape!.Length;
        int axis = ShapeMath.Axis(n.GetInt("axis", 0), rank);
        long[] indices = ctx.RequireConstant(n.Input(1), "indices").ToInt64Array();
        if (indices.Length == 0)
        {
            throw ctx.Unsupported("Gather with no indices");
        }

        var parts = new List<Value>();
        foreach (long index in indices)
        {
            var begin = new int[rank];
            begin[axis] = (int)(index < 0 ? index + x.Shape[axis] : index);
            int[] shape = [.. x.Shape];
            shape[axis] = 1;
            Value part = ctx.NewValue($"{n.Name}_at{begin[axis]}", shape);
            ctx.Emit(OpCode.Slice, new SliceOptions(begin, [.. Enumerable.Repeat(1, rank)]), [x], part);
            parts.Add(part);
        }

        Value gathered = parts[0];
        if (parts.Count > 1)
        {
            int[] shape = [.. x.Shape];
            shape[axis] = parts.Count;
            gathered = ctx.NewValue($"{n.Name}_joined", shape);
            ctx.Emit(OpCode.Concat, new ConcatOptions(axis), [.. parts], gathered);
        }

        ctx.Emit(OpCode.Reshape, null, [gathered], ElementwiseLowering.Output(ctx, y, false));
    }

    /// <summary>A Slice in the input's layout: channels-last when the input is, with its axes moved accordingly.</summary>
    private static void EmitSlice(LoweringContext ctx, Value x, Value y, long[] start, long[] step, string? name)
    {
        int rank = x.Shape!.Length;
        bool cl = ElementwiseLowering.ChooseChannelsLast(ctx, [x], y);
        Value input = cl ? ctx.ChannelsLast(x) : ctx.Onnx(x);
        int physical = input.Shape!.Length;
        var begin = new int[physical];
        int[] steps = [.. Enumerable.Repeat(1, physical)];
        for (int a = 0; a < rank; a++)
        {
            int p = cl ? LoweringContext.ChannelsLastAxis(a, rank) : a;
            begin[p] = (int)start[a];
            steps[p] = (int)step[a];
        }

        ctx.Emit(OpCode.Slice, new SliceOptions(begin, steps), [input], ElementwiseLowering.Output(ctx, y, cl), name);
    }

    public static void Pad(LoweringContext ctx, Node n)
    {
        string mode = n.GetString("mode") ?? "constant";
        if (mode != "constant")
        {
            throw ctx.Unsupported($"Pad mode '{mode}'");
        }

        Value x = n.Input(0), y = n.Output(0);
        int rank = x.Shape!.Length;
        long[] pads = ctx.RequireConstant(n.Input(1), "pads").ToInt64Array();
        float value = n.OptionalInput(2) is { } v ? ctx.RequireConstant(v, "pad value").ToFloatArray().FirstOrDefault() : 0f;
        int[] axes = n.OptionalInput(3) is { } a
            ? [.. ctx.RequireConstant(a, "axes").ToInt64Array().Select(i => ShapeMath.Axis(i, rank))]
            : [.. Enumerable.Range(0, rank)];
        if (pads.Any(p => p < 0))
        {
            throw ctx.Unsupported("negative pads (cropping)");
        }

        bool cl = ElementwiseLowering.ChooseChannelsLast(ctx, [x], y);
        Value current = cl ? ctx.ChannelsLast(x) : ctx.Onnx(x);
        var steps = new List<(int Axis, int Begin, int End)>();
        for (int i = 0; i < axes.Length; i++)
        {
            if (pads[i] > 0 || pads[i + axes.Length] > 0)
            {
                steps.Add((cl ? LoweringContext.ChannelsLastAxis(axes[i], rank) : axes[i], (int)pads[i], (int)pads[i + axes.Length]));
            }
        }

        Value output = ElementwiseLowering.Output(ctx, y, cl);
        if (steps.Count == 0)
        {
            ctx.Emit(OpCode.Reshape, null, [current], output);
            return;
        }

        for (int s = 0; s < steps.Count; s++)
        {
            (int axis, int begin, int end) = steps[s];
            int[] shape = [.. current.Shape!];
            var parts = new List<Value>();
            if (begin > 0)
            {
                parts.Add(Block(ctx, shape, axis, begin, value, $"{n.Name}_pad{axis}_begin"));
            }

            parts.Add(current);
            if (end > 0)
            {
                parts.Add(Block(ctx, shape, axis, end, value, $"{n.Name}_pad{axis}_end"));
            }

            shape[axis] += begin + end;
            Value next = s == steps.Count - 1 ? output : ctx.NewValue($"{y.Name}_pad{axis}", shape);
            ctx.Emit(OpCode.Concat, new ConcatOptions(axis), [.. parts], next);
            current = next;
        }
    }

    /// <summary>Tile repeats the tensor along each axis: a Concat of the same input r times per axis.</summary>
    public static void Tile(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0), y = n.Output(0);
        int rank = x.Shape!.Length;
        long[] repeats = ctx.RequireConstant(n.Input(1), "repeats").ToInt64Array();
        if (repeats.Length != rank || repeats.Any(r => r < 1))
        {
            throw ctx.Invalid($"repeats [{string.Join(",", repeats)}] do not fit rank {rank}");
        }

        bool cl = ElementwiseLowering.ChooseChannelsLast(ctx, [x], y);
        Value current = cl ? ctx.ChannelsLast(x) : ctx.Onnx(x);
        int[] axes = [.. Enumerable.Range(0, rank).Where(i => repeats[i] > 1)];
        Value output = ElementwiseLowering.Output(ctx, y, cl);
        if (axes.Length == 0)
        {
            ctx.Emit(OpCode.Reshape, null, [current], output);
            return;
        }

        for (int s = 0; s < axes.Length; s++)
        {
            int axis = cl ? LoweringContext.ChannelsLastAxis(axes[s], rank) : axes[s];
            int[] shape = [.. current.Shape!];
            shape[axis] *= (int)repeats[axes[s]];
            Value next = s == axes.Length - 1 ? output : ctx.NewValue($"{y.Name}_tile{axis}", shape);
            ctx.Emit(OpCode.Concat, new ConcatOptions(axis), [.. Enumerable.Repeat(current, (int)repeats[axes[s]])], next);
            current = next;
        }
    }

    private static Value Block(LoweringContext ctx, int[] shape, int axis, int size, float value, string name)
    {
        int[] blockShape = [.. shape];
        blockShape[axis] = size;
        return ctx.Constant(name, blockShape, Enumerable.Repeat(value, (int)ShapeMath.Count(blockShape)).ToArray());
    }
}
