using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Rewrites operators from older opsets into the form their newest version takes, so every later pass reads one
// form. Over the opsets EdgeInfer accepts (6-21) many operators moved parameters from attributes to inputs:
//   Clip (min/max, 11), Pad (pads/value, 11), Slice (starts/ends/axes, 10), Squeeze/Unsqueeze (axes, 13),
//   Split (split, 13), ReduceSum (axes, 13), the other Reduce* (axes, 18), Dropout (ratio, 12).
// The attribute becomes a constant input and the node's OpsetVersion is raised to the version whose semantics it
// now has. Changes that depend on input ranks are left to the passes that know the shapes: the Softmax family's
// 2-D coercion before opset 13 (lowering), Add/Sub/Mul/Div's axis broadcasting before opset 7 (shape inference),
// PRelu's per-channel slope before opset 7 (lowering), BatchNormalization's spatial attribute before opset 9.

public static class CanonicalizeOpsets
{
    public static void Run(Graph graph, Action<string> note)
    {
        int rewritten = 0;
        foreach (Node n in graph.Nodes)
        {
            bool changed = n.OpType switch
            {
                "Clip" when n.OpsetVersion < 11 => Clip(graph, n),
                "Pad" when n.OpsetVersion < 11 => Pad(graph, n),
                "Slice" when n.OpsetVersion < 10 => Slice(graph, n),
                "Squeeze" or "Unsqueeze" when n.OpsetVersion < 13 => AxesToInput(graph, n, 13),
                "ReduceSum" when n.OpsetVersion < 13 => AxesToInput(graph, n, 13),
                "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL1" or "ReduceL2" or "ReduceLogSum"
                    or "ReduceLogSumExp" or "ReduceSumSquare" when n.OpsetVersion < 18 => AxesToInput(graph, n, 18),
                "Split" when n.OpsetVersion < 13 => Split(graph, n),
                "Dropout" when n.OpsetVersion < 12 => Dropout(n),
                _ => false,
            };
            rewritten += changed ? 1 : 0;
        }

        if (rewritten > 0)
        {
            note($"rewrote {rewritten} nodes from opset {graph.Metadata.GetValueOrDefault("onnx_opset", "?")} attribute form to input form");
        }
    }

    private static bool Clip(Graph graph, Node n)
    {
        Value? min = n.Attributes.ContainsKey("min") ? Scalar(graph, n, "min", n.GetFloat("min", float.NegativeInfinity)) : null;
        Value? max = n.Attributes.ContainsKey("max") ? Scalar(graph, n, "max", n.GetFloat("max", float.PositiveInfinity)) : null;
        SetInputs(n, [n.Input(0), min, max]);
        n.Attributes.Remove("min");
        n.Attributes.Remove("max");
        n.OpsetVersion = 11;
        return true;
    }

    private static bool Pad(Graph graph, Node n)
    {
        long[] pads = n.GetInts("pads") ?? n.GetInts("paddings") ?? [];
        Value padsValue = Value.Const(graph.UniqueName(n.Name + "_pads"), [pads.Length], TensorData.FromInt64s(pads));
        Value value = Scalar(graph, n, "value", n.GetFloat("value", 0f));
        SetInputs(n, [n.Input(0), padsValue, value]);
        n.Attributes.Remove("pads");
        n.Attributes.Remove("paddings");
        n.Attributes.Remove("value");
        n.OpsetVersion = 11;
        return true;
    }

    private static bool Slice(Graph graph, Node n)
    {
        Value Ints(string name, long[] values) => Value.Const(graph.UniqueName($"{n.Name}_{name}"), [values.Length], TensorData.FromInt64s(values));
        long[] starts = n.GetInts("starts") ?? [];
        long[] ends = n.GetInts("ends") ?? [];
        long[]? axes = n.GetInts("axes");
        SetInputs(n, [n.Input(0), Ints("starts", starts), Ints("ends", ends), axes is null ? null : Ints("axes", axes)]);
        n.Attributes.Remove("starts");
        n.Attributes.Remove("ends");
        n.Attributes.Remove("axes");
        n.OpsetVersion = 10;
        return true;
    }

    private static bool AxesToInput(Graph graph, Node n, int version)
    {
        long[]? axes = n.GetInts("axes");
        Value? axesValue = axes is null ? null : Value.Const(graph.UniqueName(n.Name + "_axes"), [axes.Length], TensorData.FromInt64s(axes));
        SetInputs(n, [n.Input(0), axesValue]);
        n.Attributes.Remove("axes");
        n.OpsetVersion = version;
        return true;
    }

    private static bool Split(Graph graph, Node n)
    {
        long[]? split = n.GetInts("split");
        Value? splitValue = split is null ? n.OptionalInput(1) : Value.Const(graph.UniqueName(n.Name + "_split"), [split.Length], TensorData.FromInt64s(split));
        SetInputs(n, [n.Input(0), splitValue]);
        n.Attributes.Remove("split");
        n.OpsetVersion = 13;
        return true;
    }

    /// <summary>Before opset 12 the ratio was an attribute; at inference it does not matter either way.</summary>
    private static bool Dropout(Node n)
    {
        n.Attributes.Remove("ratio");
        n.Attributes.Remove("is_test");
        SetInputs(n, [n.Input(0)]);
        n.OpsetVersion = 12;
        return true;
    }

    private static Value Scalar(Graph graph, Node n, string name, float value)
        => Value.Const(graph.UniqueName($"{n.Name}_{name}"), [], TensorData.FromFloats([value]));

    /// <summary>Replaces the inputs, dropping trailing absent ones (ONNX lets them be omitted).</summary>
    private static void SetInputs(Node n, Value?[] inputs)
    {
        int count = inputs.Length;
        while (count > 1 && inputs[count - 1] is null)
        {
            count--;
        }

        n.Inputs.Clear();
        n.Inputs.AddRange(inputs.Take(count));
    }
}
