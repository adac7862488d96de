using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Makes x · HardSigmoid(x) with α = 1/6, β = 1/2 one HardSwish: that product is ONNX's definition of HardSwish, and
// it is how PyTorch exports nn.Hardswish below opset 14 (MobileNetV3, EfficientNet-lite and the like), where ONNX
// has no HardSwish. In float it saves a pass over the tensor and the intermediate tensor; in int8 it turns a lookup
// table, a requantized intermediate and a Mul with its own requantization into one lookup table (MobileNetV3-small:
// 14 of its 28 Mul). Only when the gate has that single reader, is not a graph output, and the product does not
// broadcast. Float results move by rounding only: HardSwish computes x·(clamp(x + 3, 0, 6)·(1/6)), the pair
// x·clamp(x/6 + 1/2, 0, 1).

public static class FuseHardSwish
{
    public static void Run(Graph graph, Action<string> note)
    {
        Dictionary<Value, Node> producers = graph.Producers();
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        int fused = 0;
        foreach (Node mul in graph.Nodes.Where(n => n.Code == OpCode.Mul && n.Options is ClampOptions c && c == ClampOptions.None).ToList())
        {
            for (int gateSide = 0; gateSide < 2; gateSide++)
            {
                Value gate = mul.Input(gateSide), x = mul.Input(1 - gateSide);
                if (producers.TryGetValue(gate, out Node? hardSigmoid) && hardSigmoid.Code == OpCode.HardSigmoid
                    && ReferenceEquals(hardSigmoid.Input(0), x)
                    && hardSigmoid.Options is HardSigmoidOptions { Alpha: 1f / 6, Beta: 0.5f }
                    && consumers[gate].Count == 1 && !graph.IsGraphOutput(gate)
                    && x.Shape is { } shape && mul.Output(0).Shape is { } outShape && shape.AsSpan().SequenceEqual(outShape))
                {
                    mul.Inputs.Clear();
                    mul.Inputs.Add(x);
                    mul.Lower(OpCode.HardSwish, null);
                    graph.Nodes.Remove(hardSigmoid);
                    fused++;
                    break;
                }
            }
        }

        if (fused > 0)
        {
            note($"fused {fused} x·HardSigmoid(x) into HardSwish");
        }
    }
}
