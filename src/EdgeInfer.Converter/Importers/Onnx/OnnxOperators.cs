using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Importers.Onnx;

/// <summary>
/// The ONNX operators EdgeInfer converts, in two groups: those that become runtime operators (on activations), and
/// those it can only evaluate at conversion time, when every input is a constant (the shape arithmetic exporters
/// emit). The error for anything else names the file, node and operator and lists both groups.
/// </summary>
public static class OnnxOperators
{
    /// <summary>Operators that run on activations (after lowering, fusing or removal).</summary>
    public static IReadOnlyList<string> Lowered { get; } =
    [
        "Abs", "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout",
        "Elu", "Exp", "Flatten", "GRU", "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LSTM", "LeakyRelu", "LogSoftmax",
        "MatMul", "MaxPool", "Mul", "Neg", "PRelu", "Pad", "ReduceMean", "Relu", "Reshape", "Selu", "Shape", "Sigmoid", "Size",
        "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Tile", "Transpose", "Unsqueeze",
    ];

    /// <summary>Operators folded when all their inputs are constants (shape arithmetic); unsupported on activations.</summary>
    public static IReadOnlyList<string> FoldedOnly { get; } =
    [
        "And", "Ceil", "ConstantOfShape", "Equal", "Expand", "Floor", "Greater", "GreaterOrEqual",
        "Less", "LessOrEqual", "Log", "Max", "Mean", "Min", "Mod", "Not", "Or", "Pow", "Range", "Reciprocal", "ReduceMax",
        "ReduceMin", "ReduceProd", "ReduceSum", "Sign", "Where",
    ];

    private static readonly HashSet<string> LoweredSet = new(Lowered, StringComparer.Ordinal);
    private static readonly HashSet<string> FoldedSet = new(FoldedOnly, StringComparer.Ordinal);

    public static bool IsLowered(string opType) => LoweredSet.Contains(opType);

    public static bool IsFoldedOnly(string opType) => FoldedSet.Contains(opType);

    /// <summary>"supported operators: Add, ...; on constant inputs only: Abs, ..."</summary>
    public static string SupportedList =>
        $"supported operators: {string.Join(", ", Lowered)}; on constant inputs only: {string.Join(", ", FoldedOnly)}";

    /// <summary>The node's operator is not one EdgeInfer converts (or is used on activations where only constants fold).</summary>
    public static UnsupportedOperatorException NotSupported(Graph graph, Node node)
    {
        string reason = IsFoldedOnly(node.OpType)
            ? $"{node.OpType} is supported only on constant inputs (it folds at conversion time); here it reads an activation"
            : $"operator {node.OpType} is not supported";
        return new UnsupportedOperatorException(
            ConversionException.ForNode(graph.Source, node.Name, node.OpType, $"{reason}; {SupportedList}").Message,
            node.OpType, IsFoldedOnly(node.OpType) ? $"{node.OpType} on activations" : $"operator {node.OpType}");
    }

    /// <summary>A supported operator used in a form EdgeInfer cannot express (3-D, reflect padding, ...).</summary>
    public static UnsupportedOperatorException UnsupportedForm(Graph graph, Node node, string what)
        => new(ConversionException.ForNode(graph.Source, node.Name, node.OpType, $"{what} is not supported").Message, node.OpType, $"{node.OpType}: {what}");

    /// <summary>Anything else wrong with a node (malformed model, inconsistent shapes).</summary>
    public static ConversionException Invalid(Graph graph, Node node, string problem)
        => ConversionException.ForNode(graph.Source, node.Name, node.OpType, problem);
}
