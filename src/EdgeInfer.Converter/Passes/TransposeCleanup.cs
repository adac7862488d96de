using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes;

// Removes the data movement that layout lowering leaves behind, until nothing changes:
//   Transpose(Transpose(x, p), q)   → Transpose(x, p∘q)         (output axis i takes input axis p[q[i]])
//   Transpose with identity perm    → removed
//   Transpose moving only 1-sized axes (the other axes keep their order) → Reshape, the cheaper copy
//   Reshape(Reshape(x))             → Reshape(x)                 (a reshape depends only on the element count)
//   Reshape to the same shape       → removed
//   A channel shuffle in NCHW of a channels-last x: Reshape([N,C,H,W] ← Transpose([0,2,1,3,4],
//     Reshape([N,g,C/g,H,W], Transpose(x, [0,3,1,2])))) → Transpose(Reshape(Transpose([0,1,2,4,3],
//     Reshape([N,H,W,g,C/g], x))), [0,3,1,2]): the shuffle moves each pixel's channels only, so in channels-last
//     it swaps two small inner axes, and the layout Transposes move out to where they cancel (ShuffleNet)
//   Slice(Transpose(x, p))          → Transpose(Slice'(x), p)   when only Slices read the Transpose: each Slice then
//                                     moves less data, and a Transpose after it can cancel with the next one (the
//                                     channel split of a channels-last tensor read in the ONNX layout)
// Every runtime Transpose and Reshape is a full copy of its tensor, so each rule saves one pass over memory. Nodes
// whose outputs nobody reads any more are dropped at the end.

public static class TransposeCleanup
{
    public static void Run(Graph graph, Action<string> note)
    {
        int before = Count(graph);
        bool changed = true;
        while (changed)
        {
            changed = false;
            Dictionary<Value, Node> producers = graph.Producers();
            foreach (Node n in graph.Nodes.ToList())
            {
                if (!graph.Nodes.Contains(n))
                {
                    continue;
                }

                if (n.Code == OpCode.Transpose)
                {
                    changed |= SimplifyTranspose(graph, n, producers);
                }
                else if (n.Code == OpCode.Reshape)
                {
                    changed |= SimplifyReshape(graph, n, producers) || ChannelShuffle(graph, n, producers);
                }
                else if (n.Code == OpCode.Slice)
                {
                    changed |= SliceBeforeTranspose(graph, n, producers);
                }

                if (changed)
                {
                    break; // producers changed: start over with a fresh map
                }
            }

            graph.RemoveDeadNodes();
        }

        int after = Count(graph);
        if (after != before)
        {
            note($"transpose cleanup: {before} → {after} Transpose/Reshape nodes");
        }
    }

    private static bool SimplifyTranspose(Graph graph, Node n, Dictionary<Value, Node> producers)
    {
        int[] perm = ((TransposeOptions)n.Options!).Perm.ToArray();
        if (producers.TryGetValue(n.Input(0), out Node? inner) && inner.Code == OpCode.Transpose)
        {
            int[] innerPerm = ((TransposeOptions)inner.Options!).Perm.ToArray();
            int[] composed = [.. perm.Select(q => innerPerm[q])];
            n.Inputs[0] = inner.Input(0);
            n.Lower(OpCode.Transpose, new TransposeOptions(composed));
            return true;
        }

        if (ShapeMath.IsIdentity(perm))
        {
            if (graph.TryBypass(n, n.Input(0), n.Output(0)))
            {
                return true;
            }

            n.Lower(OpCode.Reshape, null);
            return true;
        }

        int[] shape = n.Input(0).Shape!;
        int[] moved = [.. perm.Where(p => shape[p] != 1)];
        if (moved.Zip(moved.Skip(1)).All(pair => pair.First < pair.Second))
        {
            n.Lower(OpCode.Reshape, null);
            return true;
        }

        return false;
    }

    private static bool SimplifyReshape(Graph graph, Node n, Dictionary<Value, Node> producers)
    {
        if (producers.TryGetValue(n.Input(0), out Node? inner) && inner.Code == OpCode.Reshape)
        {
            n.Inputs[0] = inner.Input(0);
            return true;
        }

        if (n.Input(0).Shape!.SequenceEqual(n.Output(0).Shape!) && !n.Input(0).IsConstant)
        {
            return graph.TryBypass(n, n.Input(0), n.Output(0));
        }

        return false;
    }

    /// <summary>The channel shuffle rule above, at its last Reshape.</summary>
    private static bool ChannelShuffle(Graph graph, Node merge, Dictionary<Value, Node> producers)
    {
        if (!Producer(graph, merge.Input(0), producers, OpCode.Transpose, [0, 2, 1, 3, 4], out Node? swap)
            || !Producer(graph, swap.Input(0), producers, OpCode.Reshape, null, out Node? split)
            || !Producer(graph, split.Input(0), producers, OpCode.Transpose, [0, 3, 1, 2], out Node? toNchw))
        {
            return false;
        }

        Value x = toNchw.Input(0);
        int[] xs = x.Shape!, groups = split.Output(0).Shape!, merged = merge.Output(0).Shape!;
        if (xs.Length != 4 || groups.Length != 5 || !merged.SequenceEqual(toNchw.Output(0).Shape!)
            || groups[0] != xs[0] || groups[1] * groups[2] != xs[3] || groups[3] != xs[1] || groups[4] != xs[2])
        {
            return false;
        }

        Value Add(Node before, OpCode code, IOpOptions? options, Value input, int[] shape, string stem)
        {
            var v = new Value(graph.UniqueName(stem), x.Type, shape) { Quantization = x.Quantization };
            graph.Nodes.Insert(graph.Nodes.IndexOf(before), new Node(graph.UniqueName(stem), code.ToString(), [input], [v]).Lower(code, options));
            return v;
        }

        string name = merge.Output(0).Name;
        Value grouped = Add(merge, OpCode.Reshape, null, x, [xs[0], xs[1], xs[2], groups[1], groups[2]], name + "_nhwc_groups");
        Value swapped = Add(merge, OpCode.Transpose, new TransposeOptions([0, 1, 2, 4, 3]), grouped, [xs[0], xs[1], xs[2], groups[2], groups[1]], name + "_nhwc_shuffled");
        Value shuffled = Add(merge, OpCode.Reshape, null, swapped, xs, name + "_nhwc");
        merge.Inputs[0] = shuffled;
        merge.Lower(OpCode.Transpose, new TransposeOptions([0, 3, 1, 2]));
        return true;
    }

    /// <summary>The producer of <paramref name="v"/> when it has this operator (and permutation) and <paramref name="v"/> has no other reader.</summary>
    private static bool Producer(Graph graph, Value v, Dictionary<Value, Node> producers, OpCode code, int[]? perm, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Node? producer)
    {
        producer = producers.GetValueOrDefault(v);
        return producer is not null && producer.Code == code && !graph.IsGraphOutput(v)
            && (perm is null || ((TransposeOptions)producer.Options!).Perm.SequenceEqual(perm))
            && graph.Nodes.Count(n => n.Inputs.Contains(v)) == 1;
    }

    /// <summary>Slice(Transpose(x, p)) → Transpose(Slice'(x), p), when every reader of the Transpose is a Slice.</summary>
    private static bool SliceBeforeTranspose(Graph graph, Node slice, Dictionary<Value, Node> producers)
    {
        Value t = slice.Input(0);
        if (!producers.TryGetValue(t, out Node? transpose) || transpose.Code != OpCode.Transpose || graph.IsGraphOutput(t)
            || graph.Nodes.Any(n => n.Inputs.Contains(t) && n.Code != OpCode.Slice))
        {
            return false;
        }

        int[] perm = ((TransposeOptions)transpose.Options!).Perm.ToArray();
        var o = (SliceOptions)slice.Options!;
        Value x = transpose.Input(0), y = slice.Output(0);
        int rank = perm.Length;
        var begin = new int[rank];
        var step = new int[rank];
        var shape = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            // Output axis i of the transpose is input axis perm[i].
            begin[perm[i]] = o.Begin[i];
            step[perm[i]] = o.Step[i];
            shape[perm[i]] = y.Shape![i];
        }

        var box = new Value(graph.UniqueName(y.Name + "_box"), y.Type, shape) { Quantization = y.Quantization };
        var sliced = new Node(graph.UniqueName(slice.Name + "_first"), nameof(OpCode.Slice), [x], [box]).Lower(OpCode.Slice, new SliceOptions(begin, step));
        graph.Nodes.Insert(graph.Nodes.IndexOf(slice), sliced);
        slice.Inputs[0] = box;
        slice.Lower(OpCode.Transpose, new TransposeOptions(perm));
        return true;
    }

    private static int Count(Graph graph) => graph.Nodes.Count(n => n.Code is OpCode.Transpose or OpCode.Reshape);
}
