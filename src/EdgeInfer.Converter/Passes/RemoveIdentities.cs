using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Removes nodes that compute nothing at inference: Identity, Dropout (inference semantics: output = input; a model
// that reads the mask output was exported for training and is refused), and a Cast between equal types. Readers
// are pointed at the input. A node that copies a graph input or constant straight to a graph output stays and is
// lowered to a copy, because a graph output must keep its name and live in the arena.

public static class RemoveIdentities
{
    public static void Run(Graph graph, Action<string> note)
    {
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (Node n in graph.Nodes.ToList())
        {
            bool isIdentity = n.OpType switch
            {
                "Identity" => true,
                "Dropout" => true,
                "Cast" => n.Input(0).Type == n.Output(0).Type,
                _ => false,
            };
            if (!isIdentity)
            {
                continue;
            }

            if (n.OpType == "Dropout" && n.Outputs.Count > 1 && (consumers.ContainsKey(n.Output(1)) || graph.IsGraphOutput(n.Output(1))))
            {
                throw OnnxOperators.UnsupportedForm(graph, n, "reading Dropout's mask output (a training-mode graph)");
            }

            if (graph.TryBypass(n, n.Input(0), n.Output(0)))
            {
                counts[n.OpType] = counts.GetValueOrDefault(n.OpType) + 1;
            }
        }

        if (counts.Count > 0)
        {
            note($"removed {string.Join(", ", counts.Select(kv => $"{kv.Value} {kv.Key}"))}");
        }
    }
}
