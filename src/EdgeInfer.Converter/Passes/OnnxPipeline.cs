using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Lowering;

namespace EdgeInfer.Converter.Passes;

// The order of the ONNX conversion passes. Each pass is one file with one job; this file only sequences them:
//   import → dead code → input shapes → opset canonicalization → shape inference and constant folding →
//   Identity/Dropout removal → BatchNormalization folding, then decomposition of the rest → zero-Pad folding →
//   lowering with channels-last layout → transpose cleanup → FullyConnected bias fusion → x·HardSigmoid(x) and
//   x·Sigmoid(x) into HardSwish and Swish → activation fusion → dead code.
// The flatten Transpose before a FullyConnected stays in the float graph: folding it into the weights reorders the
// FullyConnected's terms, which changes float rounding (see FoldTransposeIntoFullyConnected); int8 quantization,
// whose sums are exact, folds it (QuantizationPipeline).
// The result is a fully lowered float graph, ready for ModelEmitter (or quantization).

public static class OnnxPipeline
{
    /// <summary>Imports <paramref name="path"/> and runs every pass.</summary>
    /// <exception cref="ConversionException">The model cannot be converted; the message names the file and the node.</exception>
    public static Graph Convert(string path, ConvertOptions options, Action<string> note)
        => Run(OnnxImporter.Import(path, options, note), options, note);

    /// <summary>Runs every pass over an imported ONNX graph.</summary>
    public static Graph Run(Graph graph, ConvertOptions options, Action<string> note)
    {
        RemoveDeadCode.Run(graph, note);
        FixInputShapes.Run(graph, options, note);
        CanonicalizeOpsets.Run(graph, note);
        ShapeInference.Run(graph, note);
        RemoveIdentities.Run(graph, note);
        FoldBatchNorm.Run(graph, note);
        DecomposeBatchNorm.Run(graph, note);
        FoldPadIntoConv.Run(graph, note);
        LowerToEdgeInfer.Run(graph, note, options);
        TransposeCleanup.Run(graph, note);
        FuseFullyConnectedBias.Run(graph, note);
        FuseSelfGating.Run(graph, note);
        FuseActivations.Run(graph, note);
        RemoveDeadCode.Run(graph, note);
        if (graph.Inputs.Count == 0)
        {
            throw new ConversionException($"{graph.Source}: the model has no runtime inputs (everything folded to constants); EdgeInfer models need at least one input");
        }

        return graph;
    }
}
