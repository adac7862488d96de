namespace EdgeInfer.Converter.Ir;

/// <summary>An operator attribute as the source format gave it (ONNX attribute kinds).</summary>
public sealed class AttributeValue
{
    public long? Int { get; init; }
    public long[]? Ints { get; init; }
    public float? Float { get; init; }
    public float[]? Floats { get; init; }
    public string? String { get; init; }
    public TensorData? Tensor { get; init; }
    public int[]? TensorShape { get; init; }

    public override string ToString() =>
        Int?.ToString() ?? (Ints is not null ? "[" + string.Join(",", Ints) + "]" : null)
        ?? Float?.ToString("G9") ?? (Floats is not null ? "[" + string.Join(",", Floats) + "]" : null)
        ?? String ?? (Tensor is not null ? "<tensor>" : "<empty>");
}
