using EdgeInfer.Converter.Importers.Keras;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// The Keras conversion: the importer writes lowered, channels-last nodes (BatchNormalization already folded where it
// can be); Reshape pairs around 1-D layers merge, activations fold into their producers' clamps, dead code goes.

public static class KerasPipeline
{
    /// <exception cref="ConversionException">The model cannot be converted; the message names the file and the layer.</exception>
    public static Graph Convert(string path, ConvertOptions options, Action<string> note)
        => Run(KerasImporter.Import(path, options, note), note);

    /// <summary>Runs the passes over an imported Keras graph.</summary>
    public static Graph Run(Graph graph, Action<string> note)
    {
        TransposeCleanup.Run(graph, note);
        FuseActivations.Run(graph, note);
        RemoveDeadCode.Run(graph, note);
        return graph;
    }
}
