using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Drops nodes whose results reach no graph output (repeatedly, so whole dead branches go), as the last rewrite
// before emission; constants only dead nodes read vanish with them. Graph inputs stay even when unused: they are
// the model's interface.

public static class RemoveDeadCode
{
    public static void Run(Graph graph, Action<string> note)
    {
        int removed = graph.RemoveDeadNodes();
        if (removed > 0)
        {
            note($"removed {removed} dead nodes");
        }
    }
}
