using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// Pooling → MaxPool2D / AveragePool2D / GlobalAveragePool on channels-last activations (1-D as height 1).
/// ceil_mode needs no option: the runtime takes the output size from the output tensor and clips windows to the
/// input, which is what ceil_mode's extra window means. GlobalMaxPool is a MaxPool2D whose window is the whole
/// plane; ReduceMean over the spatial axes is a GlobalAveragePool (all of them) or an AveragePool2D (some).
/// </summary>
internal static class PoolLowering
{
    public static void Pool(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0);
        int rank = x.Shape!.Length;
        if (rank == 5)
        {
            throw ctx.Unsupported($"3-D {n.OpType}");
        }

        if (rank is not (3 or 4))
        {
            throw ctx.Invalid($"input {x.ShapeText} is not a 1-D or 2-D pooling input");
        }

        if (n.Outputs.Count > 1 && (ctx.Graph.IsGraphOutput(n.Output(1)) || ctx.Graph.Nodes.Any(m => m.Inputs.Contains(n.Output(1)))))
        {
            throw ctx.Unsupported("MaxPool's Indices output");
        }

        int[] kernel = [.. n.GetInts("kernel_shape")!.Select(k => (int)k)];
        SpatialGeometry g;
        try
        {
            g = SpatialGeometry.Resolve(n, x.Shape[2..], kernel, allowCeilMode: true);
        }
        catch (ArgumentException e)
        {
            throw ctx.Invalid(e.Message);
        }

        bool countIncludePad = n.OpType == "AveragePool" && n.GetInt("count_include_pad", 0) != 0;
        Pool2DOptions options = rank == 4
            ? new Pool2DOptions(g.Kernel[0], g.Kernel[1], g.Strides[0], g.Strides[1], g.Dilations[0], g.Dilations[1],
                g.PadBegin[0], g.PadBegin[1], g.PadEnd[0], g.PadEnd[1], countIncludePad, ClampOptions.None)
            : new Pool2DOptions(1, g.Kernel[0], 1, g.Strides[0], 1, g.Dilations[0], 0, g.PadBegin[0], 0, g.PadEnd[0], countIncludePad, ClampOptions.None);
        Value input = ctx.ChannelsLast(x);
        Value output = ctx.ProduceChannelsLast(n.Output(0));
        ctx.Emit(n.OpType == "MaxPool" ? OpCode.MaxPool2D : OpCode.AveragePool2D, options, [input], output);
    }

    public static void GlobalAverage(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0);
        RequireSpatial(ctx, x);
        ctx.Emit(OpCode.GlobalAveragePool, null, [ctx.ChannelsLast(x)], ctx.ProduceChannelsLast(n.Output(0)));
    }

    public static void GlobalMax(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0);
        RequireSpatial(ctx, x);
        int[] cl = LoweringContext.ChannelsLastShape(x.Shape!);
        var options = new Pool2DOptions(cl[1], cl[2], 1, 1, 1, 1, 0, 0, 0, 0, false, ClampOptions.None);
        ctx.Emit(OpCode.MaxPool2D, options, [ctx.ChannelsLast(x)], ctx.ProduceChannelsLast(n.Output(0)));
    }

    /// <summary>
    /// ReduceMean over spatial axes only: all of them is a GlobalAveragePool, a subset an AveragePool2D whose window
    /// spans the reduced axes. Other axes have no runtime operator.
    /// </summary>
    public static void ReduceMean(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0), y = n.Output(0);
        int rank = x.Shape!.Length;
        long[]? axes = n.OptionalInput(1) is { } a ? ctx.RequireConstant(a, "axes").ToInt64Array() : null;
        int[] reduced = axes is null ? [] : [.. axes.Select(v => ShapeMath.Axis(v, rank)).Distinct().Order()];
        if (rank is not (3 or 4) || reduced.Length == 0 || reduced.Any(r => r < 2))
        {
            throw ctx.Unsupported($"ReduceMean over axes [{string.Join(",", axes ?? [])}] of a rank-{rank} input (only spatial axes, as pooling)");
        }

        Value input = ctx.ChannelsLast(x);
        int[] cl = input.Shape!;
        bool all = reduced.Length == rank - 2;
        bool keepDims = n.GetInt("keepdims", 1) != 0;
        bool reduceH = rank == 4 && reduced.Contains(2);
        bool reduceW = reduced.Contains(rank - 1);
        int[] pooledShape = [cl[0], reduceH ? 1 : cl[1], reduceW ? 1 : cl[2], cl[3]];

        // The pooled tensor is the channels-last form of the result when the kept axes stay in place: always with
        // keepdims, and without it when only H goes ([N,C,W] is stored [N,1,W,C]). Otherwise reshape it.
        bool direct = keepDims || (rank == 4 && reduceH && !reduceW);
        Value target = direct ? ctx.ProduceChannelsLast(y) : ctx.NewValue(y.Name + "_pooled", pooledShape);
        if (all)
        {
            ctx.Emit(OpCode.GlobalAveragePool, null, [input], target);
        }
        else
        {
            var options = new Pool2DOptions(reduceH ? cl[1] : 1, reduceW ? cl[2] : 1, 1, 1, 1, 1, 0, 0, 0, 0, false, ClampOptions.None);
            ctx.Emit(OpCode.AveragePool2D, options, [input], target);
        }

        if (direct)
        {
            return;
        }

        if (y.Shape!.Length == 3)
        {
            // only W reduced: [N,H,1,C] holds [N,C,H]'s channels-last form [N,1,H,C]
            ctx.Emit(OpCode.Reshape, null, [target], ctx.ProduceChannelsLast(y));
            return;
        }

        // [N,1,1,C] has the memory order of the requested [N,C].
        ctx.Emit(OpCode.Reshape, null, [target], y);
        ctx.ProducedOnnx(y);
    }

    private static void RequireSpatial(LoweringContext ctx, Value x)
    {
        int rank = x.Shape!.Length;
        if (rank == 5)
        {
            throw ctx.Unsupported($"3-D {ctx.Current.OpType}");
        }

        if (rank is not (3 or 4))
        {
            throw ctx.Invalid($"input {x.ShapeText} is not a 1-D or 2-D pooling input");
        }
    }
}
