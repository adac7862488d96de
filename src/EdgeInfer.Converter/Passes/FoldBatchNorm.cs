using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes;

// Folds an inference BatchNormalization into the Conv, Gemm or MatMul that feeds it, so the network runs one
// operator instead of two. BN is y = x·s + t per channel (BatchNormMath). For a producer with constant weights whose
// output only BN reads (and which is not a graph output):
//   Conv:   W'[o,...] = W[o,...]·s[o],  b'[o] = b[o]·s[o] + t[o]
//   Gemm:   the output columns of op(B) scale by s, and the bias β·C becomes β·C·s + t (β set to 1)
//   MatMul: B[:,n] scales by s[n] (2-D output only, whose channel axis is the last), and an Add of t follows,
//           which lowering merges into the FullyConnected bias.
// A BatchNormalization that cannot be folded is left for DecomposeBatchNorm.

public static class FoldBatchNorm
{
    public static void Run(Graph graph, Action<string> note)
    {
        var folded = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (Node bn in graph.Nodes.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            Dictionary<Value, List<Node>> consumers = graph.Consumers();
            Dictionary<Value, Node> producers = graph.Producers();
            Value x = bn.Input(0);
            if (!producers.TryGetValue(x, out Node? producer) || graph.IsGraphOutput(x) || consumers[x].Count != 1
                || bn.Outputs.Skip(1).Any(o => consumers.ContainsKey(o) || graph.IsGraphOutput(o)))
            {
                continue;
            }

            if (bn.OpsetVersion < 9 && bn.GetInt("spatial", 1) == 0)
            {
                continue;
            }

            if (bn.Inputs.Skip(1).Any(v => v is null || !v.IsConstant) || bn.GetInt("training_mode", 0) != 0)
            {
                continue;
            }

            bool done = producer.OpType switch
            {
                "Conv" => IntoConv(graph, producer, bn),
                "Gemm" => IntoGemm(graph, producer, bn),
                "MatMul" => IntoMatMul(graph, producer, bn),
                _ => false,
            };
            if (done)
            {
                folded[producer.OpType] = folded.GetValueOrDefault(producer.OpType) + 1;
            }
        }

        foreach ((string op, int count) in folded)
        {
            note($"folded {count} BatchNormalization into {op}");
        }
    }

    private static bool IntoConv(Graph graph, Node conv, Node bn)
    {
        Value w = conv.Input(1);
        Value? b = conv.OptionalInput(2);
        if (!w.IsConstant || b is { IsConstant: false })
        {
            return false;
        }

        (float[] s, float[] t, _) = BatchNormMath.Affine(graph, bn);
        int outChannels = w.Shape![0];
        if (s.Length != outChannels)
        {
            return false;
        }

        float[] weights = w.Constant!.ToFloatArray();
        int per = weights.Length / outChannels;
        for (int o = 0; o < outChannels; o++)
        {
            for (int i = 0; i < per; i++)
            {
                weights[o * per + i] *= s[o];
            }
        }

        float[] bias = b?.Constant!.ToFloatArray() ?? new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            bias[o] = bias[o] * s[o] + t[o];
        }

        SetInput(conv, 1, Value.Floats(graph.UniqueName(w.Name + "_bn"), w.Shape, weights));
        SetInput(conv, 2, Value.Floats(graph.UniqueName((b?.Name ?? conv.Name + "_bias") + "_bn"), [outChannels], bias));
        Replace(graph, conv, bn);
        return true;
    }

    private static bool IntoGemm(Graph graph, Node gemm, Node bn)
    {
        Value bValue = gemm.Input(1);
        Value? c = gemm.OptionalInput(2);
        if (!bValue.IsConstant || c is { IsConstant: false } || bn.Input(0).Shape!.Length != 2)
        {
            return false;
        }

        (float[] s, float[] t, _) = BatchNormMath.Affine(graph, bn);
        int[] outShape = gemm.Output(0).Shape!;
        int m = outShape[0], n = outShape[1];
        if (s.Length != n)
        {
            return false;
        }

        bool transB = gemm.GetInt("transB", 0) != 0;
        float[] weights = bValue.Constant!.ToFloatArray();
        int k = weights.Length / n;
        for (int row = 0; row < (transB ? n : k); row++)
        {
            for (int col = 0; col < (transB ? k : n); col++)
            {
                weights[row * (transB ? k : n) + col] *= s[transB ? row : col];
            }
        }

        float beta = gemm.GetFloat("beta", 1f);
        int[] biasShape = c is null ? [n] : ShapeMath.Broadcast(c.Shape!, [n]);
        if (biasShape.Length == 2 && biasShape[0] != 1)
        {
            biasShape = [m, n];
        }

        int biasCount = (int)ShapeMath.Count(biasShape);
        float[] bias = new float[biasCount];
        if (c is not null)
        {
            float[] cv = c.Constant!.ToFloatArray();
            int[] map = ShapeMath.BroadcastIndex(c.Shape!, biasShape);
            for (int i = 0; i < biasCount; i++)
            {
                bias[i] = beta * cv[map[i]];
            }
        }

        for (int i = 0; i < biasCount; i++)
        {
            bias[i] = bias[i] * s[i % n] + t[i % n];
        }

        SetInput(gemm, 1, Value.Floats(graph.UniqueName(bValue.Name + "_bn"), bValue.Shape!, weights));
        SetInput(gemm, 2, Value.Floats(graph.UniqueName((c?.Name ?? gemm.Name + "_bias") + "_bn"), biasShape, bias));
        gemm.Attributes["beta"] = new AttributeValue { Float = 1f };
        Replace(graph, gemm, bn);
        return true;
    }

    private static bool IntoMatMul(Graph graph, Node matmul, Node bn)
    {
        Value bValue = matmul.Input(1);
        if (!bValue.IsConstant || bValue.Shape!.Length != 2 || matmul.Output(0).Shape!.Length != 2)
        {
            return false;
        }

        (float[] s, float[] t, _) = BatchNormMath.Affine(graph, bn);
        int n = bValue.Shape[1];
        if (s.Length != n)
        {
            return false;
        }

        float[] weights = bValue.Constant!.ToFloatArray();
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] *= s[i % n];
        }

        SetInput(matmul, 1, Value.Floats(graph.UniqueName(bValue.Name + "_bn"), bValue.Shape, weights));
        Value product = matmul.Output(0);
        Value shift = Value.Floats(graph.UniqueName(bn.Name + "_shift"), [n], t);
        var add = new Node(graph.UniqueName(bn.Name + "_add"), "Add", [product, shift], [bn.Output(0)]) { OpsetVersion = Math.Max(bn.OpsetVersion, 7) };
        graph.Nodes[graph.Nodes.IndexOf(bn)] = add;
        return true;
    }

    /// <summary>The producer now writes BN's output; BN goes.</summary>
    private static void Replace(Graph graph, Node producer, Node bn)
    {
        producer.Outputs[0] = bn.Output(0);
        graph.Nodes.Remove(bn);
    }

    private static void SetInput(Node n, int index, Value v)
    {
        while (n.Inputs.Count <= index)
        {
            n.Inputs.Add(null);
        }

        n.Inputs[index] = v;
    }
}
