using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter;

/// <summary>What the user asked of a conversion.</summary>
public sealed class ConvertOptions
{
    /// <summary>
    /// Fixed shapes for graph inputs, by name; the empty key "" (an unnamed --input-shape) matches the first input,
    /// and when the model has a single input any one key matches it. Without one, a dynamic batch dimension becomes
    /// 1 and any other dynamic dimension is an error. A key naming no input is an error.
    /// </summary>
    public Dictionary<string, int[]> InputShapes { get; } = new(StringComparer.Ordinal);

    /// <summary>The model name written into the file; the source file name when null.</summary>
    public string? ModelName { get; init; }

    /// <summary>Receives one line per pass that changed something ("folded 2 BatchNormalization into Conv").</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// Lowers every LSTM and GRU to the unrolled per-step operator chain instead of the fused Lstm/Gru operators.
    /// Not a user choice (the fused form is smaller and faster, and computes the same bytes): tests convert one model
    /// both ways and compare the outputs.
    /// </summary>
    internal bool UnrollRecurrences { get; init; }
}

/// <summary>The converted file and what happened on the way.</summary>
public sealed record ConversionResult(byte[] File, EmitResult Emit, IReadOnlyList<string> Notes);

/// <summary>The converter's front door: source model file in, .eim bytes out.</summary>
public static class ModelConverter
{
    /// <summary>Converts the model at <paramref name="path"/>, choosing the importer by file extension.</summary>
    /// <exception cref="ConversionException">The file cannot be read or holds something EdgeInfer cannot convert.</exception>
    public static ConversionResult Convert(string path, ConvertOptions options)
    {
        var notes = new List<string>();
        void Note(string line)
        {
            notes.Add(line);
            options.Log?.Invoke(line);
        }

        Graph graph = Lower(path, options, Note);
        EmitResult emitted = ModelEmitter.Emit(graph);
        RequireLoads(emitted.File, path);
        return new ConversionResult(emitted.File, emitted, notes);
    }

    /// <summary>
    /// Loads an emitted file and prepares every kernel, as the device will, so that a model the runtime would refuse
    /// is never written. A refusal here is a converter bug (the graph passed every conversion check), so it is not a
    /// <see cref="ConversionException"/>: the CLI reports it as an internal error and asks for the model.
    /// </summary>
    /// <exception cref="InvalidOperationException">The runtime refuses the file; the message names the node.</exception>
    public static void RequireLoads(byte[] file, string source)
    {
        try
        {
            using Model model = Model.FromBytes(file, source);
            _ = new Runtime.Interpreter(model);
        }
        catch (EdgeInferModelException e)
        {
            throw new InvalidOperationException($"{source}: the converted model does not load in the runtime: {e.Message}", e);
        }
    }

    /// <summary>
    /// Imports the model at <paramref name="path"/> and runs the conversion passes: the fully lowered float graph,
    /// before emission (quantization and evaluation start from it).
    /// </summary>
    /// <exception cref="ConversionException">The file cannot be read or holds something EdgeInfer cannot convert.</exception>
    public static Graph Lower(string path, ConvertOptions options, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(options);
        Graph graph = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".onnx" => Passes.OnnxPipeline.Convert(path, options, note),
            ".tflite" => Passes.TfLitePipeline.Convert(path, options, note),
            ".h5" or ".hdf5" => Passes.KerasPipeline.Convert(path, options, note),
            ".keras" => throw new ConversionException($"{path}: the Keras 3 '.keras' archive is not supported; save the model as HDF5 (model.save(\"model.h5\")), or export it to ONNX or TFLite"),
            string ext => throw new ConversionException($"{path}: cannot convert '{ext}' files (supported: .onnx, .tflite, .h5)"),
        };
        graph.Name = options.ModelName ?? Path.GetFileNameWithoutExtension(path);

        return graph;
    }
}
