using System.Globalization;
using System.Security.Cryptography;
using EdgeInfer.Converter.Importers.Onnx.Proto;
using EdgeInfer.Converter.Ir;
using Google.Protobuf;

namespace EdgeInfer.Converter.Importers.Onnx;

/// <summary>
/// Reads an ONNX file into an <see cref="Graph"/> that still speaks ONNX: nodes keep their op types, attributes
/// and the opset version of the default domain, so the passes can apply version-dependent semantics. Initializers
/// and Constant nodes become constant values (a graph input that is also an initializer is a constant too, as in
/// IR version 3 exports). Nothing is lowered here; <see cref="Passes.OnnxPipeline"/> does that.
/// </summary>
public static class OnnxImporter
{
    /// <summary>The default-domain opsets EdgeInfer understands.</summary>
    public const int MinOpset = 6;
    public const int MaxOpset = 21;

    /// <exception cref="ConversionException">The file is unreadable, not ONNX, or uses another domain or opset.</exception>
    public static Graph Import(string path, ConvertOptions options, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(note);
        return Import(SourceFile.ReadAll(path), path, note);
    }

    /// <summary>Imports a model held in memory; <paramref name="source"/> names it in messages and metadata.</summary>
    public static Graph Import(byte[] bytes, string source, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ConversionException($"{source}: not an ONNX model ({e.Message})", e);
        }

        if (model.Graph is null)
        {
            throw new ConversionException($"{source}: the ONNX model has no graph");
        }

        int opset = DefaultOpset(model, source);
        var graph = new Graph(Path.GetFileNameWithoutExtension(source), source);
        if (model.Graph.Name.Length > 0)
        {
            graph.Metadata["onnx_graph_name"] = model.Graph.Name;
        }

        graph.Metadata["source"] = Path.GetFileName(source);
        graph.Metadata["source_sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        graph.Metadata["source_format"] = "onnx";
        graph.Metadata["onnx_opset"] = opset.ToString(CultureInfo.InvariantCulture);
        graph.Metadata["onnx_ir_version"] = model.IrVersion.ToString(CultureInfo.InvariantCulture);
        if (model.ProducerName.Length > 0)
        {
            graph.Metadata["producer"] = (model.ProducerName + " " + model.ProducerVersion).Trim();
        }

        new Builder(graph, model.Graph, opset, source).Build();
        note($"imported {graph.Nodes.Count} ONNX nodes (opset {opset}, producer '{model.ProducerName}')");
        return graph;
    }

    private static int DefaultOpset(ModelProto model, string source)
    {
        int? opset = null;
        foreach (OperatorSetIdProto o in model.OpsetImport)
        {
            if (o.Domain is "" or "ai.onnx")
            {
                opset = (int)o.Version;
            }
        }

        if (opset is null)
        {
            // IR version < 3 had no opset_import: opset 1, which is older than anything we read.
            throw new ConversionException($"{source}: the model imports no default-domain opset; EdgeInfer reads opsets {MinOpset} to {MaxOpset}");
        }

        if (opset < MinOpset || opset > MaxOpset)
        {
            throw new ConversionException($"{source}: ONNX opset {opset} is not supported (EdgeInfer reads opsets {MinOpset} to {MaxOpset}); re-export with a supported opset_version");
        }

        return opset.Value;
    }

    /// <summary>Builds the IR for one GraphProto, resolving names to values.</summary>
    private sealed class Builder(Graph graph, GraphProto proto, int opset, string source)
    {
        private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
        private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);

        public void Build()
        {
            foreach (TensorProto t in proto.Initializer)
            {
                (int[] shape, TensorData data) = OnnxTensors.Read(t, source);
                _values[t.Name] = Value.Const(t.Name, shape, data);
            }

            foreach (ValueInfoProto input in proto.Input)
            {
                if (_values.ContainsKey(input.Name))
                {
                    continue; // an initializer listed as an input (IR < 4 style): a constant, not a runtime input
                }

                (DataType type, int[] shape) = DeclaredType(input, "input");
                var v = new Value(input.Name, type, shape);
                _values[input.Name] = v;
                graph.Inputs.Add(v);
            }

            for (int i = 0; i < proto.Node.Count; i++)
            {
                AddNode(proto.Node[i], i);
            }

            foreach (ValueInfoProto output in proto.Output)
            {
                if (!_values.TryGetValue(output.Name, out Value? v))
                {
                    throw new ConversionException($"{source}: graph output '{output.Name}' is produced by no node, initializer or input");
                }

                graph.Outputs.Add(v);
            }

            if (graph.Outputs.Count == 0)
            {
                throw new ConversionException($"{source}: the graph has no outputs");
            }
        }

        private void AddNode(NodeProto n, int index)
        {
            string name = n.Name.Length > 0 ? n.Name : $"{n.OpType}_{index}";
            while (!_nodeNames.Add(name))
            {
                name = $"{name}_{index}";
            }

            if (n.Domain is not ("" or "ai.onnx"))
            {
                throw new UnsupportedOperatorException(
                    ConversionException.ForNode(source, name, n.OpType, $"operator domain '{n.Domain}' is not supported (EdgeInfer reads the default ONNX domain only)").Message,
                    n.OpType, $"domain '{n.Domain}'");
            }

            var attributes = new Dictionary<string, AttributeValue>(StringComparer.Ordinal);
            foreach (AttributeProto a in n.Attribute)
            {
                attributes[a.Name] = Attribute(a, name, n.OpType);
            }

            if (n.OpType == "Constant")
            {
                AddConstant(n, name, attributes);
                return;
            }

            var inputs = new List<Value?>(n.Input.Count);
            foreach (string input in n.Input)
            {
                if (input.Length == 0)
                {
                    inputs.Add(null);
                }
                else if (_values.TryGetValue(input, out Value? v))
                {
                    inputs.Add(v);
                }
                else
                {
                    throw ConversionException.ForNode(source, name, n.OpType, $"input '{input}' is produced by no earlier node, initializer or graph input");
                }
            }

            var outputs = new List<Value>(n.Output.Count);
            for (int i = 0; i < n.Output.Count; i++)
            {
                // An empty name is an optional output the model does not want; it still gets a value, which no one reads.
                string outName = n.Output[i].Length > 0 ? n.Output[i] : $"{name}_unused_output{i}";
                if (_values.ContainsKey(outName))
                {
                    throw ConversionException.ForNode(source, name, n.OpType, $"output '{outName}' is already defined (ONNX graphs are single-assignment)");
                }

                var v = new Value(outName, DataType.Float32);
                _values[outName] = v;
                outputs.Add(v);
            }

            var node = new Node(name, n.OpType, inputs, outputs) { OpsetVersion = opset };
            foreach (var kv in attributes)
            {
                node.Attributes[kv.Key] = kv.Value;
            }

            graph.Nodes.Add(node);
        }

        private void AddConstant(NodeProto n, string name, Dictionary<string, AttributeValue> attributes)
        {
            if (n.Output.Count != 1)
            {
                throw ConversionException.ForNode(source, name, n.OpType, "a Constant has exactly one output");
            }

            (int[] shape, TensorData data) = attributes switch
            {
                _ when attributes.TryGetValue("value", out AttributeValue? a) && a.Tensor is { } t => (a.TensorShape!, t),
                _ when attributes.TryGetValue("value_float", out AttributeValue? a) && a.Float is float f => ([], TensorData.FromFloats([f])),
                _ when attributes.TryGetValue("value_floats", out AttributeValue? a) && a.Floats is { } fs => ([fs.Length], TensorData.FromFloats(fs)),
                _ when attributes.TryGetValue("value_int", out AttributeValue? a) && a.Int is long i => ([], TensorData.FromInt64s([i])),
                _ when attributes.TryGetValue("value_ints", out AttributeValue? a) && a.Ints is { } il => ([il.Length], TensorData.FromInt64s(il)),
                _ => throw new UnsupportedOperatorException(
                    ConversionException.ForNode(source, name, n.OpType, $"Constant with attributes [{string.Join(", ", attributes.Keys)}] is not supported (sparse or string constants)").Message,
                    n.OpType, "sparse or string constant"),
            };
            string outName = n.Output[0];
            if (_values.ContainsKey(outName))
            {
                throw ConversionException.ForNode(source, name, n.OpType, $"output '{outName}' is already defined (ONNX graphs are single-assignment)");
            }

            _values[outName] = Value.Const(outName, shape, data);
        }

        private AttributeValue Attribute(AttributeProto a, string nodeName, string opType)
        {
            // IR version 1 files may leave 'type' unset; then the field that is present decides.
            AttributeProto.Types.AttributeType type = a.HasType ? a.Type
                : a.T is not null ? AttributeProto.Types.AttributeType.Tensor
                : a.Ints.Count > 0 ? AttributeProto.Types.AttributeType.Ints
                : a.Floats.Count > 0 ? AttributeProto.Types.AttributeType.Floats
                : a.Strings.Count > 0 ? AttributeProto.Types.AttributeType.Strings
                : a.HasS ? AttributeProto.Types.AttributeType.String
                : a.HasF ? AttributeProto.Types.AttributeType.Float
                : AttributeProto.Types.AttributeType.Int;
            switch (type)
            {
                case AttributeProto.Types.AttributeType.Int:
                    return new AttributeValue { Int = a.I };
                case AttributeProto.Types.AttributeType.Ints:
                    return new AttributeValue { Ints = [.. a.Ints] };
                case AttributeProto.Types.AttributeType.Float:
                    return new AttributeValue { Float = a.F };
                case AttributeProto.Types.AttributeType.Floats:
                    return new AttributeValue { Floats = [.. a.Floats] };
                case AttributeProto.Types.AttributeType.String:
                    return new AttributeValue { String = a.S.ToStringUtf8() };
                case AttributeProto.Types.AttributeType.Strings:
                    return new AttributeValue { String = string.Join(",", a.Strings.Select(s => s.ToStringUtf8())) };
                case AttributeProto.Types.AttributeType.Tensor when a.T is not null:
                    (int[] shape, TensorData data) = OnnxTensors.Read(a.T, $"{source}: node '{nodeName}' ({opType}) attribute '{a.Name}'");
                    return new AttributeValue { Tensor = data, TensorShape = shape };
                default:
                    // Graph-valued attributes (If, Loop, Scan) and the rest: the operator itself is unsupported, but say
                    // so when the node is reached, with the full list; keep an empty marker here.
                    return new AttributeValue();
            }
        }

        private (DataType Type, int[] Shape) DeclaredType(ValueInfoProto info, string role)
        {
            if (info.Type?.TensorType is not { } tensor)
            {
                throw new ConversionException($"{source}: graph {role} '{info.Name}' is not a tensor (sequences and maps are not supported)");
            }

            DataType type = OnnxTensors.IrType(tensor.ElemType)
                ?? throw new ConversionException($"{source}: graph {role} '{info.Name}' has element type {OnnxTensors.OnnxTypeName(tensor.ElemType)}, which EdgeInfer does not support");
            if (tensor.Shape is null)
            {
                throw new ConversionException($"{source}: graph {role} '{info.Name}' declares no shape; give it with --input-shape {info.Name}=...");
            }

            // Unknown dimensions are -1 until FixInputShapes resolves them.
            int[] shape = [.. tensor.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 && d.DimValue <= int.MaxValue ? (int)d.DimValue : -1)];
            return (type, shape);
        }
    }
}
