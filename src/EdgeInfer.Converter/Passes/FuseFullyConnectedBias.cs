using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// PyTorch exports Linear on inputs of rank 3 or more as MatMul followed by Add(bias), and BatchNormalization folded
// into a MatMul leaves the same pair. When the FullyConnected has no bias yet, its output only feeds that Add, and
// the Add's other operand is a constant with one value per output unit, the constant becomes the FullyConnected's
// bias: the kernel adds it to each dot product exactly as the separate Add did, so results are bit-identical.

public static class FuseFullyConnectedBias
{
    public static void Run(Graph graph, Action<string> note)
    {
        int fused = 0;
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        foreach (Node fc in graph.Nodes.Where(n => n.Code == OpCode.FullyConnected).ToList())
        {
            Value y = fc.Output(0);
            if (fc.OptionalInput(2) is not null || graph.IsGraphOutput(y) || !consumers.TryGetValue(y, out List<Node>? readers)
                || readers.Count != 1 || readers[0].Code != OpCode.Add || !((ClampOptions)fc.Options!).IsNone)
            {
                continue;
            }

            Node add = readers[0];
            Value other = ReferenceEquals(add.Input(0), y) ? add.Input(1) : add.Input(0);
            int units = fc.Input(1).Shape![0];
            if (other.Constant is null || other.ElementCount != units || other.Shape!.Length == 0 || other.Shape[^1] != units
                || !add.Output(0).Shape!.SequenceEqual(y.Shape!) || ReferenceEquals(add.Input(0), add.Input(1)))
            {
                continue;
            }

            while (fc.Inputs.Count < 3)
            {
                fc.Inputs.Add(null);
            }

            fc.Inputs[2] = Value.Floats(graph.UniqueName(other.Name + "_bias"), [units], other.Constant.ToFloatArray());
            fc.Lower(OpCode.FullyConnected, add.Options);
            fc.Outputs[0] = add.Output(0);
            graph.Nodes.Remove(add);
            fused++;
        }

        if (fused > 0)
        {
            note($"fused {fused} bias Add into FullyConnected");
        }
    }
}
