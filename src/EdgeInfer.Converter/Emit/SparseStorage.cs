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

        // Every layout stores at least the non-zero elements: when those alone exceed the budget (any dense trained
        // model), one counting pass decides, instead of measuring five layouts. The emitter runs once per pruning-search
        // and accuracy-contract round, so this keeps dense models from paying for sparse storage they never get.
        int size = DataTypes.SizeOf(v.Type);
        if ((long)NonZeroElements(data, size) * size > MaxStoredFraction * data.Length)
        {
            return null;
        }

        // Blocks of 16 first: the int8 kernels skip them whole. A model pruned in finer blocks (or element by
        // element) is stored in the narrowest width that qualifies, for its size alone: it is expanded at load.
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

    /// <summary>Elements with a non-zero byte (float −0 has been made +0 by then).</summary>
    private static int NonZeroElements(ReadOnlySpan<byte> data, int size)
    {
        if (size == 1)
        {
            return data.Length - data.Count((byte)0);
        }

        int nonZero = 0;
        foreach (int bits in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(data))
        {
            nonZero += bits != 0 ? 1 : 0;
        }

        return nonZero;
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
