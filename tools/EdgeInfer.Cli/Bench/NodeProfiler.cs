using System.Diagnostics;
using System.Text;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Bench;

/// <summary>
/// Time per operator: the interpreter calls back after each node, and the time since the previous callback (or the
/// start of the invocation) is that node's. The callback itself costs a timestamp read, small beside any kernel.
/// </summary>
internal sealed class NodeProfiler : INodeObserver
{
    private readonly long[] _ticks;
    private long _last;

    public NodeProfiler(int nodes) => _ticks = new long[nodes];

    public void Start() => _last = Stopwatch.GetTimestamp();

    public void OnNodeInvoked(Interpreter interpreter, NodeInfo node)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[node.Index] += now - _last;
        _last = now;
    }

    public static string Profile(Interpreter interpreter, int invocations, int top)
    {
        ModelGraph g = interpreter.Model.Graph;
        var profiler = new NodeProfiler(g.Nodes.Count);
        for (int i = 0; i < invocations; i++)
        {
            profiler.Start();
            interpreter.Invoke(profiler);
        }

        double total = profiler._ticks.Sum();
        double micros = 1e6 / Stopwatch.Frequency / invocations;
        var s = new StringBuilder();
        s.AppendLine($"per-operator time, mean of {invocations} inferences (top {top} of {g.Nodes.Count}):");
        var byOp = g.Nodes.GroupBy(n => n.OpCode).Select(grp => (Op: grp.Key, Ticks: grp.Sum(n => profiler._ticks[n.Index]), Count: grp.Count()))
            .OrderByDescending(x => x.Ticks);
        foreach (NodeInfo n in g.Nodes.OrderByDescending(n => profiler._ticks[n.Index]).Take(top))
        {
            TensorInfo output = g.Tensors[n.Outputs[0]];
            s.AppendLine($"  {profiler._ticks[n.Index] * micros,9:F2} us {100 * profiler._ticks[n.Index] / total,5:F1}%  {n.OpCode,-16} {output.ShapeText,-16} {DataTypes.Name(output.DataType),-7} {n.Name}");
        }

        s.AppendLine("by operator:");
        foreach ((OpCode op, long ticks, int count) in byOp)
        {
            s.AppendLine($"  {ticks * micros,9:F2} us {100 * ticks / total,5:F1}%  {op,-16} x{count}");
        }

        return s.ToString();
    }
}
