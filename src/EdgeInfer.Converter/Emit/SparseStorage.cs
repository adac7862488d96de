using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Emit;

/// <summary>
/// Decides, constant by constant, whether the emitter stores it block-sparse. A constant qualifies when it is the
/// weights of FullyConnected or ungrouped Conv2D layers only (the operators the pruner prunes and the sparse kernels
/// multiply by), float32 or int8, and its non-zero blocks stored with their indices take at most
/// <see cref="MaxStoredFraction"/> of its dense bytes. The test is on the bytes, so a model pruned during training
/// qualifies as one pruned by <c>--prune</c>, and a dense model never does.
/// </summary>
public static class SparseStorage
{
    /// <summary>
    /// Below this fraction of the dense bytes, sparse storage is chosen: about two thirds of the int8 blocks stored
    /// (18 bytes per 16 weights with the index). Nearer to dense, the index bookkeeping would cost the int8 kernel
    /// more time than the skipped blocks save.
    /// </summary>
    public const double MaxStoredFraction = 0.75;

    /// <summary>
    /// The layout to store <paramref name="v"/> in and the dense bytes to encode, or null to store it dense. Float
    /// weights of −0 (what a training framework's mask multiplication leaves on negative weights) count as zero and
    /// are written as +0: in a sum of products they contribute exactly what +0 does, up to the sign of a zero result.
    /// </summary>
    public static (SparseLayout Layout, byte[] Data)? Choose(Value v, IReadOnlyList<Node>? consumers)
    {
        if (v is not { IsConstant: true, Type: DataType.Float32 or DataType.Int8, Shape.Length: >= 2 } || consumers is not { Count: > 0 }
            || !consumers.All(n => Pruning.MagnitudePruner.IsWeightsOf(n, v)))
        {
            return null;
        }

        byte[] data = v.Constant!.Bytes;
        if (v.Type == DataType.Float32 && HasNegativeZero(v.Constant.Floats))
        {
            float[] positive = v.Constant.ToFloatArray();
            for (int i = 0; i < positive.Length; i++)
            {
                positive[i] = positive[i] == 0 ? 0f : positive[i];
            }

            data = TensorData.FromFloats(positive).Bytes;
        }

        // Blocks of 16 first: the int8 kernels skip them whole. A model pruned in finer blocks (or element by
        // element) is stored in the narrowest width that qualifies, for its size alone: it is expanded at load.
        int size = DataTypes.SizeOf(v.Type);
        SparseLayout? best = null;
        foreach (int width in (ReadOnlySpan<int>)[SparseBlocks.DefaultBlockWidth, 8, 4, 2, 1])
        {
            SparseLayout? layout = SparseBlocks.Measure(data, v.Shape, size, width);
            if (layout is not null && layout.ByteLength(size) <= MaxStoredFraction * data.Length
                && (best is null || layout.ByteLength(size) < best.ByteLength(size)))
            {
                if (width == SparseBlocks.DefaultBlockWidth)
                {
                    return (layout, data);
                }

                best = layout;
            }
        }

        return best is null ? null : (best, data);
    }

    private static bool HasNegativeZero(ReadOnlySpan<float> values)
    {
        foreach (float f in values)
        {
            if (f == 0 && float.IsNegative(f))
            {
                return true;
            }
        }

        return false;
    }
}
