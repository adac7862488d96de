using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Folding;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// ONNX Conv (1-D and 2-D) → Conv2D on channels-last activations. Weights [M, C/g, KH, KW] become OHWI
/// [M, KH, KW, C/g]; a 1-D convolution is a 2-D one of height 1 (input [N,1,W,C], weights [M,1,K,C/g]). auto_pad
/// is resolved into explicit per-edge pads by <see cref="SpatialGeometry"/>. Groups pass through; depthwise is
/// groups == C.
/// </summary>
internal static class ConvLowering
{
    public static void Conv(LoweringContext ctx, Node n)
    {
        Value x = n.Input(0), w = n.Input(1);
        Value? b = n.OptionalInput(2);
        int rank = x.Shape!.Length;
        if (rank == 5)
        {
            throw ctx.Unsupported("3-D convolution");
        }

        if (rank is not (3 or 4))
        {
            throw ctx.Invalid($"input {x.ShapeText} is not a 1-D or 2-D convolution input");
        }

        ctx.RequireConstant(w, "weight");
        if (b is not null)
        {
            ctx.RequireConstant(b, "bias");
        }

        int[] ws = w.Shape!;
        SpatialGeometry g;
        try
        {
            g = SpatialGeometry.Resolve(n, x.Shape[2..], ws[2..], allowCeilMode: false);
        }
        catch (ArgumentException e)
        {
            throw ctx.Invalid(e.Message);
        }

        Conv2DOptions options = rank == 4
            ? new Conv2DOptions(g.Strides[0], g.Strides[1], g.Dilations[0], g.Dilations[1], g.PadBegin[0], g.PadBegin[1], g.PadEnd[0], g.PadEnd[1],
                (int)n.GetInt("group", 1), ClampOptions.None)
            : new Conv2DOptions(1, g.Strides[0], 1, g.Dilations[0], 0, g.PadBegin[0], 0, g.PadEnd[0], (int)n.GetInt("group", 1), ClampOptions.None);

        Value weights = ctx.Constant(w.Name + "_ohwi", LoweringContext.ChannelsLastConstant(HostTensor.Of(w)));
        Value? bias = b is null ? null : ctx.Constant(b.Name + "_bias", [ws[0]], b.Constant!.ToFloatArray());
        Value input = ctx.ChannelsLast(x);
        Value output = ctx.ProduceChannelsLast(n.Output(0));
        ctx.Emit(OpCode.Conv2D, options, [input, weights, bias], output);
    }
}
