using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes;

// Merges a zero Pad in front of a Conv into the convolution's own padding (exporters write nn.ZeroPad2d + Conv2d and
// TensorFlow-style asymmetric "same" padding this way). Convolution padding is zeros, so the result is identical
// and the padded copy of the activation disappears. Only constant-mode pads of value 0 over the spatial axes, whose
// output only the Conv reads, and a Conv with explicit pads (auto_pad NOTSET) qualify.

public static class FoldPadIntoConv
{
    public static void Run(Graph graph, Action<string> note)
    {
        int count = 0;
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        Dictionary<Value, Node> producers = graph.Producers();
        foreach (Node conv in graph.Nodes.Where(n => n.OpType == "Conv").ToList())
        {
            Value x = conv.Input(0);
            if (!producers.TryGetValue(x, out Node? pad) || pad.OpType != "Pad" || consumers[x].Count != 1 || graph.IsGraphOutput(x)
                || (conv.GetString("auto_pad") ?? "NOTSET") is not ("NOTSET" or ""))
            {
                continue;
            }

            if (Spatial(pad) is not { } extra)
            {
                continue;
            }

            int n = x.Shape!.Length - 2;
            long[] pads = conv.GetInts("pads") ?? new long[2 * n];
            conv.Attributes["pads"] = new AttributeValue { Ints = [.. pads.Select((p, i) => p + extra[i])] };
            conv.Inputs[0] = pad.Input(0);
            graph.Nodes.Remove(pad);
            count++;
        }

        if (count > 0)
        {
            note($"folded {count} zero Pad into Conv padding");
        }
    }

    /// <summary>The pad's spatial begins then ends (Conv's pads layout), or null when it is not a plain spatial zero pad.</summary>
    private static long[]? Spatial(Node pad)
    {
        if ((pad.GetString("mode") ?? "constant") != "constant" || pad.Input(1).Constant is not { } padsData)
        {
            return null;
        }

        if (pad.OptionalInput(2) is { } value && (value.Constant is not { } v || v.ToFloatArray().Any(f => f != 0)))
        {
            return null;
        }

        int rank = pad.Input(0).Shape!.Length;
        long[] pads = padsData.ToInt64Array();
        int[] axes = pad.OptionalInput(3) is { } a
            ? a.Constant is { } ad ? [.. ad.ToInt64Array().Select(x => ShapeMath.Axis(x, rank))] : []
            : [.. Enumerable.Range(0, rank)];
        if (axes.Length == 0 || pads.Length != 2 * axes.Length || pads.Any(p => p < 0))
        {
            return null;
        }

        int n = rank - 2;
        var result = new long[2 * n];
        for (int i = 0; i < axes.Length; i++)
        {
            long begin = pads[i], end = pads[i + axes.Length];
            if (axes[i] < 2)
            {
                if (begin != 0 || end != 0)
                {
                    return null;
                }

                continue;
            }

            result[axes[i] - 2] = begin;
            result[axes[i] - 2 + n] = end;
        }

        return result;
    }
}
