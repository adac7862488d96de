using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Folds Relu and Clip (ReLU6 is Clip(0, 6)) into the output clamp of the operator that produces their input:
// FullyConnected, Conv2D, Add/Sub/Mul/Div, MatMul and the 2-D pools all end with clamp(y, Min, Max), so the
// activation costs nothing and its intermediate tensor disappears. Only when the producer's output has that single
// reader and is not a graph output; a clamp already present is intersected with the new one (when the ranges do
// not overlap the composition is a constant, and the nodes are left alone).

public static class FuseActivations
{
    public static void Run(Graph graph, Action<string> note)
    {
        var fused = new SortedDictionary<string, int>(StringComparer.Ordinal);
        Dictionary<Value, Node> producers = graph.Producers();
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        foreach (Node act in graph.Nodes.Where(n => n.Code is OpCode.Relu or OpCode.Clip).ToList())
        {
            Value x = act.Input(0);
            if (!producers.TryGetValue(x, out Node? producer) || graph.IsGraphOutput(x) || consumers[x].Count != 1)
            {
                continue;
            }

            ClampOptions add = act.Code == OpCode.Relu ? ClampOptions.Relu : (ClampOptions)act.Options!;
            IOpOptions? updated = producer.Options switch
            {
                ClampOptions c when producer.Code is OpCode.FullyConnected or OpCode.Add or OpCode.Sub or OpCode.Mul or OpCode.Div or OpCode.MatMul
                    => Intersect(c, add),
                Conv2DOptions c => Intersect(c.Clamp, add) is { } k ? c with { Clamp = k } : null,
                Pool2DOptions p => Intersect(p.Clamp, add) is { } k ? p with { Clamp = k } : null,
                _ => null,
            };
            if (updated is null)
            {
                continue;
            }

            producer.Lower(producer.Code!.Value, updated);
            producer.Outputs[producer.Outputs.IndexOf(x)] = act.Output(0);
            producers[act.Output(0)] = producer;
            graph.Nodes.Remove(act);
            string key = $"{act.Code} into {producer.Code}";
            fused[key] = fused.GetValueOrDefault(key) + 1;
        }

        foreach ((string what, int count) in fused)
        {
            note($"fused {count} {what}");
        }
    }

    private static ClampOptions? Intersect(ClampOptions a, ClampOptions b)
    {
        float min = MathF.Max(a.Min, b.Min), max = MathF.Min(a.Max, b.Max);
        return min <= max ? new ClampOptions(min, max) : null;
    }
}
