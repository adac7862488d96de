namespace EdgeInfer.Converter.Ir;

/// <summary>
/// The converter's mutable model: nodes in execution order, graph inputs and outputs, and the source name that
/// error messages start with. Passes rewrite it in place; the emitter turns a fully lowered graph into a .eim.
/// </summary>
public sealed class Graph
{
    private int _uniqueCounter;

    public Graph(string name, string source)
    {
        Name = name;
        Source = source;
    }

    public string Name { get; set; }

    /// <summary>The file the graph came from, for error messages.</summary>
    public string Source { get; }
    public List<Node> Nodes { get; } = [];
    public List<Value> Inputs { get; } = [];
    public List<Value> Outputs { get; } = [];

    /// <summary>Free-form facts for the file's metadata (producer, opset, source hash).</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A deep copy: new nodes and values with the same names, shapes, types and quantization; constant data is shared
    /// (passes replace constants, they never edit their bytes).
    /// </summary>
    public Graph Clone()
    {
        var copy = new Graph(Name, Source) { _uniqueCounter = _uniqueCounter };
        var values = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        Value Map(Value v)
        {
            if (!values.TryGetValue(v, out Value? c))
            {
                values[v] = c = new Value(v.Name, v.Type, v.Shape?.ToArray(), v.Constant) { Quantization = v.Quantization };
            }

            return c;
        }

        copy.Inputs.AddRange(Inputs.Select(Map));
        foreach (Node n in Nodes)
        {
            var c = new Node(n.Name, n.OpType, n.Inputs.Select(v => v is null ? null : Map(v)), n.Outputs.Select(Map)) { OpsetVersion = n.OpsetVersion };
            foreach (var kv in n.Attributes)
            {
                c.Attributes[kv.Key] = kv.Value;
            }

            if (n.Code is OpCode code)
            {
                c.Lower(code, n.Options);
                c.OpType = n.OpType;
            }

            copy.Nodes.Add(c);
        }

        copy.Outputs.AddRange(Outputs.Select(Map));
        foreach (var kv in Metadata)
        {
            copy.Metadata[kv.Key] = kv.Value;
        }

        return copy;
    }

    /// <summary>A name no value or node in this graph uses yet, derived from <paramref name="stem"/>.</summary>
    public string UniqueName(string stem)
    {
        HashSet<string> used = [.. AllValues().Select(v => v.Name), .. Nodes.Select(n => n.Name)];
        string name = stem;
        while (used.Contains(name))
        {
            name = $"{stem}_{++_uniqueCounter}";
        }

        return name;
    }

    /// <summary>Every value reachable from nodes, inputs and outputs, each once.</summary>
    public IEnumerable<Value> AllValues()
    {
        var seen = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (Value v in Inputs.Concat(Nodes.SelectMany(n => n.Inputs.OfType<Value>().Concat(n.Outputs))).Concat(Outputs))
        {
            if (seen.Add(v))
            {
                yield return v;
            }
        }
    }

    /// <summary>Which node produces each value (graph inputs and constants have none).</summary>
    public Dictionary<Value, Node> Producers()
    {
        var map = new Dictionary<Value, Node>(ReferenceEqualityComparer.Instance);
        foreach (Node n in Nodes)
        {
            foreach (Value o in n.Outputs)
            {
                map[o] = n;
            }
        }

        return map;
    }

    /// <summary>Which nodes read each value, in node order.</summary>
    public Dictionary<Value, List<Node>> Consumers()
    {
        var map = new Dictionary<Value, List<Node>>(ReferenceEqualityComparer.Instance);
        foreach (Node n in Nodes)
        {
            foreach (Value? i in n.Inputs)
            {
                if (i is not null)
                {
                    if (!map.TryGetValue(i, out List<Node>? list))
                    {
                        map[i] = list = [];
                    }

                    if (!list.Contains(n))
                    {
                        list.Add(n);
                    }
                }
            }
        }

        return map;
    }

    /// <summary>Points every reader of <paramref name="from"/> (nodes and graph outputs) at <paramref name="to"/>.</summary>
    public void ReplaceUses(Value from, Value to)
    {
        foreach (Node n in Nodes)
        {
            for (int i = 0; i < n.Inputs.Count; i++)
            {
                if (ReferenceEquals(n.Inputs[i], from))
                {
                    n.Inputs[i] = to;
                }
            }
        }

        for (int i = 0; i < Outputs.Count; i++)
        {
            if (ReferenceEquals(Outputs[i], from))
            {
                Outputs[i] = to;
            }
        }
    }

    public bool IsGraphOutput(Value v) => Outputs.Any(o => ReferenceEquals(o, v));

    /// <summary>
    /// Removes <paramref name="node"/>, which copies <paramref name="input"/> to <paramref name="output"/> unchanged, and
    /// points its readers at the input. When the output is a graph output its name must survive, so the input's
    /// producer writes the output directly instead; that is impossible when the input is a graph input, a constant or
    /// itself a graph output, and then the node stays (false).
    /// </summary>
    public bool TryBypass(Node node, Value input, Value output)
    {
        if (IsGraphOutput(output))
        {
            Node? producer = Nodes.FirstOrDefault(n => n.Outputs.Any(o => ReferenceEquals(o, input)));
            if (producer is null || IsGraphOutput(input))
            {
                return false;
            }

            ReplaceUses(input, output);
            producer.Outputs[producer.Outputs.FindIndex(o => ReferenceEquals(o, input))] = output;
            output.Shape = input.Shape;
            output.Type = input.Type;
        }
        else
        {
            ReplaceUses(output, input);
        }

        Nodes.Remove(node);
        return true;
    }

    /// <summary>Removes nodes whose outputs nothing reads (and that are not graph outputs), repeatedly.</summary>
    public int RemoveDeadNodes()
    {
        int removed = 0;
        bool changed = true;
        while (changed)
        {
            changed = false;
            Dictionary<Value, List<Node>> consumers = Consumers();
            for (int i = Nodes.Count - 1; i >= 0; i--)
            {
                Node n = Nodes[i];
                if (n.Outputs.All(o => !consumers.ContainsKey(o) && !IsGraphOutput(o)))
                {
                    Nodes.RemoveAt(i);
                    removed++;
                    changed = true;
                }
            }
        }

        return removed;
    }

    /// <summary>Reorders nodes so every node follows the producers of its inputs; throws on a cycle.</summary>
    public void SortTopologically()
    {
        Dictionary<Value, Node> producers = Producers();
        var state = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        var order = new List<Node>(Nodes.Count);
        foreach (Node root in Nodes)
        {
            Visit(root);
        }

        Nodes.Clear();
        Nodes.AddRange(order);

        void Visit(Node root)
        {
            // Iterative depth-first search: deep graphs must not overflow the stack.
            var stack = new Stack<(Node Node, int Next)>();
            if (state.GetValueOrDefault(root) == 2)
            {
                return;
            }

            stack.Push((root, 0));
            state[root] = 1;
            while (stack.Count > 0)
            {
                (Node node, int next) = stack.Pop();
                if (next < node.Inputs.Count)
                {
                    stack.Push((node, next + 1));
                    if (node.Inputs[next] is { } input && producers.TryGetValue(input, out Node? p))
                    {
                        int s = state.GetValueOrDefault(p);
                        if (s == 1)
                        {
                            throw new ConversionException($"{Source}: the graph has a cycle through node '{p.Name}'");
                        }

                        if (s == 0)
                        {
                            state[p] = 1;
                            stack.Push((p, 0));
                        }
                    }

                    continue;
                }

                state[node] = 2;
                order.Add(node);
            }
        }
    }
}
