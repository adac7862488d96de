using System.Globalization;

namespace EdgeInfer.Converter.Ir;

/// <summary>
/// An operation. Importers create nodes with their source operator name (<see cref="OpType"/>, e.g. "Conv") and
/// attributes; lowering turns each into an EdgeInfer operator (<see cref="Code"/> and <see cref="Options"/>), which
/// is all the emitter accepts. A TFLite importer can create lowered nodes directly.
/// </summary>
public sealed class Node
{
    public Node(string name, string opType, IEnumerable<Value?> inputs, IEnumerable<Value> outputs)
    {
        Name = name;
        OpType = opType;
        Inputs = [.. inputs];
        Outputs = [.. outputs];
    }

    public string Name { get; set; }
    public string OpType { get; set; }

    /// <summary>Inputs in operator order; null marks an absent optional input.</summary>
    public List<Value?> Inputs { get; }
    public List<Value> Outputs { get; }
    public Dictionary<string, AttributeValue> Attributes { get; } = new(StringComparer.Ordinal);

    /// <summary>Set once the node is an EdgeInfer operator.</summary>
    public OpCode? Code { get; private set; }
    public IOpOptions? Options { get; private set; }
    public bool IsLowered => Code is not null;

    /// <summary>The opset of the operator's domain, for version-dependent semantics.</summary>
    public int OpsetVersion { get; set; }

    public Value Input(int index) => index < Inputs.Count && Inputs[index] is { } v ? v
        : throw new ConversionException($"node '{Name}' ({OpType}): input {index} is missing");

    public Value? OptionalInput(int index) => index < Inputs.Count ? Inputs[index] : null;

    public Value Output(int index = 0) => Outputs[index];

    /// <summary>Makes this node the EdgeInfer operator <paramref name="code"/>.</summary>
    public Node Lower(OpCode code, IOpOptions? options)
    {
        Code = code;
        Options = options;
        OpType = code.ToString();
        return this;
    }

    public bool HasAttribute(string name) => Attributes.ContainsKey(name);

    public long GetInt(string name, long fallback) => Attributes.TryGetValue(name, out AttributeValue? a) && a.Int is long v ? v : fallback;

    public long GetInt(string name) => Attributes.TryGetValue(name, out AttributeValue? a) && a.Int is long v ? v
        : throw Problem($"attribute '{name}' is required");

    public float GetFloat(string name, float fallback) => Attributes.TryGetValue(name, out AttributeValue? a) && a.Float is float v ? v : fallback;

    public long[]? GetInts(string name) => Attributes.TryGetValue(name, out AttributeValue? a) ? a.Ints : null;

    public float[]? GetFloats(string name) => Attributes.TryGetValue(name, out AttributeValue? a) ? a.Floats : null;

    public string? GetString(string name) => Attributes.TryGetValue(name, out AttributeValue? a) ? a.String : null;

    public ConversionException Problem(string problem) => new($"node '{Name}' ({OpType}): {problem}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"'{Name}' {OpType}({string.Join(", ", Inputs.Select(i => i?.Name ?? "-"))}) -> {string.Join(", ", Outputs.Select(o => o.Name))}");
}
