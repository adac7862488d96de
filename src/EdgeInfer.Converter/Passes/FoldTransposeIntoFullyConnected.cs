using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes;

// A CNN head flattens its last feature map for a Linear layer: in ONNX, Flatten(x[N,C,H,W]) → Gemm. After layout
// lowering the feature map is channels-last, so the graph reads Transpose(x_nhwc → NCHW) → Reshape → FullyConnected.
// The transpose only reorders each row's K inputs, and a dot product does not care about order if the weights are
// reordered the same way: W'[o, j] = W[o, π(j)], where π maps position j of the channels-last row to its position in
// the NCHW row. The Reshape then reads the channels-last tensor directly and the Transpose disappears.
// Applies when the Transpose keeps the row axes in place (the rows of the FullyConnected are a prefix of axes), and
// the Transpose and Reshape outputs have no other readers.
// Exact only where the order of the sum does not matter: float FullyConnected sums its K products as one sequential
// chain in row order (docs/kernels.md), so permuting the row permutes the rounding, and keeping the source model's
// NCHW order is what lets float outputs match ONNX Runtime's to the bit. Int8 sums are exact integers, so the int8
// quantizer runs this pass (QuantizationPipeline); the float pipeline keeps the Transpose (a copy of one feature map).

public static class FoldTransposeIntoFullyConnected
{
    public static void Run(Graph graph, Action<string> note)
    {
        int folded = 0;
        Dictionary<Value, Node> producers = graph.Producers();
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        foreach (Node fc in graph.Nodes.Where(n => n.Code == OpCode.FullyConnected).ToList())
        {
            Value input = fc.Input(0), w = fc.Input(1);
            if (w.Constant is null || !SoleReader(graph, consumers, input, fc)
                || !producers.TryGetValue(input, out Node? reshape) || reshape.Code != OpCode.Reshape
                || !SoleReader(graph, consumers, reshape.Input(0), reshape)
                || !producers.TryGetValue(reshape.Input(0), out Node? transpose) || transpose.Code != OpCode.Transpose)
            {
                continue;
            }

            Value x = transpose.Input(0);
            int[] t = transpose.Output(0).Shape!;
            int[] perm = ((TransposeOptions)transpose.Options!).Perm.ToArray();
            int units = w.Shape![0], depth = w.Shape[1];

            // Find the split of the transposed shape into rows · depth; the row axes must stay in place.
            int split = -1;
            for (int j = 0; j <= t.Length; j++)
            {
                if (ShapeMath.Count(t.AsSpan(j)) == depth)
                {
                    split = j;
                    break;
                }
            }

            if (split < 0 || Enumerable.Range(0, split).Any(i => perm[i] != i))
            {
                continue;
            }

            int[] trailingX = x.Shape![split..];
            int[] trailingPerm = [.. perm[split..].Select(p => p - split)];
            int[] map = ShapeMath.TransposeIndex(trailingX, trailingPerm); // map[position in NCHW row] = position in x's row
            float[] weights = w.Constant.ToFloatArray();
            var permuted = new float[weights.Length];
            for (int o = 0; o < units; o++)
            {
                for (int k = 0; k < depth; k++)
                {
                    permuted[o * depth + map[k]] = weights[o * depth + k];
                }
            }

            fc.Inputs[1] = Value.Floats(graph.UniqueName(w.Name + "_nhwc"), w.Shape, permuted);
            reshape.Inputs[0] = x;
            // The flattened row now holds the source tensor's values in another order: a new name, so that nothing
            // (per-layer comparison against the float model) takes it for the source model's tensor.
            input.Name = graph.UniqueName(input.Name + "_nhwc");
            folded++;
        }

        if (folded > 0)
        {
            graph.RemoveDeadNodes();
            note($"folded {folded} Transpose into FullyConnected weights");
        }
    }

    private static bool SoleReader(Graph graph, Dictionary<Value, List<Node>> consumers, Value v, Node reader)
        => !graph.IsGraphOutput(v) && consumers.TryGetValue(v, out List<Node>? list) && list.Count == 1 && list[0] == reader && !v.IsConstant;
}
