using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Planning;

namespace EdgeInfer.Converter.Emit;

/// <summary>What the emitter produced: the file and the figures a user asks about first.</summary>
public sealed record EmitResult(byte[] File, long ArenaBytes, long ConstantBytes, int TensorCount, int NodeCount);

/// <summary>
/// Turns a fully lowered graph into .eim bytes: numbers the tensors, plans the arena from the activations'
/// lifetimes (<see cref="ArenaPlanner"/>), and writes constants, tensors, nodes and metadata with
/// <see cref="ModelWriter"/>. Graph inputs stay intact for the whole invocation, graph outputs until its end.
/// </summary>
public static class ModelEmitter
{
    /// <param name="graph">The lowered graph.</param>
    /// <param name="sparseStorage">Store the weights that qualify block-sparse (<see cref="SparseStorage"/>); false
    /// writes every constant dense (tests compare the two).</param>
    public static EmitResult Emit(Graph graph, bool sparseStorage = true)
    {
        EnsureOutputsAreProduced(graph);
        foreach (Node n in graph.Nodes)
        {
            if (!n.IsLowered)
            {
                throw ConversionException.ForNode(graph.Source, n.Name, n.OpType, "was not lowered to an EdgeInfer operator (internal error)");
            }
        }

        // Number tensors: graph inputs first, then in node order, constants as first read.
        var index = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
        var ordered = new List<Value>();
        void Number(Value v)
        {
            if (!index.ContainsKey(v))
            {
                if (v.Shape is null)
                {
                    throw new ConversionException($"{graph.Source}: tensor '{v.Name}' has no known shape (internal error)");
                }

                index[v] = ordered.Count;
                ordered.Add(v);
            }
        }

        graph.Inputs.ForEach(Number);
        foreach (Node n in graph.Nodes)
        {
            n.Inputs.OfType<Value>().ToList().ForEach(Number);
            n.Outputs.ForEach(Number);
        }

        // A node that reads only constants (one the folding passes chose to keep, e.g. dequantizing int8 weights)
        // runs once at load time: its outputs are derived tensors, outside the arena.
        var derived = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (Node n in graph.Nodes)
        {
            if (n.Inputs.All(v => v is null || v.IsConstant || derived.Contains(v)) && !n.Outputs.Any(graph.IsGraphOutput))
            {
                n.Outputs.ForEach(o => derived.Add(o));
            }
        }

        // Lifetimes in steps: graph inputs live from step 0, node i runs at step i + 1, outputs live to the end.
        int end = graph.Nodes.Count + 1;
        var arenaValues = ordered.Where(v => !v.IsConstant && !derived.Contains(v)).ToList();
        var first = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
        var last = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
        foreach (Value v in arenaValues)
        {
            first[v] = int.MaxValue;
            last[v] = -1;
        }
        foreach (Value v in graph.Inputs)
        {
            first[v] = 0;
            last[v] = end;
        }

        for (int s = 0; s < graph.Nodes.Count; s++)
        {
            Node n = graph.Nodes[s];
            foreach (Value v in n.Inputs.OfType<Value>().Where(v => !v.IsConstant && !derived.Contains(v)))
            {
                last[v] = Math.Max(last[v], s + 1);
            }

            foreach (Value v in n.Outputs.Where(v => !derived.Contains(v)))
            {
                first[v] = Math.Min(first[v], s + 1);
                last[v] = Math.Max(last[v], s + 1);
            }
        }

        foreach (Value v in graph.Outputs)
        {
            last[v] = end;
        }

        // A Reshape's output is a view of its input: the two share one buffer, alive for the union of their
        // lifetimes, and the kernel sees equal pointers and copies nothing (the reader accepts exactly this sharing).
        var viewOf = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        Value Root(Value v) => viewOf.TryGetValue(v, out Value? r) ? r : v;
        foreach (Node n in graph.Nodes)
        {
            if (n.Code == OpCode.Reshape && n.Inputs.Count >= 1 && n.Inputs[0] is Value source && first.ContainsKey(source)
                && n.Outputs.Count == 1 && first.ContainsKey(n.Outputs[0]) && Bytes(source) == Bytes(n.Outputs[0]))
            {
                Value root = Root(source);
                viewOf[n.Outputs[0]] = root;
                first[root] = Math.Min(first[root], first[n.Outputs[0]]);
                last[root] = Math.Max(last[root], last[n.Outputs[0]]);
            }
        }

        var planned = arenaValues.Where(v => !viewOf.ContainsKey(v)).ToList();
        var buffers = planned.Select(v => new PlannedBuffer(Bytes(v), first[v], last[v])).ToList();
        ArenaPlan plan = ArenaPlanner.Plan(buffers);
        var offsets = new Dictionary<Value, long>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < planned.Count; i++)
        {
            offsets[planned[i]] = plan.Offsets[i];
        }

        foreach ((Value view, Value root) in viewOf)
        {
            offsets[view] = offsets[root];
        }

        var writer = new ModelWriter(graph.Name) { ArenaBytes = plan.ArenaBytes };
        Dictionary<Value, List<Node>> consumers = graph.Consumers();
        long constantBytes = 0;
        foreach (Value v in ordered)
        {
            (SparseLayout Layout, byte[] Data)? sparse = v.IsConstant && sparseStorage ? SparseStorage.Choose(v, consumers.GetValueOrDefault(v)) : null;
            int at = sparse is { } s ? writer.AddSparseConstant(v.Name, v.Type, v.Shape, s.Data, s.Layout, v.Quantization)
                : v.IsConstant ? writer.AddConstant(v.Name, v.Type, v.Shape, v.Constant!.Bytes, v.Quantization)
                : derived.Contains(v) ? writer.AddDerivedTensor(v.Name, v.Type, v.Shape, v.Quantization)
                : writer.AddArenaTensor(v.Name, v.Type, v.Shape, offsets[v], v.Quantization);
            constantBytes += sparse is { } stored ? stored.Layout.ByteLength(DataTypes.SizeOf(v.Type)) : v.IsConstant ? v.Constant!.Bytes.Length : 0;
            if (at != index[v])
            {
                throw new InvalidOperationException("tensor numbering diverged from the writer's");
            }
        }

        foreach (Node n in graph.Nodes)
        {
            int[] ins = [.. n.Inputs.Select(v => v is null ? -1 : index[v])];
            int[] outs = [.. n.Outputs.Select(v => index[v])];
            writer.AddNode(n.Code!.Value, n.Name, ins, outs, n.Options);
        }

        graph.Inputs.ForEach(v => writer.AddInput(index[v]));
        graph.Outputs.ForEach(v => writer.AddOutput(index[v]));
        foreach ((string key, string value) in graph.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            writer.AddMetadata(key, value);
        }

        return new EmitResult(writer.ToArray(), plan.ArenaBytes, constantBytes, ordered.Count, graph.Nodes.Count);
    }

    /// <summary>
    /// A graph output must be written by a node: one that is a constant or a graph input gets a copy (Reshape),
    /// so the runtime's outputs always live in the arena.
    /// </summary>
    private static void EnsureOutputsAreProduced(Graph graph)
    {
        HashSet<Value> produced = [.. graph.Nodes.SelectMany(n => n.Outputs)];
        for (int i = 0; i < graph.Outputs.Count; i++)
        {
            Value v = graph.Outputs[i];
            if (!produced.Contains(v) || graph.Outputs.Take(i).Contains(v))
            {
                var copy = new Value(graph.UniqueName(v.Name + "_copy"), v.Type, v.Shape) { Quantization = v.Quantization };
                graph.Nodes.Add(new Node(graph.UniqueName(v.Name + "_output"), "Reshape", [v], [copy]).Lower(OpCode.Reshape, null));
                graph.Outputs[i] = copy;
                produced.Add(copy);
            }
        }
    }

    private static long Bytes(Value v) => v.ElementCount * DataTypes.SizeOf(v.Type);
}
