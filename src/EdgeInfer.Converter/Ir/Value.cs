namespace EdgeInfer.Converter.Ir;

/// <summary>
/// A tensor edge of the graph: produced by one node (or a graph input, or a constant) and read by any number.
/// </summary>
public sealed class Value
{
    public Value(string name, DataType type, int[]? shape = null, TensorData? constant = null)
    {
        Name = name;
        Type = type;
        Shape = shape;
        Constant = constant;
    }

    public string Name { get; set; }
    public DataType Type { get; set; }

    /// <summary>Static shape; null until shape inference fixes it.</summary>
    public int[]? Shape { get; set; }

    /// <summary>The data of a constant (initializer, folded result); null for activations.</summary>
    public TensorData? Constant { get; set; }

    public QuantizationInfo? Quantization { get; set; }

    public bool IsConstant => Constant is not null;

    public int Rank => Shape?.Length ?? throw new InvalidOperationException($"tensor '{Name}' has no known shape");

    public long ElementCount => Shape is null ? -1 : Shape.Aggregate(1L, (a, d) => a * d);

    public string ShapeText => Shape is null ? "[?]" : "[" + string.Join(",", Shape) + "]";

    public override string ToString() => $"'{Name}' {DataTypes.Name(Type)}{ShapeText}{(IsConstant ? " const" : "")}";

    public static Value Const(string name, int[] shape, TensorData data) => new(name, data.Type, shape, data);

    public static Value Floats(string name, int[] shape, ReadOnlySpan<float> values) => Const(name, shape, TensorData.FromFloats(values));
}
