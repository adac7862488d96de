using System.Globalization;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Importers.Keras;

/// <summary>
/// Reads a Keras model saved as HDF5 (<c>model.save("model.h5")</c>, Keras 2, or Keras 3's legacy H5 format) into a
/// lowered <see cref="Graph"/>. Keras tensors are channels-last, as the runtime's are, so each layer becomes
/// EdgeInfer operators directly (<see cref="KerasLayers"/>): kernels are re-laid-out once ([KH, KW, Cin, Cout] →
/// OHWI, Dense [in, out] → [out, in]), BatchNormalization folds into the convolution or Dense before it when nothing
/// else reads that layer, and activations become separate operators that <see cref="Passes.FuseActivations"/> then
/// folds into the producer's clamp. Sequential and Functional models; the batch dimension becomes 1 unless --input-shape
/// gives another.
/// </summary>
public static class KerasImporter
{
    /// <exception cref="ConversionException">The file is unreadable, not a Keras model, or holds something EdgeInfer cannot convert.</exception>
    public static Graph Import(string path, ConvertOptions options, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(note);
        using KerasModelFile file = KerasModelFile.Open(path);
        var graph = new Graph(Path.GetFileNameWithoutExtension(path), path);
        graph.Metadata["source"] = Path.GetFileName(path);
        graph.Metadata["source_sha256"] = file.Sha256;
        graph.Metadata["source_format"] = "keras-h5";
        graph.Metadata["producer"] = ("keras " + file.KerasVersion).Trim();
        if (file.Backend.Length > 0)
        {
            graph.Metadata["keras_backend"] = file.Backend;
        }

        var layers = new KerasLayers(graph, file, options);
        layers.Build();
        note($"imported {file.Layers.Count} Keras layers ({file.ModelClass}, Keras {file.KerasVersion})");
        return graph;
    }
}

/// <summary>Keras layers → lowered EdgeInfer nodes, in dependency order.</summary>
internal sealed partial class KerasLayers(Graph graph, KerasModelFile file, ConvertOptions options)
{
    private readonly Dictionary<string, Value> _outputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _readers = new(StringComparer.Ordinal);
    private readonly Dictionary<Value, int> _valueReaders = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, Node> _producers = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, (Value Input, int Top, int Left, int Bottom, int Right)> _zeroPads = new(ReferenceEqualityComparer.Instance);
    private readonly UniqueNames _valueNames = new();
    private readonly UniqueNames _nodeNames = new();

    private string Source => file.Source;

    public void Build()
    {
        // --input-shape keys must name input layers (any one key fits a single-input model), checked before building.
        string[] inputs = file.ModelClass == "Sequential" ? [] : [.. file.Inputs.Select(r => r.Layer)];
        string[] unknown = inputs.Length <= 1 && options.InputShapes.Count == 1 ? []
            : [.. options.InputShapes.Keys.Where(k => k.Length > 0 && !inputs.Contains(k))];
        if (unknown.Length > 0)
        {
            throw new ConversionException($"{Source}: --input-shape names {string.Join(", ", unknown.Select(u => $"'{u}'"))}, which is not an input layer (inputs: {string.Join(", ", inputs.Select(n => $"'{n}'"))})");
        }

        if (file.ModelClass == "Sequential")
        {
            BuildSequential();
        }
        else
        {
            BuildFunctional();
        }

        if (graph.Inputs.Count == 0)
        {
            throw new ConversionException($"{Source}: the model has no input layer with a known shape");
        }
    }

    private void BuildSequential()
    {
        Value? current = null;
        for (int i = 0; i < file.Layers.Count; i++)
        {
            KerasLayer layer = file.Layers[i];
            _readers[layer.Name] = 1; // the next layer, or the model output
            if (layer.ClassName == "InputLayer")
            {
                if (current is not null)
                {
                    throw Problem(layer, "is an input layer after the first layer");
                }

                current = Input(layer);
                Register(layer.Name, current);
                continue;
            }

            // Old Sequential saves put the input shape on the first layer (batch_input_shape) instead of an InputLayer.
            if (current is null)
            {
                current = Input(layer);
                _valueReaders[current] = 1;
            }

            current = Lower(layer, [current]);
            Register(layer.Name, current);
        }

        if (current is null || graph.Inputs.Contains(current))
        {
            throw new ConversionException($"{Source}: the Sequential model has no layers after its input");
        }

        AddOutput(current, file.Layers[^1]);
    }

    private void BuildFunctional()
    {
        var byName = new Dictionary<string, KerasLayer>(StringComparer.Ordinal);
        foreach (KerasLayer layer in file.Layers)
        {
            if (!byName.TryAdd(layer.Name, layer))
            {
                throw new ConversionException($"{Source}: two layers are named '{layer.Name}'");
            }
        }

        foreach (KerasTensorRef r in file.Layers.SelectMany(l => l.Inbound).Concat(file.Outputs))
        {
            if (!byName.ContainsKey(r.Layer))
            {
                throw new ConversionException($"{Source}: a layer reads '{r.Layer}', which is not a layer of the model");
            }

            if (r.Node != 0 || r.Tensor != 0)
            {
                throw new ConversionException($"{Source}: a layer reads output {r.Tensor} of call {r.Node} of '{r.Layer}'; EdgeInfer converts layers called once, with one output");
            }

            _readers[r.Layer] = _readers.GetValueOrDefault(r.Layer) + 1;
        }

        // The config may list layers out of dependency order (Keras 2.0 did): evaluate each once its inputs exist.
        var pending = new List<KerasLayer>(file.Layers);
        var inputOrder = file.Inputs.Select(r => r.Layer).ToList();
        foreach (string name in inputOrder)
        {
            KerasLayer layer = byName.GetValueOrDefault(name) ?? throw new ConversionException($"{Source}: input layer '{name}' does not exist");
            Register(name, Input(layer));
        }

        pending.RemoveAll(l => _outputs.ContainsKey(l.Name));
        while (pending.Count > 0)
        {
            int ready = pending.FindIndex(l => l.Inbound.All(r => _outputs.ContainsKey(r.Layer)));
            if (ready < 0)
            {
                throw new ConversionException($"{Source}: layers {string.Join(", ", pending.Take(5).Select(l => $"'{l.Name}'"))} read layers that are never computed (a cycle, or an input layer not listed as a model input)");
            }

            KerasLayer layer = pending[ready];
            pending.RemoveAt(ready);
            if (layer.ClassName == "InputLayer" || layer.Inbound.Count == 0)
            {
                throw Problem(layer, "has no inputs and is not a model input");
            }

            Register(layer.Name, Lower(layer, [.. layer.Inbound.Select(r => _outputs[r.Layer])]));
        }

        foreach (KerasTensorRef r in file.Outputs)
        {
            AddOutput(_outputs[r.Layer], byName[r.Layer]);
        }
    }

    /// <summary>Records a layer's output and how many layers (or model outputs) will read it.</summary>
    private void Register(string layer, Value v)
    {
        _outputs[layer] = v;
        _valueReaders[v] = _valueReaders.GetValueOrDefault(v) + _readers.GetValueOrDefault(layer);
    }

    private void AddOutput(Value v, KerasLayer layer)
    {
        if (graph.Inputs.Contains(v) || graph.Outputs.Contains(v) || v.IsConstant || _zeroPads.ContainsKey(v))
        {
            throw Problem(layer, "is a model output that no computation produces (or that is listed twice)");
        }

        graph.Outputs.Add(v);
    }

    /// <summary>A graph input from an InputLayer's (or first layer's) batch_input_shape / batch_shape; the batch becomes 1.</summary>
    private Value Input(KerasLayer layer)
    {
        int[]? shape = Shape(layer.Config, "batch_input_shape") ?? Shape(layer.Config, "batch_shape");
        if (shape is null)
        {
            throw Problem(layer, "has no batch_input_shape (the model's input shape is unknown)");
        }

        // As for ONNX: with one input, any one --input-shape applies to it; otherwise by layer name, "" being the first.
        int inputCount = file.ModelClass == "Sequential" ? 1 : file.Inputs.Count;
        int[]? given = inputCount == 1 && options.InputShapes.Count == 1 ? options.InputShapes.Values.First()
            : options.InputShapes.TryGetValue(layer.Name, out int[]? named) ? named
            : graph.Inputs.Count == 0 && options.InputShapes.TryGetValue("", out int[]? first) ? first
            : null;
        if (given is not null)
        {
            if (given.Length != shape.Length)
            {
                throw Problem(layer, $"has rank {shape.Length}; --input-shape gives {given.Length} dimensions");
            }

            shape = [.. given];
        }

        shape[0] = shape[0] <= 0 ? 1 : shape[0];
        if (shape.Any(d => d <= 0))
        {
            throw Problem(layer, $"has a dynamic dimension in [{string.Join(",", shape.Select(d => d <= 0 ? "None" : d.ToString(CultureInfo.InvariantCulture)))}]; give it with --input-shape {layer.Name}=...");
        }

        if (layer.Config.TryGetProperty("data_format", out var df) && df.ValueKind == System.Text.Json.JsonValueKind.String && df.GetString() == "channels_first")
        {
            throw Problem(layer, "is channels_first; EdgeInfer reads channels_last Keras models");
        }

        var input = new Value(_valueNames.Take(layer.Name), DataType.Float32, shape);
        graph.Inputs.Add(input);
        return input;
    }

    private ConversionException Problem(KerasLayer layer, string problem) => new($"{Source}: layer '{layer.Name}' ({layer.ClassName}) {problem}");

    private Value NewValue(string stem, int[] shape) => new(_valueNames.Take(stem), DataType.Float32, shape);

    private Value Constant(string stem, int[] shape, float[] values) => Value.Floats(_valueNames.Take(stem), shape, values);

    private Value Emit(OpCode code, IOpOptions? options, Value?[] inputs, Value output, string name)
    {
        var node = new Node(_nodeNames.Take(name), code.ToString(), inputs, [output]).Lower(code, options);
        graph.Nodes.Add(node);
        _producers[output] = node;
        return output;
    }
}
