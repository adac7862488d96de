using EdgeInfer.Converter.Importers.Onnx.Proto;
using Google.Protobuf;

namespace EdgeInfer.Converter.Tests.Support;

/// <summary>
/// Builds small ONNX models in tests with the generated protobuf classes: inputs, initializers, nodes with
/// attributes, outputs, then <see cref="ToBytes"/> or <see cref="Save"/>.
/// </summary>
internal sealed class OnnxBuilder
{
    private readonly ModelProto _model;
    private readonly GraphProto _graph = new() { Name = "test" };
    private int _nodeCount;

    public OnnxBuilder(int opset = 13, string producer = "edgeinfer-tests")
    {
        _model = new ModelProto { IrVersion = opset >= 13 ? 7 : 3, ProducerName = producer, ProducerVersion = "1.0", Graph = _graph };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    public ModelProto Model => _model;

    /// <summary>A float input; a negative dimension is dynamic ("N").</summary>
    public OnnxBuilder Input(string name, params long[] shape) => Input(name, TensorProto.Types.DataType.Float, shape);

    public OnnxBuilder Input(string name, TensorProto.Types.DataType type, params long[] shape)
    {
        _graph.Input.Add(ValueInfo(name, type, shape));
        return this;
    }

    /// <summary>A float output; without a shape the output's shape is left for inference.</summary>
    public OnnxBuilder Output(string name, params long[] shape)
    {
        ValueInfoProto info = ValueInfo(name, TensorProto.Types.DataType.Float, shape);
        if (shape.Length == 0)
        {
            info.Type.TensorType.Shape = null;
        }

        _graph.Output.Add(info);
        return this;
    }

    public OnnxBuilder Initializer(string name, long[] shape, float[] values)
    {
        _graph.Initializer.Add(Floats(name, shape, values));
        return this;
    }

    public OnnxBuilder Initializer(string name, long[] shape, long[] values)
    {
        _graph.Initializer.Add(Int64s(name, shape, values));
        return this;
    }

    public OnnxBuilder Initializer(TensorProto tensor)
    {
        _graph.Initializer.Add(tensor);
        return this;
    }

    /// <summary>Adds a node; attributes are (name, value) with value long, long[], float, float[], string or TensorProto.</summary>
    public OnnxBuilder Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op.ToLowerInvariant()}_{_nodeCount++}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach ((string name, object value) in attributes)
        {
            node.Attribute.Add(Attribute(name, value));
        }

        _graph.Node.Add(node);
        return this;
    }

    public NodeProto LastNode => _graph.Node[^1];

    public byte[] ToBytes() => _model.ToByteArray();

    /// <summary>Writes the model to a fresh temporary .onnx file and returns its path.</summary>
    public string Save(string stem = "model")
    {
        string dir = Path.Combine(Path.GetTempPath(), "edgeinfer-converter-tests");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{stem}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, ToBytes());
        return path;
    }

    public static TensorProto Floats(string name, long[] shape, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(shape);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return t;
    }

    public static TensorProto Int64s(string name, long[] shape, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.AddRange(shape);
        t.Int64Data.AddRange(values);
        return t;
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = i;
                break;
            case long l:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = l;
                break;
            case string[] ss:
                a.Type = AttributeProto.Types.AttributeType.Strings;
                a.Strings.AddRange(ss.Select(Google.Protobuf.ByteString.CopyFromUtf8));
                break;
            case long[] ls:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(ls);
                break;
            case int[] iss:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(iss.Select(x => (long)x));
                break;
            case float f:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = f;
                break;
            case float[] fs:
                a.Type = AttributeProto.Types.AttributeType.Floats;
                a.Floats.AddRange(fs);
                break;
            case string s:
                a.Type = AttributeProto.Types.AttributeType.String;
                a.S = ByteString.CopyFromUtf8(s);
                break;
            case TensorProto t:
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                a.T = t;
                break;
            default:
                throw new ArgumentException($"unsupported attribute value {value.GetType()}");
        }

        return a;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        foreach (long d in shape)
        {
            tensor.Shape.Dim.Add(d >= 0 ? new TensorShapeProto.Types.Dimension { DimValue = d } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
