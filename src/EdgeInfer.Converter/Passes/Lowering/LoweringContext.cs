using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Folding;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// The state of the lowering walk: the lowered nodes emitted so far, and for every ONNX activation which layouts it
/// exists in. An ONNX value of rank 4 [N,C,H,W] has a channels-last form [N,H,W,C]; one of rank 3 [N,C,W] has the
/// form [N,1,W,C] (the runtime's 1-D convention), so consecutive 1-D layers need no reshapes. Forms are made on
/// demand and remembered: asking for a layout a value lacks emits the Transpose (and, for rank 3, Reshape) that
/// converts it, once, right before the first node that needs it. The ONNX form keeps the ONNX value (and name); the
/// channels-last form is a new value named "…_nhwc".
/// </summary>
internal sealed class LoweringContext
{
    private readonly HashSet<string> _names;
    private readonly HashSet<string> _nodeNames;
    private readonly HashSet<Value> _onnxReady = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, Value> _channelsLast = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Value> _nativeChannelsLast = new(ReferenceEqualityComparer.Instance);

    public LoweringContext(Graph graph)
    {
        Graph = graph;
        _names = [.. graph.AllValues().Select(v => v.Name)];
        _nodeNames = [.. graph.Nodes.Select(n => n.Name)];
        foreach (Value v in graph.Inputs)
        {
            _onnxReady.Add(v);
        }
    }

    public Graph Graph { get; }
    public List<Node> Emitted { get; } = [];

    /// <summary>LSTM and GRU in the unrolled form rather than the fused operators (<see cref="ConvertOptions.UnrollRecurrences"/>).</summary>
    public bool UnrollRecurrences { get; init; }

    /// <summary>The ONNX node being lowered: emitted nodes are named after it.</summary>
    public Node Current { get; set; } = null!;
    private bool _currentNamed;

    public void Begin(Node n)
    {
        Current = n;
        _currentNamed = false;
    }

    public string Name(string stem)
    {
        string name = stem;
        for (int i = 1; !_names.Add(name); i++)
        {
            name = $"{stem}_{i}";
        }

        return name;
    }

    private string NodeName(string stem)
    {
        string name = stem;
        for (int i = 1; !_nodeNames.Add(name); i++)
        {
            name = $"{stem}_{i}";
        }

        return name;
    }

    public Value NewValue(string stem, int[] shape, DataType type = DataType.Float32) => new(Name(stem), type, shape);

    public Value Constant(string stem, int[] shape, float[] values) => Value.Floats(Name(stem), shape, values);

    public Value Constant(string stem, HostTensor t) => Value.Const(Name(stem), t.Shape, t.ToData());

    /// <summary>
    /// Adds a lowered node. Without <paramref name="name"/>, the first node for an ONNX node takes its name and later
    /// ones its name plus the operator; layout conversions pass their own name (after the value they convert).
    /// </summary>
    public Node Emit(OpCode code, IOpOptions? options, Value?[] inputs, Value output, string? name = null)
    {
        // ONNX node names are unique, so the first node of each keeps its name; helpers get fresh ones.
        if (name is null && !_currentNamed)
        {
            name = Current.Name;
            _currentNamed = true;
        }
        else
        {
            name = NodeName(name ?? $"{Current.Name}_{code.ToString().ToLowerInvariant()}");
        }

        var node = new Node(name, code.ToString(), inputs, [output]).Lower(code, options);
        Emitted.Add(node);
        return node;
    }

    /// <summary>Records that <paramref name="v"/> itself was written in ONNX layout.</summary>
    public void ProducedOnnx(Value v)
    {
        _onnxReady.Add(v);
    }

    /// <summary>Makes the channels-last value that will stand for ONNX value <paramref name="v"/>.</summary>
    public Value ProduceChannelsLast(Value v)
    {
        Value cl = NewValue(v.Name + "_nhwc", ChannelsLastShape(v.Shape!), v.Type);
        _channelsLast[v] = cl;
        _nativeChannelsLast.Add(v);
        return cl;
    }

    /// <summary>True when the value was computed channels-last (so an elementwise reader should stay channels-last).</summary>
    public bool IsNativeChannelsLast(Value v) => _nativeChannelsLast.Contains(v);

    public bool CanBeChannelsLast(Value v) => v.Shape!.Length is 3 or 4;

    /// <summary>The value in its ONNX layout, converting from channels-last when that is all there is.</summary>
    public Value Onnx(Value v)
    {
        if (v.IsConstant || _onnxReady.Contains(v))
        {
            return v;
        }

        if (!_channelsLast.TryGetValue(v, out Value? cl))
        {
            throw new ConversionException($"{Graph.Source}: '{v.Name}' is read before it is computed (internal error)");
        }

        if (v.Shape!.Length == 4)
        {
            Emit(OpCode.Transpose, new TransposeOptions([0, 3, 1, 2]), [cl], v, v.Name + "_to_nchw");
        }
        else
        {
            // [N,1,W,C] → [N,C,1,W] → [N,C,W]
            Value t = NewValue(v.Name + "_nc1w", [v.Shape[0], v.Shape[1], 1, v.Shape[2]], v.Type);
            Emit(OpCode.Transpose, new TransposeOptions([0, 3, 1, 2]), [cl], t, v.Name + "_to_nc1w");
            Emit(OpCode.Reshape, null, [t], v, v.Name + "_to_ncw");
        }

        _onnxReady.Add(v);
        return v;
    }

    /// <summary>The channels-last form of a rank-3 or rank-4 activation or constant.</summary>
    public Value ChannelsLast(Value v)
    {
        if (_channelsLast.TryGetValue(v, out Value? cl))
        {
            return cl;
        }

        int[] shape = v.Shape!;
        if (shape.Length is not (3 or 4))
        {
            throw new ConversionException($"{Graph.Source}: '{v.Name}' {v.ShapeText} has no channels-last form (internal error)");
        }

        if (v.Constant is not null)
        {
            cl = Constant(v.Name + "_nhwc", ChannelsLastConstant(HostTensor.Of(v)));
        }
        else
        {
            Value onnx = Onnx(v);
            cl = NewValue(v.Name + "_nhwc", ChannelsLastShape(shape), v.Type);
            if (shape.Length == 4)
            {
                Emit(OpCode.Transpose, new TransposeOptions([0, 2, 3, 1]), [onnx], cl, v.Name + "_to_nhwc");
            }
            else
            {
                // [N,C,W] → [N,C,1,W] → [N,1,W,C]
                Value r = NewValue(v.Name + "_nc1w", [shape[0], shape[1], 1, shape[2]], v.Type);
                Emit(OpCode.Reshape, null, [onnx], r, v.Name + "_to_nc1w");
                Emit(OpCode.Transpose, new TransposeOptions([0, 2, 3, 1]), [r], cl, v.Name + "_to_n1wc");
            }
        }

        _channelsLast[v] = cl;
        return cl;
    }

    /// <summary>
    /// An operand of a channels-last elementwise node whose output has logical rank <paramref name="rank"/>: lower-rank
    /// operands broadcast from the right, so they are first given leading 1s, then laid out channels-last.
    /// </summary>
    public Value ChannelsLastOperand(Value v, int rank)
    {
        int[] shape = v.Shape!;
        if (shape.Length == rank)
        {
            return ChannelsLast(v);
        }

        int[] expanded = [.. Enumerable.Repeat(1, rank - shape.Length), .. shape];
        if (v.Constant is not null)
        {
            return Constant(v.Name + "_nhwc", ChannelsLastConstant(HostTensor.Of(v).WithShape(expanded)));
        }

        Value reshaped = NewValue(v.Name + "_rank" + rank, expanded, v.Type);
        Emit(OpCode.Reshape, null, [Onnx(v)], reshaped, v.Name + "_to_rank" + rank);
        _onnxReady.Add(reshaped);
        return ChannelsLast(reshaped);
    }

    /// <summary>[N,C,H,W] → [N,H,W,C]; [N,C,W] → [N,1,W,C].</summary>
    public static int[] ChannelsLastShape(int[] s) => s.Length switch
    {
        4 => [s[0], s[2], s[3], s[1]],
        3 => [s[0], 1, s[2], s[1]],
        _ => throw new ArgumentException($"rank {s.Length} has no channels-last form"),
    };

    /// <summary>Where a logical (ONNX) axis lives in the channels-last form.</summary>
    public static int ChannelsLastAxis(int axis, int rank) => (rank, axis) switch
    {
        (_, 0) => 0,
        (_, 1) => 3,
        (4, 2) => 1,
        (4, 3) => 2,
        (3, 2) => 2,
        _ => throw new ArgumentException($"axis {axis} of rank {rank}"),
    };

    public static HostTensor ChannelsLastConstant(HostTensor t)
    {
        int[] s = t.Shape;
        HostTensor four = s.Length == 3 ? t.WithShape([s[0], s[1], 1, s[2]]) : t;
        int[] perm = [0, 2, 3, 1];
        return four.Take(ShapeMath.TransposeIndex(four.Shape, perm), ShapeMath.Permute(four.Shape, perm));
    }

    public UnsupportedOperatorException Unsupported(string what) => OnnxOperators.UnsupportedForm(Graph, Current, what);

    public ConversionException Invalid(string problem) => OnnxOperators.Invalid(Graph, Current, problem);

    /// <summary>A constant input's values, or an unsupported-form error naming its role.</summary>
    public TensorData RequireConstant(Value v, string role)
        => v.Constant ?? throw Unsupported($"a {role} computed at run time ('{v.Name}')");
}
