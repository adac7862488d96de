using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Quantization;

/// <summary>
/// Weight-only int8: the weights of FullyConnected and Conv2D, and the recurrent weights R of the fused Lstm and Gru,
/// are stored as symmetric per-channel int8 (one scale per row: per output unit, per gate unit for R) behind a
/// Dequantize node. That node reads only a constant, so the emitter makes its output a derived tensor: the runtime
/// dequantizes once at load and every inference runs the float kernels. The file shrinks about 4×; activations and
/// accuracy stay float apart from the weights' rounding. No calibration needed.
/// </summary>
public static class WeightOnlyQuantizer
{
    public static int Quantize(Graph graph) => Quantize(graph, _ => true);

    /// <summary>
    /// Only the weights of the nodes <paramref name="which"/> selects; full int8 uses this for the recurrences it
    /// keeps in float (named in --keep-float), which then run the float product on int8-stored weights.
    /// </summary>
    public static int Quantize(Graph graph, Func<Node, bool> which) => Quantize(graph, which, dequantize: true);

    /// <summary>
    /// Full int8's recurrences: R of each fused Lstm/Gru that <paramref name="which"/> selects becomes an int8
    /// constant with one scale per row that the node reads itself, with no Dequantize, so the runtime runs the hybrid
    /// product (int8 R times the hidden state quantized per step) instead of a float one on dequantized R.
    /// </summary>
    public static int QuantizeRecurrencesForHybridProduct(Graph graph, Func<Node, bool> which)
        => Quantize(graph, n => n.Code is OpCode.Lstm or OpCode.Gru && which(n), dequantize: false);

    private static int Quantize(Graph graph, Func<Node, bool> which, bool dequantize)
    {
        int count = 0;
        var rewritten = new List<Node>(graph.Nodes.Count);
        // One int8 copy (and one Dequantize) per weight tensor, however many nodes read it (an unrolled recurrence
        // reads its recurrent weights once per step).
        var restoredOf = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        foreach (Node node in graph.Nodes)
        {
            int weightInput = !which(node) ? -1 : node.Code switch
            {
                OpCode.FullyConnected or OpCode.Conv2D => 1,
                OpCode.Lstm or OpCode.Gru => 1, // R [gates·H, H]; the GRU's candidate bias (input 2) is H floats, kept
                _ => -1,
            };
            if (weightInput >= 0 && node.OptionalInput(weightInput) is { IsConstant: true, Type: DataType.Float32 } shared && restoredOf.TryGetValue(shared, out Value? done))
            {
                node.Inputs[weightInput] = done;
            }
            else if (weightInput >= 0 && node.OptionalInput(weightInput) is { IsConstant: true, Type: DataType.Float32 } w && w.ElementCount >= 16)
            {
                (sbyte[] q, float[] scales) = QuantParams.SymmetricPerChannel(w.Constant!.Floats, w.Shape![0]);
                var stored = new Value(graph.UniqueName(w.Name + "_int8"), DataType.Int8, w.Shape, TensorData.FromInt8s(q))
                {
                    Quantization = new QuantizationInfo(scales, new int[scales.Length], 0),
                };
                Value restored = stored;
                if (dequantize)
                {
                    restored = new Value(graph.UniqueName(w.Name), DataType.Float32, w.Shape);
                    rewritten.Add(new Node(graph.UniqueName(w.Name + "_dequantize"), "Dequantize", [stored], [restored]).Lower(OpCode.Dequantize, null));
                }

                node.Inputs[weightInput] = restored;
                restoredOf[w] = restored;
                count++;
            }

            rewritten.Add(node);
        }

        graph.Nodes.Clear();
        graph.Nodes.AddRange(rewritten);
        return count;
    }
}
