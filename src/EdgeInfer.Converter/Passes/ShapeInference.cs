using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Folding;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes;

// Gives every value a static shape and type, and folds every node whose inputs are all constants into a constant.
// The two are one walk in execution order because they feed each other: once input shapes are fixed, Shape and
// Size are constants; folding them turns PyTorch's view(x.size(0), -1) chain (Shape→Gather→Unsqueeze→Concat) into a
// constant target for Reshape, whose output shape is then known for the next node. A node that survives must be an
// operator EdgeInfer lowers; any other is refused here with the list of supported operators.
// Old-opset Add/Sub/Mul/Div with broadcast=1 and an axis (opset < 7) get their second input reshaped so ordinary
// NumPy broadcasting applies from here on.

public static class ShapeInference
{
    public static void Run(Graph graph, Action<string> note)
    {
        graph.SortTopologically();
        var folded = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var foldedOps = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            Node n = graph.Nodes[i];
            try
            {
                if (AlignLegacyBroadcast(graph, n, i))
                {
                    i--; // a Reshape was inserted before n: infer it first
                    continue;
                }

                if (TryFold(n))
                {
                    folded.Add(n);
                    foldedOps[n.OpType] = foldedOps.GetValueOrDefault(n.OpType) + 1;
                    continue;
                }

                Infer(graph, n);
            }
            catch (ArgumentException e)
            {
                throw OnnxOperators.Invalid(graph, n, e.Message);
            }
        }

        graph.Nodes.RemoveAll(folded.Contains);
        if (folded.Count > 0)
        {
            note($"folded {folded.Count} constant nodes ({string.Join(", ", foldedOps.Select(kv => $"{kv.Value} {kv.Key}"))})");
        }
    }

    /// <summary>Evaluates the node when its inputs are constants (Shape and Size need only a static input shape).</summary>
    private static bool TryFold(Node n)
    {
        HostTensor[]? outputs;
        if (n.OpType == "Shape")
        {
            int[] shape = Shape(n.Input(0));
            int rank = shape.Length;
            int start = (int)Math.Clamp(Norm(n.GetInt("start", 0), rank), 0, rank);
            int end = (int)Math.Clamp(Norm(n.GetInt("end", rank), rank), 0, rank);
            long[] dims = [.. shape.Skip(start).Take(Math.Max(0, end - start)).Select(d => (long)d)];
            outputs = [HostTensor.Integer(DataType.Int64, [dims.Length], dims)];
        }
        else if (n.OpType == "Size")
        {
            outputs = [HostTensor.Integer(DataType.Int64, [], [ShapeMath.Count(Shape(n.Input(0)))])];
        }
        else if (n.Inputs.All(v => v is null || v.IsConstant))
        {
            outputs = ConstantEvaluator.Evaluate(n, [.. n.Inputs.Select(v => v is null ? null : HostTensor.Of(v))]);
        }
        else
        {
            return false;
        }

        if (outputs is null)
        {
            return false;
        }

        for (int o = 0; o < n.Outputs.Count; o++)
        {
            Value v = n.Outputs[o];
            if (o >= outputs.Length)
            {
                // An optional output this evaluator does not produce (Dropout's mask); nothing may read it.
                v.Shape = outputs[0].Shape;
                v.Type = DataType.Bool;
                v.Constant = TensorData.FromIntegers(DataType.Bool, new long[outputs[0].Count]);
                continue;
            }

            v.Shape = outputs[o].Shape;
            v.Type = outputs[o].Type;
            v.Constant = outputs[o].ToData();
        }

        return true;

        static long Norm(long axis, int rank) => axis < 0 ? axis + rank : axis;
    }

    private static void Infer(Graph graph, Node n)
    {
        if (!OnnxOperators.IsLowered(n.OpType))
        {
            throw OnnxOperators.NotSupported(graph, n);
        }

        Value x = n.Inputs.Count > 0 && n.Inputs[0] is { } first ? first : throw new ArgumentException("input 0 is missing");
        int[] xs = Shape(x);
        switch (n.OpType)
        {
            case "Relu" or "LeakyRelu" or "Sigmoid" or "Tanh" or "HardSigmoid" or "HardSwish" or "Neg" or "Identity"
                or "Softmax" or "LogSoftmax" or "Clip" or "PRelu" or "Abs" or "Sqrt" or "Exp" or "Elu" or "Selu":
                Set(n.Output(0), xs, x.Type);
                break;
            case "Dropout":
                Set(n.Output(0), xs, x.Type);
                if (n.Outputs.Count > 1)
                {
                    Set(n.Output(1), xs, DataType.Bool);
                }

                break;
            case "Cast":
                Set(n.Output(0), xs, OnnxTensors.IrType((int)n.GetInt("to")) ?? throw OnnxOperators.UnsupportedForm(graph, n, $"Cast to {OnnxTensors.OnnxTypeName((int)n.GetInt("to"))}"));
                break;
            case "Add" or "Sub" or "Mul" or "Div" or "Sum":
                Set(n.Output(0), ShapeMath.Broadcast([.. n.Inputs.Select(v => Shape(v ?? throw new ArgumentException("an input is missing")))]), x.Type);
                break;
            case "Conv":
                Conv(n, xs, x);
                break;
            case "MaxPool" or "AveragePool":
                Pool(n, xs, x);
                break;
            case "GlobalAveragePool" or "GlobalMaxPool":
                Set(n.Output(0), [.. xs.Select((d, i) => i < 2 ? d : 1)], x.Type);
                break;
            case "ReduceMean":
            {
                long[]? axes = n.OptionalInput(1) is { } a ? ConstantInts(graph, n, a, "axes") : null;
                (int[] shape, _) = ShapeMath.Reduce(xs, axes, n.GetInt("keepdims", 1) != 0, n.GetInt("noop_with_empty_axes", 0) != 0);
                Set(n.Output(0), shape, x.Type);
                break;
            }

            case "BatchNormalization":
                Set(n.Output(0), xs, x.Type);
                for (int o = 1; o < n.Outputs.Count; o++)
                {
                    Set(n.Output(o), [xs.Length > 1 ? xs[1] : 1], x.Type);
                }

                break;
            case "Gemm":
                Gemm(n, xs);
                break;
            case "MatMul":
                Set(n.Output(0), MatMul(xs, Shape(n.Input(1))), x.Type);
                break;
            case "Concat":
                Set(n.Output(0), ShapeMath.Concat([.. n.Inputs.OfType<Value>().Select(Shape)], ShapeMath.Axis(n.GetInt("axis"), xs.Length)), x.Type);
                break;
            case "Reshape":
                Set(n.Output(0), ShapeMath.Reshape(xs, ConstantInts(graph, n, n.Input(1), "shape"), n.GetInt("allowzero", 0) != 0), x.Type);
                break;
            case "Flatten":
                Set(n.Output(0), ShapeMath.Flatten(xs, n.GetInt("axis", 1)), x.Type);
                break;
            case "Squeeze":
                Set(n.Output(0), ShapeMath.Squeeze(xs, n.OptionalInput(1) is { } sq ? ConstantInts(graph, n, sq, "axes") : null), x.Type);
                break;
            case "Unsqueeze":
                Set(n.Output(0), ShapeMath.Unsqueeze(xs, ConstantInts(graph, n, n.Input(1), "axes")), x.Type);
                break;
            case "Transpose":
            {
                int[] perm = n.GetInts("perm") is { } p ? ShapeMath.CheckPerm(p, xs.Length) : ShapeMath.DefaultPerm(xs.Length);
                Set(n.Output(0), ShapeMath.Permute(xs, perm), x.Type);
                break;
            }

            case "Tile":
            {
                long[] repeats = ConstantInts(graph, n, n.Input(1), "repeats");
                if (repeats.Length != xs.Length)
                {
                    throw new ArgumentException($"repeats [{string.Join(",", repeats)}] do not fit rank {xs.Length}");
                }

                Set(n.Output(0), [.. xs.Select((d, i) => (int)(d * repeats[i]))], x.Type);
                break;
            }

            case "Slice":
            {
                long[]? steps = n.OptionalInput(4) is { } st ? ConstantInts(graph, n, st, "steps") : null;
                if (steps?.Any(v => v < 0) == true)
                {
                    throw OnnxOperators.UnsupportedForm(graph, n, "a negative step on an activation (reversal)");
                }

                (_, _, int[] shape) = ShapeMath.SliceBox(xs, ConstantInts(graph, n, n.Input(1), "starts"), ConstantInts(graph, n, n.Input(2), "ends"),
                    n.OptionalInput(3) is { } ax ? ConstantInts(graph, n, ax, "axes") : null, steps);
                if (shape.Any(d => d < 1))
                {
                    throw OnnxOperators.UnsupportedForm(graph, n, $"an empty slice ({ShapeMath.Text(shape)}) of an activation");
                }

                Set(n.Output(0), shape, x.Type);
                break;
            }

            case "Gather":
            {
                // Constant indices into an activation: shape = data[..axis] + indices + data[axis + 1..].
                int axis = ShapeMath.Axis(n.GetInt("axis", 0), xs.Length);
                Value indices = n.Input(1);
                long[] at = ConstantInts(graph, n, indices, "indices");
                if (at.Any(i => i < -xs[axis] || i >= xs[axis]))
                {
                    throw new ArgumentException($"indices [{string.Join(",", at)}] leave axis {axis} of {ShapeMath.Text(xs)}");
                }

                Set(n.Output(0), [.. xs[..axis], .. Shape(indices), .. xs[(axis + 1)..]], x.Type);
                break;
            }

            case "LSTM" or "GRU":
            {
                // Y [T, D, N, H] (layout 0) or [N, T, D, H]; Y_h and Y_c [D, N, H] or [N, D, H].
                int h = (int)n.GetInt("hidden_size", 0);
                int d = n.GetString("direction") == "bidirectional" ? 2 : 1;
                bool batchFirst = n.GetInt("layout", 0) != 0;
                if (xs.Length != 3 || h < 1)
                {
                    throw new ArgumentException($"input {ShapeMath.Text(xs)} with hidden_size {h} is not a recurrence");
                }

                int[] y = batchFirst ? [xs[0], xs[1], d, h] : [xs[0], d, xs[1], h];
                int[] state = batchFirst ? [xs[0], d, h] : [d, xs[1], h];
                for (int o = 0; o < n.Outputs.Count; o++)
                {
                    Set(n.Output(o), o == 0 ? y : state, x.Type);
                }

                break;
            }

            case "Split":
            {
                int axis = ShapeMath.Axis(n.GetInt("axis", 0), xs.Length);
                long[]? given = n.OptionalInput(1) is { } sv ? ConstantInts(graph, n, sv, "split") : null;
                long[] sizes = ShapeMath.SplitSizes(xs[axis], n.Outputs.Count, given, given is null && n.HasAttribute("num_outputs"));
                for (int o = 0; o < sizes.Length; o++)
                {
                    int[] part = [.. xs];
                    part[axis] = (int)sizes[o];
                    Set(n.Output(o), part, x.Type);
                }

                break;
            }

            case "Pad":
            {
                long[] pads = ConstantInts(graph, n, n.Input(1), "pads");
                long[]? axes = n.OptionalInput(3) is { } pa ? ConstantInts(graph, n, pa, "axes") : null;
                Set(n.Output(0), PadShape(xs, pads, axes), x.Type);
                break;
            }

            default:
                throw OnnxOperators.NotSupported(graph, n);
        }
    }

    private static void Conv(Node n, int[] xs, Value x)
    {
        int[] ws = Shape(n.Input(1));
        if (xs.Length < 3 || ws.Length != xs.Length)
        {
            throw new ArgumentException($"input {ShapeMath.Text(xs)} and weights {ShapeMath.Text(ws)} do not form a convolution");
        }

        int group = (int)n.GetInt("group", 1);
        if (group < 1 || xs[1] != ws[1] * group || ws[0] % group != 0)
        {
            throw new ArgumentException($"input {ShapeMath.Text(xs)} with {group} groups does not match weights {ShapeMath.Text(ws)}");
        }

        int[] kernel = n.GetInts("kernel_shape") is { } k ? [.. k.Select(v => (int)v)] : ws[2..];
        if (!kernel.SequenceEqual(ws[2..]))
        {
            throw new ArgumentException($"kernel_shape {ShapeMath.Text(kernel)} does not match weights {ShapeMath.Text(ws)}");
        }

        SpatialGeometry g = SpatialGeometry.Resolve(n, xs[2..], kernel, allowCeilMode: false);
        Set(n.Output(0), [xs[0], ws[0], .. g.Output], x.Type);
    }

    private static void Pool(Node n, int[] xs, Value x)
    {
        if (xs.Length < 3)
        {
            throw new ArgumentException($"pooling needs an input of rank 3 or more, got {ShapeMath.Text(xs)}");
        }

        int[] kernel = [.. (n.GetInts("kernel_shape") ?? throw new ArgumentException("kernel_shape is required")).Select(v => (int)v)];
        if (kernel.Length != xs.Length - 2)
        {
            throw new ArgumentException($"kernel_shape {ShapeMath.Text(kernel)} does not match input {ShapeMath.Text(xs)}");
        }

        SpatialGeometry g = SpatialGeometry.Resolve(n, xs[2..], kernel, allowCeilMode: true);
        int[] shape = [xs[0], xs[1], .. g.Output];
        Set(n.Output(0), shape, x.Type);
        if (n.Outputs.Count > 1)
        {
            Set(n.Output(1), shape, DataType.Int64);
        }
    }

    private static void Gemm(Node n, int[] a)
    {
        int[] b = Shape(n.Input(1));
        if (a.Length != 2 || b.Length != 2)
        {
            throw new ArgumentException($"Gemm needs 2-D inputs, got {ShapeMath.Text(a)} and {ShapeMath.Text(b)}");
        }

        bool ta = n.GetInt("transA", 0) != 0, tb = n.GetInt("transB", 0) != 0;
        int m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
        int kb = tb ? b[1] : b[0], nn = tb ? b[0] : b[1];
        if (k != kb)
        {
            throw new ArgumentException($"Gemm inner dimensions differ: {ShapeMath.Text(a)}{(ta ? "ᵀ" : "")} × {ShapeMath.Text(b)}{(tb ? "ᵀ" : "")}");
        }

        if (n.OptionalInput(2) is { } c)
        {
            ShapeMath.Broadcast(Shape(c), [m, nn]);
        }

        Set(n.Output(0), [m, nn], DataType.Float32);
    }

    /// <summary>NumPy matmul: 1-D operands are promoted and the added axis removed; batch axes broadcast.</summary>
    internal static int[] MatMul(int[] a, int[] b)
    {
        if (a.Length == 0 || b.Length == 0)
        {
            throw new ArgumentException("MatMul operands must have rank 1 or more");
        }

        int[] a2 = a.Length == 1 ? [1, a[0]] : a;
        int[] b2 = b.Length == 1 ? [b[0], 1] : b;
        if (a2[^1] != b2[^2])
        {
            throw new ArgumentException($"MatMul inner dimensions differ: {ShapeMath.Text(a)} × {ShapeMath.Text(b)}");
        }

        int[] batch = ShapeMath.Broadcast(a2[..^2], b2[..^2]);
        var shape = new List<int>(batch);
        if (a.Length > 1)
        {
            shape.Add(a2[^2]);
        }

        if (b.Length > 1)
        {
            shape.Add(b2[^1]);
        }

        return [.. shape];
    }

    internal static int[] PadShape(int[] xs, long[] pads, long[]? axes)
    {
        int rank = xs.Length;
        int[] ax = axes is null ? [.. Enumerable.Range(0, rank)] : [.. axes.Select(a => ShapeMath.Axis(a, rank))];
        if (pads.Length != 2 * ax.Length)
        {
            throw new ArgumentException($"pads [{string.Join(",", pads)}] should have {2 * ax.Length} values");
        }

        int[] shape = [.. xs];
        for (int i = 0; i < ax.Length; i++)
        {
            shape[ax[i]] += (int)(pads[i] + pads[i + ax.Length]);
            if (shape[ax[i]] <= 0)
            {
                throw new ArgumentException($"pads [{string.Join(",", pads)}] remove all of axis {ax[i]}");
            }
        }

        return shape;
    }

    /// <summary>
    /// Before opset 7, Add/Sub/Mul/Div broadcast only with broadcast=1, aligning B's dimensions with A's starting at
    /// 'axis' (or at the end). Reshapes B so that NumPy broadcasting gives the same alignment.
    /// </summary>
    private static bool AlignLegacyBroadcast(Graph graph, Node n, int index)
    {
        if (n.OpType is not ("Add" or "Sub" or "Mul" or "Div") || n.OpsetVersion >= 7 || n.GetInt("broadcast", 0) == 0 || !n.HasAttribute("axis"))
        {
            n.Attributes.Remove("broadcast");
            return false;
        }

        int[] a = Shape(n.Input(0));
        Value b = n.Input(1);
        int[] bs = Shape(b);
        int axis = ShapeMath.Axis(n.GetInt("axis"), a.Length);
        n.Attributes.Remove("axis");
        n.Attributes.Remove("broadcast");
        int trailing = a.Length - axis - bs.Length;
        if (trailing < 0)
        {
            throw new ArgumentException($"cannot broadcast {ShapeMath.Text(bs)} into {ShapeMath.Text(a)} at axis {axis}");
        }

        if (trailing == 0)
        {
            return false;
        }

        int[] aligned = [.. bs, .. Enumerable.Repeat(1, trailing)];
        if (b.Constant is { } c)
        {
            n.Inputs[1] = Value.Const(graph.UniqueName(b.Name + "_aligned"), aligned, c);
            return false;
        }

        Value shape = Value.Const(graph.UniqueName(b.Name + "_aligned_shape"), [aligned.Length], TensorData.FromInt64s([.. aligned.Select(d => (long)d)]));
        var reshaped = new Value(graph.UniqueName(b.Name + "_aligned"), b.Type);
        graph.Nodes.Insert(index, new Node(graph.UniqueName(n.Name + "_align"), "Reshape", [b, shape], [reshaped]) { OpsetVersion = n.OpsetVersion });
        n.Inputs[1] = reshaped;
        return true;
    }

    private static long[] ConstantInts(Graph graph, Node n, Value v, string role)
        => v.Constant?.ToInt64Array() ?? throw OnnxOperators.UnsupportedForm(graph, n, $"a {role} input computed at run time ('{v.Name}'; EdgeInfer needs static shapes)");

    private static int[] Shape(Value v) => v.Shape ?? throw new ArgumentException($"'{v.Name}' has no known shape (internal error: not produced before use)");

    private static void Set(Value v, int[] shape, DataType type)
    {
        v.Shape = shape;
        v.Type = type;
    }
}
