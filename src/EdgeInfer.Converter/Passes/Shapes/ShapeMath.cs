namespace EdgeInfer.Converter.Passes.Shapes;

/// <summary>
/// Shape arithmetic shared by shape inference, constant folding and lowering, so the three always agree. Methods
/// throw <see cref="ArgumentException"/> with a short reason; callers turn it into a message naming the node.
/// </summary>
internal static class ShapeMath
{
    public static long Count(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            n *= d;
        }

        return n;
    }

    public static string Text(ReadOnlySpan<int> shape) => "[" + string.Join(",", shape.ToArray()) + "]";

    /// <summary>Row-major strides (elements).</summary>
    public static long[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new long[shape.Length];
        long step = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            s[i] = step;
            step *= shape[i];
        }

        return s;
    }

    /// <summary>An axis in [−rank, rank) made non-negative.</summary>
    public static int Axis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1))
        {
            throw new ArgumentException($"axis {axis} is out of range for rank {rank}");
        }

        return (int)a;
    }

    /// <summary>NumPy (multidirectional) broadcasting.</summary>
    public static int[] Broadcast(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int d = 1;
            foreach (int[] s in shapes)
            {
                int k = i - (rank - s.Length);
                if (k < 0)
                {
                    continue;
                }

                int e = s[k];
                if (e == d || e == 1)
                {
                    continue;
                }

                if (d != 1)
                {
                    throw new ArgumentException($"shapes {string.Join(" and ", shapes.Select(x => Text(x)))} do not broadcast");
                }

                d = e;
            }

            result[i] = d;
        }

        return result;
    }

    /// <summary>For each output element of <paramref name="output"/>, the flat index into a tensor of shape <paramref name="input"/> broadcast to it.</summary>
    public static int[] BroadcastIndex(int[] input, int[] output)
    {
        int rank = output.Length;
        long[] inStrides = Strides(input);
        var strides = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            int k = i - (rank - input.Length);
            strides[i] = k >= 0 && input[k] != 1 ? inStrides[k] : 0;
        }

        var map = new int[Count(output)];
        var index = new int[rank];
        long offset = 0;
        for (int flat = 0; flat < map.Length; flat++)
        {
            map[flat] = (int)offset;
            for (int d = rank - 1; d >= 0; d--)
            {
                index[d]++;
                offset += strides[d];
                if (index[d] < output[d])
                {
                    break;
                }

                offset -= strides[d] * index[d];
                index[d] = 0;
            }
        }

        return map;
    }

    /// <summary>ONNX Reshape: 0 copies the input dimension (unless allowzero), −1 is inferred.</summary>
    public static int[] Reshape(int[] input, long[] target, bool allowZero)
    {
        var shape = new int[target.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long t = target[i];
            if (t == -1)
            {
                if (inferred >= 0)
                {
                    throw new ArgumentException($"target shape [{string.Join(",", target)}] has more than one -1");
                }

                inferred = i;
                continue;
            }

            if (t == 0 && !allowZero)
            {
                if (i >= input.Length)
                {
                    throw new ArgumentException($"target shape [{string.Join(",", target)}] copies dimension {i}, which the input {Text(input)} lacks");
                }

                t = input[i];
            }

            if (t < 0 || t > int.MaxValue)
            {
                throw new ArgumentException($"target shape [{string.Join(",", target)}] has dimension {t}");
            }

            shape[i] = (int)t;
            known *= t;
        }

        long total = Count(input);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                throw new ArgumentException($"cannot reshape {Text(input)} to [{string.Join(",", target)}]");
            }

            shape[inferred] = (int)(total / known);
        }
        else if (known != total)
        {
            throw new ArgumentException($"cannot reshape {Text(input)} ({total} elements) to {Text(shape)}");
        }

        return shape;
    }

    public static int[] Flatten(int[] input, long axis)
    {
        int a = axis < 0 ? (int)axis + input.Length : (int)axis;
        if (a < 0 || a > input.Length)
        {
            throw new ArgumentException($"flatten axis {axis} is out of range for rank {input.Length}");
        }

        return [(int)Count(input.AsSpan(0, a)), (int)Count(input.AsSpan(a))];
    }

    /// <summary>Squeeze: the listed axes (which must be 1), or every 1 when none are listed.</summary>
    public static int[] Squeeze(int[] input, long[]? axes)
    {
        if (axes is null || axes.Length == 0)
        {
            return [.. input.Where(d => d != 1)];
        }

        var drop = new HashSet<int>(axes.Select(a => Axis(a, input.Length)));
        foreach (int a in drop)
        {
            if (input[a] != 1)
            {
                throw new ArgumentException($"cannot squeeze axis {a} of {Text(input)}: it is not 1");
            }
        }

        return [.. input.Where((d, i) => !drop.Contains(i))];
    }

    public static int[] Unsqueeze(int[] input, long[] axes)
    {
        int rank = input.Length + axes.Length;
        var insert = new HashSet<int>(axes.Select(a => Axis(a, rank)));
        if (insert.Count != axes.Length)
        {
            throw new ArgumentException($"unsqueeze axes [{string.Join(",", axes)}] repeat an axis");
        }

        var shape = new int[rank];
        int k = 0;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = insert.Contains(i) ? 1 : input[k++];
        }

        return shape;
    }

    public static int[] DefaultPerm(int rank) => [.. Enumerable.Range(0, rank).Reverse()];

    public static int[] CheckPerm(long[] perm, int rank)
    {
        if (perm.Length != rank || perm.Any(p => p < 0 || p >= rank) || perm.Distinct().Count() != rank)
        {
            throw new ArgumentException($"perm [{string.Join(",", perm)}] is not a permutation of rank {rank}");
        }

        return [.. perm.Select(p => (int)p)];
    }

    public static int[] Permute(int[] shape, int[] perm) => [.. perm.Select(p => shape[p])];

    public static int[] Inverse(int[] perm)
    {
        var inv = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++)
        {
            inv[perm[i]] = i;
        }

        return inv;
    }

    public static bool IsIdentity(int[] perm) => perm.Select((p, i) => p == i).All(x => x);

    /// <summary>For each output element of a transpose, the flat input index.</summary>
    public static int[] TransposeIndex(int[] input, int[] perm)
    {
        int[] output = Permute(input, perm);
        long[] inStrides = Strides(input);
        var strides = perm.Select(p => inStrides[p]).ToArray();
        var map = new int[Count(output)];
        var index = new int[output.Length];
        long offset = 0;
        for (int flat = 0; flat < map.Length; flat++)
        {
            map[flat] = (int)offset;
            for (int d = output.Length - 1; d >= 0; d--)
            {
                index[d]++;
                offset += strides[d];
                if (index[d] < output[d])
                {
                    break;
                }

                offset -= strides[d] * index[d];
                index[d] = 0;
            }
        }

        return map;
    }

    public static int[] Concat(IReadOnlyList<int[]> inputs, int axis)
    {
        int[] first = inputs[0];
        var shape = first.ToArray();
        shape[axis] = 0;
        foreach (int[] s in inputs)
        {
            if (s.Length != first.Length || s.Where((d, i) => i != axis && d != first[i]).Any())
            {
                throw new ArgumentException($"cannot concatenate {string.Join(", ", inputs.Select(x => Text(x)))} on axis {axis}");
            }

            shape[axis] += s[axis];
        }

        return shape;
    }

    /// <summary>Reduction: the listed axes (all when empty, unless <paramref name="noopWithEmptyAxes"/>), kept as 1 or dropped.</summary>
    public static (int[] Shape, bool[] Reduced) Reduce(int[] input, long[]? axes, bool keepDims, bool noopWithEmptyAxes)
    {
        var reduced = new bool[input.Length];
        if (axes is null || axes.Length == 0)
        {
            if (!noopWithEmptyAxes)
            {
                Array.Fill(reduced, true);
            }
        }
        else
        {
            foreach (long a in axes)
            {
                reduced[Axis(a, input.Length)] = true;
            }
        }

        int[] shape = keepDims ? [.. input.Select((d, i) => reduced[i] ? 1 : d)] : [.. input.Where((d, i) => !reduced[i])];
        return (shape, reduced);
    }

    /// <summary>ONNX Slice on one axis: clamped start, step and element count.</summary>
    /// <summary>
    /// ONNX Slice with constant starts, ends, axes and steps over <paramref name="shape"/>: each axis' first index,
    /// step and count (axes not named keep 0, 1 and their size).
    /// </summary>
    public static (long[] Start, long[] Step, int[] Shape) SliceBox(int[] shape, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        int rank = shape.Length;
        axes ??= [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        steps ??= [.. Enumerable.Repeat(1L, starts.Length)];
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
        {
            throw new ArgumentException("starts, ends, axes and steps must have the same length");
        }

        var start = new long[rank];
        var step = Enumerable.Repeat(1L, rank).ToArray();
        int[] result = [.. shape];
        for (int i = 0; i < starts.Length; i++)
        {
            int a = Axis(axes[i], rank);
            (start[a], step[a], result[a]) = SliceAxis(shape[a], starts[i], ends[i], steps[i]);
        }

        return (start, step, result);
    }

    /// <summary>
    /// ONNX Split's output sizes along an axis of size <paramref name="dim"/>: the given sizes, or <paramref name="parts"/>
    /// near-equal ones (the first dim % parts one larger), or with opset 18's num_outputs, chunks of ceil(dim / parts)
    /// with a smaller last one.
    /// </summary>
    public static long[] SplitSizes(int dim, int parts, long[]? split, bool numOutputs)
    {
        long[] sizes = split ?? (numOutputs
            ? [.. Enumerable.Range(0, parts).Select(i => Math.Max(0L, Math.Min((dim + parts - 1) / parts, dim - (long)i * ((dim + parts - 1) / parts))))]
            : [.. Enumerable.Range(0, parts).Select(i => (long)(dim / parts + (i < dim % parts ? 1 : 0)))]);
        if (sizes.Length != parts || sizes.Any(v => v < 0) || sizes.Sum() != dim)
        {
            throw new ArgumentException($"split sizes [{string.Join(",", sizes)}] do not divide dimension {dim} into {parts} outputs");
        }

        return sizes;
    }

    public static (long Start, long Step, int Count) SliceAxis(int dim, long start, long end, long step)
    {
        if (step == 0)
        {
            throw new ArgumentException("slice step is 0");
        }

        if (start < 0)
        {
            start += dim;
        }

        if (end < 0)
        {
            end += dim;
        }

        if (step > 0)
        {
            start = Math.Clamp(start, 0, dim);
            end = Math.Clamp(end, 0, dim);
            long count = end > start ? (end - start + step - 1) / step : 0;
            return (start, step, (int)count);
        }
        else
        {
            start = Math.Clamp(start, -1, dim - 1);
            end = Math.Clamp(end, -1, dim - 1);
            long count = start > end ? (start - end + (-step) - 1) / -step : 0;
            return (start, step, (int)count);
        }
    }
}
