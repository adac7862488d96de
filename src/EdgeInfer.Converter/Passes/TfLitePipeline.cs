using EdgeInfer.Converter.Importers.TfLite;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// The TFLite conversion: the importer writes lowered, channels-last nodes with TFLite's own fusions and quantization,
// so no layout or folding pass applies; dead code (operators whose outputs reach no graph output) is removed.

public static class TfLitePipeline
{
    /// <exception cref="ConversionException">The model cannot be converted; the message names the file and the operator.</exception>
    public static Graph Convert(string path, ConvertOptions options, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InputShapes.Count > 0)
        {
            throw new ConversionException($"{path}: --input-shape applies to ONNX models; a TFLite model's shapes are fixed in the file");
        }

        return Run(TfLiteImporter.Import(path, options, note), note);
    }

    /// <summary>Runs the passes over an imported TFLite graph.</summary>
    public static Graph Run(Graph graph, Action<string> note)
    {
        RemoveDeadCode.Run(graph, note);
        return graph;
    }
}
