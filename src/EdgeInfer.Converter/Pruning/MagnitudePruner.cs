using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Pruning;

/// <summary>What <c>--prune</c> asks for.</summary>
public sealed class PruningOptions
{
    /// <summary>Fraction of each prunable layer's weight blocks set to zero, in [0, 0.99].</summary>
    public double Sparsity { get; init; }

    /// <summary>
    /// Elements per block, along each output channel's weights. 16 is the width the int8 sparse kernels read as one
    /// vector, so the pruned layer's work shrinks with its blocks; smaller blocks keep more accuracy but only make
    /// the file smaller.
    /// </summary>
    public int BlockWidth { get; init; } = Format.SparseBlocks.DefaultBlockWidth;

    /// <summary>Layers with fewer weights than this stay dense: pruning them saves little and costs the most accuracy.</summary>
    public int MinWeights { get; init; } = 1024;

    /// <summary>Node names to leave dense.</summary>
    public IReadOnlySet<string> Skip { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Sparsity by node name, in place of <see cref="Sparsity"/> for the layers it names (the pruning search's choice).</summary>
    public IReadOnlyDictionary<string, double>? PerLayer { get; init; }

    public double SparsityOf(string node) => PerLayer is not null && PerLayer.TryGetValue(node, out double s) ? s : Sparsity;
}

/// <summary>One pruned layer.</summary>
public sealed record PrunedLayer(string Node, string Weights, long WeightCount, int Blocks, int ZeroBlocks)
{
    public double Sparsity => (double)ZeroBlocks / Blocks;
}

/// <summary>
/// Post-training magnitude pruning of the matrix layers (FullyConnected, and Conv2D without groups) on the float graph,
/// before quantization, so that calibration sees the pruned model. Each output channel's weights — a row of
/// [N, K], or of OHWI read as [O, H·W·I] — are cut into blocks of <see cref="PruningOptions.BlockWidth"/>; in each
/// layer the blocks of smallest L2 norm are set to zero until the requested fraction is zero. Ranking within the
/// layer (not across layers) keeps every layer's share of the budget equal, which is the usual choice without
/// fine-tuning: a global ranking empties the layers whose weights happen to be small in scale.
/// <para>Zero blocks are then stored sparse by the emitter (<see cref="Emit.SparseStorage"/>), which also finds the
/// zero blocks of a model pruned during training.</para>
/// </summary>
public static class MagnitudePruner
{
    public static IReadOnlyList<PrunedLayer> Prune(Graph graph, PruningOptions options, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.Sparsity >= 0 && options.Sparsity <= 0.99) || options.PerLayer?.Values.Any(v => !(v >= 0 && v <= 0.99)) == true)
        {
            throw new ConversionException($"{graph.Source}: a pruning sparsity is outside 0..0.99");
        }

        if (!Format.SparseLayout.IsValidBlockWidth(options.BlockWidth))
        {
            throw new ConversionException($"{graph.Source}: block width {options.BlockWidth} is not a power of two from 1 to 64");
        }

        var pruned = new List<PrunedLayer>();
        var done = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (Node node in graph.Nodes)
        {
            if (!IsPrunable(node) || options.Skip.Contains(node.Name) || node.Inputs[1] is not { } weights || !done.Add(weights)
                || weights.ElementCount < options.MinWeights || options.SparsityOf(node.Name) == 0)
            {
                continue;
            }

            int rows = weights.Shape![0];
            int columns = (int)(weights.ElementCount / rows);
            float[] values = weights.Constant!.ToFloatArray();
            int blocks = PruneRows(values, rows, columns, options.BlockWidth, options.SparsityOf(node.Name));
            weights.Constant = TensorData.FromFloats(values);
            pruned.Add(new PrunedLayer(node.Name, weights.Name, weights.ElementCount, blocks, CountZeroBlocks(values, rows, columns, options.BlockWidth)));
        }

        if (pruned.Count > 0)
        {
            long all = pruned.Sum(p => p.WeightCount);
            double zero = pruned.Sum(p => (double)p.ZeroBlocks) / pruned.Sum(p => (double)p.Blocks);
            note($"pruned {pruned.Count} layers ({all:N0} weights): {zero:P1} of their blocks of {options.BlockWidth} are zero");
        }

        return pruned;
    }

    /// <summary>FullyConnected and ungrouped Conv2D with constant float32 weights of rank 2 or more.</summary>
    public static bool IsPrunable(Node node)
        => IsMatrixLayer(node) && node.Inputs[1] is { IsConstant: true, Type: DataType.Float32, Shape.Length: >= 2 };

    /// <summary>True when <paramref name="node"/> is a FullyConnected or ungrouped Conv2D whose weights (only) are <paramref name="v"/>.</summary>
    public static bool IsWeightsOf(Node node, Value v)
        => IsMatrixLayer(node) && ReferenceEquals(node.Inputs[1], v) && !ReferenceEquals(node.Inputs[0], v)
            && (node.Inputs.Count < 3 || !ReferenceEquals(node.Inputs[2], v));

    private static bool IsMatrixLayer(Node node)
        => node.Code is OpCode.FullyConnected or OpCode.Conv2D && !(node.Options is Conv2DOptions conv && conv.Groups != 1) && node.Inputs.Count >= 2;

    /// <summary>Zeroes the round(sparsity·blocks) blocks of least L2 norm (ties: the earlier block first).</summary>
    internal static int PruneRows(Span<float> values, int rows, int columns, int width, double sparsity)
    {
        int perRow = (columns + width - 1) / width;
        int blocks = rows * perRow;
        var norms = new double[blocks];
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < perRow; b++)
            {
                double sum = 0;
                foreach (float v in Block(values, r, b, columns, width))
                {
                    sum += (double)v * v;
                }

                norms[r * perRow + b] = sum;
            }
        }

        int zeroed = (int)Math.Round(sparsity * blocks, MidpointRounding.AwayFromZero);
        int[] order = [.. Enumerable.Range(0, blocks).OrderBy(i => norms[i]).ThenBy(i => i).Take(zeroed)];
        foreach (int i in order)
        {
            Block(values, i / perRow, i % perRow, columns, width).Clear();
        }

        return blocks;
    }

    private static int CountZeroBlocks(ReadOnlySpan<float> values, int rows, int columns, int width)
    {
        int perRow = (columns + width - 1) / width;
        int zero = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < perRow; b++)
            {
                zero += Block(values, r, b, columns, width).IndexOfAnyExcept(0f) < 0 ? 1 : 0;
            }
        }

        return zero;
    }

    private static Span<float> Block(Span<float> values, int row, int block, int columns, int width)
        => values.Slice(row * columns + block * width, Math.Min(width, columns - block * width));

    private static ReadOnlySpan<float> Block(ReadOnlySpan<float> values, int row, int block, int columns, int width)
        => values.Slice(row * columns + block * width, Math.Min(width, columns - block * width));
}
