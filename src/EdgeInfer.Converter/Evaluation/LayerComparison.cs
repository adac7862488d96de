using EdgeInfer.Runtime;

namespace EdgeInfer.Converter.Evaluation;

/// <summary>One layer's agreement between a reference (float) model and a candidate (int8) model.</summary>
/// <param name="Node">The candidate's node name.</param>
/// <param name="Tensor">The output tensor both models share by name.</param>
/// <param name="SqnrDb">10·log10(Σ ref² / Σ (ref − candidate)²) over all compared samples; +∞ when identical.</param>
/// <param name="InputSqnrDb">The same for the layer's activation input (+∞ for the graph input): the difference is
/// what this layer itself lost.</param>
public sealed record LayerSqnr(string Node, string Op, string Tensor, double SqnrDb, double InputSqnrDb)
{
    public double LossDb => double.IsPositiveInfinity(InputSqnrDb) ? (double.IsPositiveInfinity(SqnrDb) ? 0 : 100 - Math.Min(SqnrDb, 100)) : InputSqnrDb - SqnrDb;
}

/// <summary>
/// Per-layer signal-to-quantization-noise ratio: runs both models on the same samples, taps every node's output
/// (dequantized when int8) and compares tensors with the same name. Matches by name work because quantization keeps
/// activation names.
/// </summary>
public static class LayerComparison
{
    public static IReadOnlyList<LayerSqnr> Compare(Model reference, Model candidate, IReadOnlyList<float[]> samples)
    {
        var refTap = new Tap();
        var candTap = new Tap();
        var refInterpreter = new Interpreter(reference);
        var candInterpreter = new Interpreter(candidate);
        // An int8 graph output is renamed (its float Dequantize output keeps the user's name): compare it under that name.
        var alias = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (NodeInfo n in candidate.Graph.Nodes.Where(n => n.OpCode == OpCode.Dequantize))
        {
            alias[candidate.Graph.Tensors[n.Inputs[0]].Name] = candidate.Graph.Tensors[n.Outputs[0]].Name;
        }

        var signal = new Dictionary<string, double>(StringComparer.Ordinal);
        var noise = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (float[] sample in samples)
        {
            refTap.Values.Clear();
            candTap.Values.Clear();
            refInterpreter.Input(0).WriteFloats(sample);
            candInterpreter.Input(0).WriteFloats(sample);
            refInterpreter.Invoke(refTap);
            candInterpreter.Invoke(candTap);
            foreach ((string candName, float[] c) in candTap.Values)
            {
                string name = candName;
                if (!refTap.Values.ContainsKey(name) && alias.TryGetValue(name, out string? renamed))
                {
                    name = renamed;
                }

                if (refTap.Values.TryGetValue(name, out float[]? r) && r.Length == c.Length)
                {
                    double s = 0, e = 0;
                    for (int i = 0; i < r.Length; i++)
                    {
                        s += (double)r[i] * r[i];
                        double d = (double)r[i] - c[i];
                        e += d * d;
                    }

                    signal[name] = signal.GetValueOrDefault(name) + s;
                    noise[name] = noise.GetValueOrDefault(name) + e;
                }
            }
        }

        double Sqnr(string tensor) => !noise.TryGetValue(tensor, out double e) ? double.PositiveInfinity
            : e <= 0 ? double.PositiveInfinity : 10 * Math.Log10(Math.Max(signal[tensor], 1e-300) / e);

        var result = new List<LayerSqnr>();
        var graph = candidate.Graph;
        foreach (NodeInfo node in graph.Nodes)
        {
            if (node.OpCode is OpCode.Quantize or OpCode.Dequantize)
            {
                continue;
            }

            string output = graph.Tensors[node.Outputs[0]].Name;
            if (!signal.ContainsKey(output) && alias.TryGetValue(output, out string? renamed))
            {
                output = renamed;
            }

            if (!signal.ContainsKey(output))
            {
                continue;
            }

            // The layer's input as the reference model names it: follow a Quantize or Dequantize back to its source.
            string input = InputName(graph, node);
            if (!signal.ContainsKey(input) && alias.TryGetValue(input, out string? renamedInput))
            {
                input = renamedInput;
            }

            result.Add(new LayerSqnr(node.Name, node.OpCode.ToString(), output, Sqnr(output), signal.ContainsKey(input) ? Sqnr(input) : double.PositiveInfinity));
        }

        return result;
    }

    /// <summary>
    /// A Quantize's input is the float tensor itself; a Dequantize's is the int8 tensor, which keeps the float
    /// tensor's name (a renamed graph output's is mapped as outputs are). So a float layer reading int8 results (a
    /// kept layer, or one without an int8 kernel such as a fused recurrence) is measured against its real input
    /// instead of counting as a layer with an exact input, which made its whole output noise look like its own loss.
    /// </summary>
    private static string InputName(ModelGraph graph, NodeInfo node)
    {
        int t = node.Inputs[0];
        foreach (NodeInfo producer in graph.Nodes)
        {
            if (producer.Outputs.Contains(t) && producer.OpCode is OpCode.Quantize or OpCode.Dequantize)
            {
                return graph.Tensors[producer.Inputs[0]].Name;
            }
        }

        return graph.Tensors[t].Name;
    }

    private sealed class Tap : INodeObserver
    {
        public Dictionary<string, float[]> Values { get; } = new(StringComparer.Ordinal);

        public void OnNodeInvoked(Interpreter interpreter, NodeInfo node)
        {
            foreach (int o in node.Outputs)
            {
                TensorView v = interpreter.Tensor(o);
                if (v.DataType is DataType.Float32 or DataType.Int8 && (v.DataType == DataType.Float32 || v.Quantization is not null))
                {
                    Values[v.Name] = v.ToFloatArray();
                }
            }
        }
    }
}
