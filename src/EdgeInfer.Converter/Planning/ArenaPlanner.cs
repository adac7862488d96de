namespace EdgeInfer.Converter.Planning;

// Greedy-by-size arena planning (the algorithm TensorFlow Lite Micro's GreedyMemoryPlanner uses).
//
// Every activation is a buffer with a size and a lifetime [first step, last step] in execution order. Two buffers
// may share bytes only if their lifetimes do not intersect. Finding the smallest arena is NP-hard (it is dynamic
// storage allocation), so we place greedily, largest first:
//   1. Sort the buffers by size, largest first (ties: earlier first use first, then index, so the plan is
//      deterministic).
//   2. For each buffer, take the already-placed buffers whose lifetimes intersect its own, ordered by offset, and
//      walk the gaps between them from offset 0: the first gap at least as large as the buffer (after rounding
//      the start up to the alignment) is where it goes; if none, it goes after the last of them.
//   3. The arena size is the highest end offset.
// Large buffers placed first pin down the layout, and small ones fill the holes between them, which is why this
// order does well in practice. Cost is O(n² log n) for n buffers: trivial for models of thousands of tensors.

/// <summary>A buffer to place: its byte size and the first and last execution steps at which it must be intact.</summary>
public readonly record struct PlannedBuffer(long Size, int FirstUse, int LastUse)
{
    public bool LivesWith(PlannedBuffer other) => FirstUse <= other.LastUse && other.FirstUse <= LastUse;
}

/// <summary>Offsets for each buffer and the arena size they need.</summary>
public sealed record ArenaPlan(long[] Offsets, long ArenaBytes);

public static class ArenaPlanner
{
    public static ArenaPlan Plan(IReadOnlyList<PlannedBuffer> buffers, int alignment = FormatConstants.Alignment)
    {
        int n = buffers.Count;
        int[] order = [.. Enumerable.Range(0, n)
            .OrderByDescending(i => buffers[i].Size)
            .ThenBy(i => buffers[i].FirstUse)
            .ThenBy(i => i)];

        var offsets = new long[n];
        var placed = new List<int>(n);
        long arena = 0;
        foreach (int i in order)
        {
            PlannedBuffer b = buffers[i];
            long candidate = 0;
            foreach (int p in placed.Where(p => buffers[p].LivesWith(b)).OrderBy(p => offsets[p]))
            {
                if (candidate + b.Size <= offsets[p])
                {
                    break; // the gap before p holds b
                }

                candidate = Math.Max(candidate, AlignUp(offsets[p] + buffers[p].Size, alignment));
            }

            offsets[i] = candidate;
            placed.Add(i);
            arena = Math.Max(arena, candidate + b.Size);
        }

        return new ArenaPlan(offsets, AlignUp(arena, alignment));
    }

    /// <summary>True when two buffers alive at the same step share a byte: the plan would corrupt data.</summary>
    public static bool AnyOverlap(IReadOnlyList<PlannedBuffer> buffers, IReadOnlyList<long> offsets)
    {
        for (int i = 0; i < buffers.Count; i++)
        {
            for (int j = i + 1; j < buffers.Count; j++)
            {
                if (buffers[i].LivesWith(buffers[j])
                    && offsets[i] < offsets[j] + buffers[j].Size
                    && offsets[j] < offsets[i] + buffers[i].Size)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;
}
