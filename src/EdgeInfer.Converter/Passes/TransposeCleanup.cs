using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes;

// Removes the data movement that layout lowering leaves behind, until nothing changes:
//   Transpose(Transpose(x, p), q)   → Transpose(x, p∘q)         (output axis i takes input axis p[q[i]])
//   Transpose with identity perm    → removed
//   Transpose moving only 1-sized axes (the other axes keep their order) → Reshape, the cheaper copy
//   Reshape(Reshape(x))             → Reshape(x)                 (a reshape depends only on the element count)
//   Reshape to the same shape       → removed
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
                    changed |= SimplifyReshape(graph, n, producers);
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

    private static int Count(Graph graph) => graph.Nodes.Count(n => n.Code is OpCode.Transpose or OpCode.Reshape);
}
