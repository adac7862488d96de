using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Makes x · g(x) one operator where g is a gate of x whose product has a name of its own:
//   x · HardSigmoid(x) with α = 1/6, β = 1/2 → HardSwish (ONNX's definition of it; how PyTorch exports
//     nn.Hardswish below opset 14, where ONNX has none: MobileNetV3, EfficientNet-lite);
//   x · Sigmoid(x) → Swish (SiLU: EfficientNet, YOLOv5/v8; ONNX has no operator for it before opset 22's Swish).
// In float it saves a pass over the tensor and the intermediate tensor (Swish gives the pair's bits exactly;
// HardSwish computes x·(clamp(x + 3, 0, 6)·(1/6)), the pair x·clamp(x/6 + 1/2, 0, 1): rounding moves). In int8 a
// lookup table, a requantized intermediate and a Mul with its own requantization become one lookup table:
// EfficientNet-B0 has 65 such pairs, MobileNetV3-small 19. Only when the gate has that single reader and is not a
// graph output.

public static class FuseSelfGating
{
    public static void Run(Graph graph, Action<string> note)
    {
        Dictionary<Value, Node> producers = graph.Producers();
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        var fused = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (Node mul in graph.Nodes.Where(n => n.Code == OpCode.Mul && n.Options is ClampOptions c && c == ClampOptions.None).ToList())
        {
            for (int gateSide = 0; gateSide < 2; gateSide++)
            {
                Value gate = mul.Input(gateSide), x = mul.Input(1 - gateSide);
                if (!producers.TryGetValue(gate, out Node? g) || !ReferenceEquals(g.OptionalInput(0), x)
                    || consumers[gate].Count != 1 || graph.IsGraphOutput(gate))
                {
                    continue;
                }

                OpCode? fusedCode = g.Code switch
                {
                    OpCode.HardSigmoid when g.Options is HardSigmoidOptions { Alpha: 1f / 6, Beta: 0.5f } => OpCode.HardSwish,
                    OpCode.Sigmoid => OpCode.Swish,
                    _ => null,
                };
                if (fusedCode is not { } code)
                {
                    continue;
                }

                mul.Inputs.Clear();
                mul.Inputs.Add(x);
                mul.Lower(code, null);
                graph.Nodes.Remove(g);
                string key = $"x·{g.Code}(x) into {code}";
                fused[key] = fused.GetValueOrDefault(key) + 1;
                break;
            }
        }

        foreach ((string what, int count) in fused)
        {
            note($"fused {count} {what}");
        }
    }
}
