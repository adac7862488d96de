using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes;

namespace EdgeInfer.Converter.Quantization;

/// <summary>What quantization did and what it cost.</summary>
public sealed record QuantizationReport(
    QuantizationMode Mode,
    CalibrationMethod Method,
    double? FloatAccuracy,
    double? QuantizedAccuracy,
    IReadOnlyList<string> KeptFloat,
    IReadOnlyList<LayerSqnr> Layers,
    int Rounds)
{
    public double? DropPoints => FloatAccuracy is double f && QuantizedAccuracy is double q ? (f - q) * 100 : null;
}

/// <summary>
/// Quantizes a lowered float graph, and keeps an accuracy contract when asked to: while the int8 model's top-1
/// accuracy on the evaluation data is more than the allowed number of points below the float model's, the layer
/// that loses the most signal (the largest drop in SQNR from its input to its output, measured against the float
/// model) is put back in float, and the graph is quantized again. Each round is one more float layer, so the loop
/// ends at the latest when everything is float.
/// </summary>
public static class QuantizationPipeline
{
    /// <summary>Samples used to rank layers; enough for a stable SQNR, few enough to be quick.</summary>
    private const int RankingSamples = 64;

    public static (Graph Graph, QuantizationReport Report) Run(Graph floatGraph, QuantizationOptions options, Dataset? evaluation, double? maxAccuracyDropPoints, Action<string> note)
    {
        if (options.Mode != QuantizationMode.None && floatGraph.Nodes.SelectMany(n => n.Outputs).Any(v => v.Type == DataType.Int8))
        {
            throw new ConversionException($"{floatGraph.Source}: the model is already quantized (its activations are int8); convert it without --quantize to keep its quantization");
        }

        if (options.Mode == QuantizationMode.Int8Weights)
        {
            Graph g = floatGraph.Clone();
            int count = WeightOnlyQuantizer.Quantize(g);
            note($"stored {count} weight tensors as int8 (dequantized once at load)");
            return (g, new QuantizationReport(options.Mode, options.Method, null, null, [], [], 1));
        }

        if (options.Mode != QuantizationMode.Int8)
        {
            return (floatGraph, new QuantizationReport(options.Mode, options.Method, null, null, [], [], 0));
        }

        IReadOnlyList<float[]> calibration = options.CalibrationSamples is { Count: > 0 } c ? c
            : throw new ConversionException($"{floatGraph.Source}: int8 quantization needs calibration data (--calibration FILE), or use --quantize int8-weights");
        RequireValid(floatGraph, options, evaluation, maxAccuracyDropPoints);

        // Integer sums do not depend on their order, so the flatten Transpose before a FullyConnected can go into
        // its weights here (the float pipeline keeps it to keep the source model's float summation order).
        floatGraph = floatGraph.Clone();
        FoldTransposeIntoFullyConnected.Run(floatGraph, note);
        TransposeCleanup.Run(floatGraph, note);
        Dictionary<string, ActivationStatistics> stats = CalibrationRunner.Collect(floatGraph.Clone(), calibration, options.Method != CalibrationMethod.MinMax, options.Progress);
        var ranges = stats.ToDictionary(kv => kv.Key, kv => RangeEstimator.Estimate(kv.Value, options.Method, options.Percentile), StringComparer.Ordinal);
        note($"calibrated {ranges.Count} activations on {calibration.Count} samples ({options.Method}{(options.Method == CalibrationMethod.Percentile ? $" {options.Percentile}" : "")})");

        using Model floatModel = Model.FromBytes(ModelEmitter.Emit(floatGraph.Clone()).File, floatGraph.Name + " (float)");
        EvaluationResult? floatResult = evaluation is { Labels: not null } ? ModelEvaluator.Evaluate(floatModel, evaluation) : null;
        var keep = new HashSet<string>(options.KeepFloat, StringComparer.Ordinal);
        int rounds = 0;
        while (true)
        {
            rounds++;
            Graph candidate = floatGraph.Clone();
            IReadOnlyList<string> keptFloat = Int8Quantizer.Quantize(candidate, ranges, Clone(options, keep));
            // The fused recurrences run between a Dequantize and a Quantize (their gates and states stay float), on
            // R, the bulk of a recurrent model's weights, stored int8 per row and read by the kernel itself: each
            // step's product is int8 R times the hidden state quantized on the fly (the hybrid product). One kept in
            // float (by name, or by the accuracy budget below) has its R dequantized at load and a float product.
            bool Kept(Node n) => keep.Contains(n.Name) || n.Outputs.Any(o => keep.Contains(o.Name));
            WeightOnlyQuantizer.QuantizeRecurrencesForHybridProduct(candidate, n => !Kept(n));
            WeightOnlyQuantizer.Quantize(candidate, n => n.Code is OpCode.Lstm or OpCode.Gru && Kept(n));
            var hybrid = candidate.Nodes.Where(n => n.Code is OpCode.Lstm or OpCode.Gru && !Kept(n)).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
            if (evaluation is null || floatResult?.Accuracy is null || maxAccuracyDropPoints is null)
            {
                IReadOnlyList<LayerSqnr> layers = evaluation is null ? [] : Rank(floatModel, candidate, evaluation);
                return (candidate, new QuantizationReport(options.Mode, options.Method, floatResult?.Accuracy, Accuracy(candidate, evaluation), keptFloat, layers, rounds));
            }

            using Model quantized = Model.FromBytes(ModelEmitter.Emit(candidate.Clone()).File, floatGraph.Name + " (int8)");
            double accuracy = ModelEvaluator.Evaluate(quantized, evaluation).Accuracy!.Value;
            double drop = (floatResult.Accuracy.Value - accuracy) * 100;
            IReadOnlyList<LayerSqnr> ranking = LayerComparison.Compare(floatModel, quantized, [.. evaluation.Samples.Take(RankingSamples)]);
            note($"round {rounds}: float {floatResult.Accuracy.Value * 100:F2}%, int8 {accuracy * 100:F2}% (drop {drop:F2} points, budget {maxAccuracyDropPoints:F2})");
            // Only a layer that runs in int8 can be given back to float: one already float (kept, or without an int8
            // kernel) would just cost a round. A hybrid recurrence counts as int8 (its product is), though its
            // activations are float.
            LayerSqnr? worst = ranking.Where(l => !keptFloat.Contains(l.Node) || hybrid.Contains(l.Node)).OrderByDescending(l => l.LossDb).FirstOrDefault();
            if (drop <= maxAccuracyDropPoints.Value || worst is null)
            {
                if (drop > maxAccuracyDropPoints.Value)
                {
                    note("every layer is float and the budget is still not met");
                }

                return (candidate, new QuantizationReport(options.Mode, options.Method, floatResult.Accuracy, accuracy, keptFloat, ranking, rounds));
            }

            keep.Add(worst.Node);
            note($"keeping '{worst.Node}' ({worst.Op}) in float: it loses {worst.LossDb:F1} dB (output SQNR {worst.SqnrDb:F1} dB)");
        }
    }

    /// <summary>
    /// Refuses data and options that would quietly give a broken or unintended model: NaN or infinite samples (a NaN
    /// makes every range it reaches NaN), a percentile outside (0, 100] (0
    /// collapses every range), a NaN accuracy budget (a negative one is allowed here: int8 must then beat float,
    /// which tests use to drive the loop to its end; the CLI refuses it), and --keep-float names that match no node
    /// or activation (a misspelt name would otherwise keep nothing in float, silently).
    /// </summary>
    private static void RequireValid(Graph graph, QuantizationOptions options, Dataset? evaluation, double? maxAccuracyDropPoints)
    {
        RequireFinite(options.CalibrationSamples!, options.CalibrationSource, "calibration");
        if (evaluation is not null)
        {
            RequireFinite(evaluation.Samples, evaluation.Source, "the accuracy contract");
        }

        if (options.Method == CalibrationMethod.Percentile && !(options.Percentile > 0 && options.Percentile <= 100))
        {
            throw new ConversionException($"{graph.Source}: --percentile {options.Percentile} is outside (0, 100]");
        }

        if (maxAccuracyDropPoints is double budget && double.IsNaN(budget))
        {
            throw new ConversionException($"{graph.Source}: the accuracy budget is NaN");
        }

        var known = new HashSet<string>(graph.Nodes.Select(n => n.Name), StringComparer.Ordinal);
        known.UnionWith(graph.Nodes.SelectMany(n => n.Outputs).Select(v => v.Name));
        string[] unknown = [.. options.KeepFloat.Where(k => !known.Contains(k))];
        if (unknown.Length > 0)
        {
            string examples = string.Join(", ", graph.Nodes.Take(5).Select(n => $"'{n.Name}'"));
            throw new ConversionException($"{graph.Source}: --keep-float {string.Join(", ", unknown.Select(u => $"'{u}'"))}: no node or activation has that name (nodes are named as in the source model, e.g. {examples}; `edgeinfer inspect` lists them)");
        }
    }

    private static void RequireFinite(IReadOnlyList<float[]> samples, string source, string purpose)
    {
        for (int s = 0; s < samples.Count; s++)
        {
            int bad = Array.FindIndex(samples[s], v => !float.IsFinite(v));
            if (bad >= 0)
            {
                throw new ConversionException($"{source}: sample {s + 1}, value {bad + 1} is {samples[s][bad]}; {purpose} needs finite values");
            }
        }
    }

    private static QuantizationOptions Clone(QuantizationOptions o, HashSet<string> keep) => new()
    {
        Mode = o.Mode,
        Method = o.Method,
        Percentile = o.Percentile,
        CalibrationSamples = o.CalibrationSamples,
        CalibrationSource = o.CalibrationSource,
        KeepFloat = keep,
        Int8InputsAndOutputs = o.Int8InputsAndOutputs,
        Progress = o.Progress,
    };

    private static IReadOnlyList<LayerSqnr> Rank(Model floatModel, Graph candidate, Dataset evaluation)
    {
        using Model quantized = Model.FromBytes(ModelEmitter.Emit(candidate.Clone()).File, candidate.Name + " (int8)");
        return LayerComparison.Compare(floatModel, quantized, [.. evaluation.Samples.Take(RankingSamples)]);
    }

    private static double? Accuracy(Graph candidate, Dataset? evaluation)
    {
        if (evaluation is not { Labels: not null })
        {
            return null;
        }

        using Model quantized = Model.FromBytes(ModelEmitter.Emit(candidate.Clone()).File, candidate.Name + " (int8)");
        return ModelEvaluator.Evaluate(quantized, evaluation).Accuracy;
    }
}
