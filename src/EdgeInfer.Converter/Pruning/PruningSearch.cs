using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Pruning;

/// <summary>What the pruning search found: each layer's sparsity, what stayed dense and the accuracy it measured.</summary>
public sealed record PruningSearchReport(double BaselineAccuracy, double PrunedAccuracy, IReadOnlyList<string> KeptDense,
    IReadOnlyList<PrunedLayer> Layers, int Evaluations)
{
    public double DropPoints => (BaselineAccuracy - PrunedAccuracy) * 100;

    /// <summary>Zero blocks over all blocks of the pruned layers.</summary>
    public double Sparsity => Layers.Count == 0 ? 0 : Layers.Sum(l => (double)l.ZeroBlocks) / Layers.Sum(l => (double)l.Blocks);
}

/// <summary>
/// <c>--prune auto</c>: as much sparsity as the accuracy budget allows, measured on the user's labelled data with the
/// runtime's own float kernels. Sensitivity-driven, in two bisections, so the evaluations grow linearly with the
/// layers (about 5 per layer plus 6):
/// <list type="number">
/// <item>Each prunable layer alone: the largest sparsity in [0, <see cref="MaxSparsity"/>] whose accuracy drop stays
/// within the budget — the layer's cap. A layer that cannot lose even the smallest step stays dense.</item>
/// <item>All layers together at the same fraction α of their caps, α bisected on [0, 1] to the largest whose joint
/// drop stays within the budget.</item>
/// </list>
/// Robust layers (wide hidden layers) thus end up much sparser than fragile ones (the first convolution, the
/// classifier), which a single uniform sparsity cannot do.
/// </summary>
public static class PruningSearch
{
    public const double MaxSparsity = 0.95;
    private const int LayerSteps = 5;
    private const int JointSteps = 6;

    public static (Graph Graph, PruningSearchReport Report) Run(Graph floatGraph, double maxDropPoints, Dataset evaluation, PruningOptions options,
        Action<string> note, Action<int, int>? progress = null)
    {
        if (evaluation.Labels is null)
        {
            throw new ConversionException($"{evaluation.Source}: --prune auto needs labelled evaluation data");
        }

        if (!(maxDropPoints >= 0))
        {
            throw new ConversionException($"{floatGraph.Source}: the pruning budget {maxDropPoints} must be 0 or more points");
        }

        string[] layers = [.. floatGraph.Nodes.Where(n => MagnitudePruner.IsPrunable(n) && n.Inputs[1]!.ElementCount >= options.MinWeights
            && !options.Skip.Contains(n.Name)).Select(n => n.Name)];
        int total = 1 + layers.Length * LayerSteps + JointSteps;
        int evaluations = 0;
        double Accuracy(IReadOnlyDictionary<string, double> sparsity)
        {
            Graph g = floatGraph.Clone();
            MagnitudePruner.Prune(g, With(options, sparsity), _ => { });
            using Model model = Model.FromBytes(ModelEmitter.Emit(g).File, g.Name + " (pruned)");
            double accuracy = ModelEvaluator.Evaluate(model, evaluation).Accuracy!.Value;
            progress?.Invoke(++evaluations, total);
            return accuracy;
        }

        double baseline = Accuracy(new Dictionary<string, double>());
        bool Within(double accuracy) => (baseline - accuracy) * 100 <= maxDropPoints;

        var caps = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string layer in layers)
        {
            caps[layer] = Bisect(MaxSparsity, LayerSteps, s => Within(Accuracy(new Dictionary<string, double> { [layer] = s })));
        }

        double alpha = Bisect(1, JointSteps, a => Within(Accuracy(Scaled(caps, a))));
        Graph result = floatGraph.Clone();
        IReadOnlyList<PrunedLayer> pruned = MagnitudePruner.Prune(result, With(options, Scaled(caps, alpha)), note);
        using Model final = Model.FromBytes(ModelEmitter.Emit(result.Clone()).File, result.Name + " (pruned)");
        double accuracy = ModelEvaluator.Evaluate(final, evaluation).Accuracy!.Value;
        string[] dense = [.. layers.Where(l => caps[l] * alpha == 0)];
        if (dense.Length > 0)
        {
            note($"kept dense (any pruning alone exceeds the budget): {string.Join(", ", dense)}");
        }

        note($"pruning search: accuracy {baseline * 100:F2}% → {accuracy * 100:F2}% (budget {maxDropPoints:F2} points, {evaluations + 1} evaluations)");
        return (result, new PruningSearchReport(baseline, accuracy, dense, pruned, evaluations + 1));
    }

    /// <summary>The largest x in [0, max] (to max/2^steps) with <paramref name="ok"/>(x), given that ok(0) holds.</summary>
    private static double Bisect(double max, int steps, Func<double, bool> ok)
    {
        if (ok(max))
        {
            return max;
        }

        double low = 0, high = max;
        for (int i = 1; i < steps; i++)
        {
            double mid = (low + high) / 2;
            (low, high) = ok(mid) ? (mid, high) : (low, mid);
        }

        return low;
    }

    private static Dictionary<string, double> Scaled(Dictionary<string, double> caps, double alpha)
        => caps.ToDictionary(kv => kv.Key, kv => kv.Value * alpha, StringComparer.Ordinal);

    private static PruningOptions With(PruningOptions options, IReadOnlyDictionary<string, double> sparsity) => new()
    {
        Sparsity = 0,
        BlockWidth = options.BlockWidth,
        MinWeights = options.MinWeights,
        Skip = options.Skip,
        PerLayer = sparsity,
    };
}
