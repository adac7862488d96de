using System.Text.Json;
using PureHDF;
using PureHDF.VOL.Native;

namespace EdgeInfer.Converter.Importers.Keras;

/// <summary>One layer of a Keras model config: its class, name, config and the layer outputs it reads.</summary>
internal sealed record KerasLayer(string ClassName, string Name, JsonElement Config, IReadOnlyList<KerasTensorRef> Inbound);

/// <summary>A layer's output: Keras' (layer name, node index, tensor index).</summary>
internal readonly record struct KerasTensorRef(string Layer, int Node, int Tensor);

/// <summary>A weight array with its Keras name ("kernel", "bias", "gamma", ...) and shape.</summary>
internal sealed record KerasWeight(string Name, int[] Shape, float[] Values);

/// <summary>
/// A Keras HDF5 model (Keras 2, or Keras 3's legacy H5 save) read through PureHDF: the <c>model_config</c> JSON as
/// layers with their inbound references, graph inputs and outputs, and each layer's weights in Keras' order
/// (<c>/model_weights/&lt;layer&gt;</c>, attribute <c>weight_names</c>). Every read is bounded by the file's size, and every
/// failure of the HDF5 or JSON layer becomes a <see cref="ConversionException"/> naming the file.
/// </summary>
internal sealed class KerasModelFile : IDisposable
{
    private readonly NativeFile _file;
    private readonly long _fileLength;
    private readonly Dictionary<string, IReadOnlyList<KerasWeight>> _weights = new(StringComparer.Ordinal);

    private KerasModelFile(NativeFile file, long fileLength, string source)
    {
        _file = file;
        _fileLength = fileLength;
        Source = source;
    }

    public string Source { get; }

    /// <summary>SHA-256 of the file, for the model's provenance metadata.</summary>
    public string Sha256 { get; private init; } = "";
    public string ModelClass { get; private set; } = "";
    public string KerasVersion { get; private set; } = "";
    public string Backend { get; private set; } = "";
    public List<KerasLayer> Layers { get; } = [];
    public List<KerasTensorRef> Inputs { get; } = [];
    public List<KerasTensorRef> Outputs { get; } = [];

    /// <summary>Keras 3 changed hard_sigmoid's slope and some config names.</summary>
    public bool IsKeras3 => KerasVersion.StartsWith('3');

    public static KerasModelFile Open(string path)
    {
        // One read: the bytes serve both PureHDF and the provenance hash.
        byte[] bytes = SourceFile.ReadAll(path);
        NativeFile file;
        try
        {
            file = H5File.Open(new MemoryStream(bytes, writable: false), false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ConversionException($"{path}: not a readable HDF5 file ({e.Message})", e);
        }

        long length = bytes.Length;
        var model = new KerasModelFile(file, length, path) { Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)) };
        try
        {
            model.ReadConfig();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose() => _file.Dispose();

    /// <summary>The layer's weights in the order Keras lists them; empty for layers without weights.</summary>
    public IReadOnlyList<KerasWeight> Weights(string layer)
    {
        if (_weights.TryGetValue(layer, out IReadOnlyList<KerasWeight>? cached))
        {
            return cached;
        }

        return _weights[layer] = Guard($"the weights of layer '{layer}'", () =>
        {
            IH5Group weights = _file.Group("model_weights");
            if (!weights.LinkExists(layer))
            {
                return (IReadOnlyList<KerasWeight>)[];
            }

            IH5Group group = weights.Group(layer);
            if (!group.AttributeExists("weight_names"))
            {
                return [];
            }

            string[] names = group.Attribute("weight_names").Read<string[]>();
            var result = new List<KerasWeight>(names.Length);
            foreach (string path in names)
            {
                IH5Dataset dataset = group.Dataset(path);
                int[] shape = [.. dataset.Space.Dimensions.Select(d => d > int.MaxValue ? -1 : (int)d)];
                long count = shape.Aggregate(1L, (a, d) => d < 0 ? long.MaxValue : a * d);
                if (shape.Any(d => d < 1) || count * dataset.Type.Size > _fileLength)
                {
                    throw new ConversionException($"{Source}: weight '{path}' of layer '{layer}' claims shape [{string.Join(",", dataset.Space.Dimensions)}], more than the file holds");
                }

                float[] values = dataset.Type.Class switch
                {
                    H5DataTypeClass.FloatingPoint when dataset.Type.Size == 4 => dataset.Read<float[]>(),
                    H5DataTypeClass.FloatingPoint when dataset.Type.Size == 8 => Array.ConvertAll(dataset.Read<double[]>(), v => (float)v),
                    _ => throw new ConversionException($"{Source}: weight '{path}' of layer '{layer}' is not float32 or float64"),
                };
                if (values.Length != count)
                {
                    throw new ConversionException($"{Source}: weight '{path}' of layer '{layer}' holds {values.Length} values, its shape {count}");
                }

                // "dense/kernel:0" (Keras 2), "sequential/dense/kernel" (Keras 3): the last part names the weight.
                string name = path[(path.LastIndexOf('/') + 1)..];
                int colon = name.IndexOf(':', StringComparison.Ordinal);
                result.Add(new KerasWeight(colon >= 0 ? name[..colon] : name, shape, values));
            }

            return result;
        });
    }

    private void ReadConfig()
    {
        string config = Guard("the model_config attribute", () =>
        {
            if (!_file.AttributeExists("model_config"))
            {
                throw new ConversionException($"{Source}: no 'model_config' attribute: this is not a whole Keras model (a weights-only file needs its architecture; save with model.save(\"model.h5\"))");
            }

            KerasVersion = ReadStringAttribute("keras_version") ?? "";
            Backend = ReadStringAttribute("backend") ?? "";
            return _file.Attribute("model_config").Read<string>();
        });

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(config, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new ConversionException($"{Source}: model_config is not valid JSON ({e.Message})", e);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement.Clone();
            ModelClass = Str(root, "class_name") ?? "";
            JsonElement body = root.TryGetProperty("config", out JsonElement c) ? c : default;
            JsonElement layers = body.ValueKind == JsonValueKind.Array ? body
                : body.ValueKind == JsonValueKind.Object && body.TryGetProperty("layers", out JsonElement l) ? l
                : throw new ConversionException($"{Source}: model_config has no layer list");
            if (layers.ValueKind != JsonValueKind.Array)
            {
                throw new ConversionException($"{Source}: model_config's layers are not a list");
            }

            bool sequential = ModelClass == "Sequential";
            if (!sequential && ModelClass is not ("Functional" or "Model"))
            {
                throw new ConversionException($"{Source}: a '{ModelClass}' model; EdgeInfer reads Sequential and Functional Keras models (a subclassed model has no config to read: export it to ONNX or TFLite)");
            }

            foreach (JsonElement layer in layers.EnumerateArray())
            {
                string cls = Str(layer, "class_name") ?? throw new ConversionException($"{Source}: a layer without class_name");
                JsonElement cfg = layer.TryGetProperty("config", out JsonElement lc) ? lc : default;
                string name = Str(layer, "name") ?? (cfg.ValueKind == JsonValueKind.Object ? Str(cfg, "name") : null)
                    ?? throw new ConversionException($"{Source}: a {cls} layer without a name");
                IReadOnlyList<KerasTensorRef> inbound = sequential ? [] : Inbound(layer, name);
                Layers.Add(new KerasLayer(cls, name, cfg, inbound));
            }

            if (sequential)
            {
                return;
            }

            Inputs.AddRange(Refs(body, "input_layers"));
            Outputs.AddRange(Refs(body, "output_layers"));
            if (Inputs.Count == 0 || Outputs.Count == 0)
            {
                throw new ConversionException($"{Source}: the functional model lists no input or output layers");
            }
        }
    }

    /// <summary>
    /// The layer outputs a functional layer reads. Keras 2: [[["layer", node, tensor, {kwargs}], ...]]; Keras 3:
    /// [{"args": [keras tensors with config.keras_history = [layer, node, tensor]], "kwargs": {...}}]. A layer called
    /// more than once (a shared layer) has several nodes, which EdgeInfer does not support.
    /// </summary>
    private List<KerasTensorRef> Inbound(JsonElement layer, string name)
    {
        if (!layer.TryGetProperty("inbound_nodes", out JsonElement nodes) || nodes.ValueKind != JsonValueKind.Array || nodes.GetArrayLength() == 0)
        {
            return [];
        }

        if (nodes.GetArrayLength() > 1)
        {
            throw new ConversionException($"{Source}: layer '{name}' is called {nodes.GetArrayLength()} times (a shared layer); EdgeInfer converts layers applied once");
        }

        JsonElement node = nodes[0];
        var refs = new List<KerasTensorRef>();
        if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement r in node.EnumerateArray())
            {
                refs.Add(Ref(r, name));
            }
        }
        else if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty("args", out JsonElement args))
        {
            CollectHistories(args, refs, name);
        }
        else
        {
            throw new ConversionException($"{Source}: layer '{name}' has inbound nodes in an unknown form");
        }

        return refs;
    }

    /// <summary>Keras 3 arguments: a tensor, or a list of tensors (Add, Concatenate), each with a keras_history.</summary>
    private void CollectHistories(JsonElement e, List<KerasTensorRef> refs, string name)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in e.EnumerateArray())
            {
                CollectHistories(item, refs, name);
            }
        }
        else if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("config", out JsonElement cfg) && cfg.ValueKind == JsonValueKind.Object
            && cfg.TryGetProperty("keras_history", out JsonElement history))
        {
            refs.Add(Ref(history, name));
        }
    }

    private KerasTensorRef Ref(JsonElement r, string context)
    {
        if (r.ValueKind != JsonValueKind.Array || r.GetArrayLength() < 3 || r[0].ValueKind != JsonValueKind.String
            || !r[1].TryGetInt32(out int node) || !r[2].TryGetInt32(out int tensor))
        {
            throw new ConversionException($"{Source}: layer '{context}' refers to its input in an unknown form: {r.GetRawText()}");
        }

        return new KerasTensorRef(r[0].GetString()!, node, tensor);
    }

    private IEnumerable<KerasTensorRef> Refs(JsonElement body, string property)
    {
        if (!body.TryGetProperty(property, out JsonElement list) || list.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        // A single-input model may store one reference instead of a list of them.
        if (list.GetArrayLength() > 0 && list[0].ValueKind == JsonValueKind.String)
        {
            yield return Ref(list, property);
            yield break;
        }

        foreach (JsonElement r in list.EnumerateArray())
        {
            yield return Ref(r, property);
        }
    }

    private string? ReadStringAttribute(string name) => _file.AttributeExists(name) ? _file.Attribute(name).Read<string>() : null;

    private static string? Str(JsonElement e, string property)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Runs an HDF5 read, turning the library's exceptions into a ConversionException naming the file.</summary>
    private T Guard<T>(string what, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ConversionException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ConversionException($"{Source}: cannot read {what} ({e.GetType().Name}: {e.Message})", e);
        }
    }
}
