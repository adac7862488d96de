using System.Diagnostics;

namespace EdgeInfer.Cli.Bench;

/// <summary>Latency figures of one engine: per-call median and 90th percentile, managed bytes per call.</summary>
internal sealed record LatencyFigures(int Iterations, double MedianMicros, double P90Micros, double AllocatedBytesPerCall);

/// <summary>
/// Times calls one by one into a preallocated array, so measuring allocates nothing. Several engines are measured
/// in alternating blocks (<see cref="Compare"/>): a noisy neighbour on a shared machine then slows all of them
/// alike, and their ratio holds even when absolute figures wander.
/// </summary>
internal static class LatencyMeter
{
    /// <summary>Runs each engine until <paramref name="seconds"/> have passed (at least 10 calls), which also warms it
    /// up; returns a call count that takes about <paramref name="budgetSeconds"/> for the slowest engine.</summary>
    public static int Calibrate(IReadOnlyList<Action> engines, double seconds, double budgetSeconds)
    {
        double slowest = 0;
        foreach (Action run in engines)
        {
            long start = Stopwatch.GetTimestamp();
            int calls = 0;
            while (calls < 10 || Stopwatch.GetElapsedTime(start).TotalSeconds < seconds)
            {
                run();
                calls++;
            }

            slowest = Math.Max(slowest, Stopwatch.GetElapsedTime(start).TotalSeconds / calls);
        }

        return (int)Math.Clamp(budgetSeconds / Math.Max(slowest, 1e-7), 50, 200_000);
    }

    /// <summary>Measures every engine for <paramref name="iterations"/> calls in <paramref name="rounds"/> alternating blocks.
    /// <paramref name="beforeBlock"/> gets (round) and may change the inputs between blocks.</summary>
    public static LatencyFigures[] Compare(IReadOnlyList<Action> engines, int iterations, int rounds, Action<int> beforeBlock)
    {
        int perBlock = Math.Max(1, iterations / rounds);
        var ticks = new long[engines.Count][];
        var allocated = new long[engines.Count];
        for (int e = 0; e < engines.Count; e++)
        {
            ticks[e] = new long[perBlock * rounds];
        }

        for (int round = 0; round < rounds; round++)
        {
            beforeBlock(round);
            for (int e = 0; e < engines.Count; e++)
            {
                Action run = engines[e];
                long[] t = ticks[e];
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = round * perBlock, end = i + perBlock; i < end; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    run();
                    t[i] = Stopwatch.GetTimestamp() - start;
                }

                allocated[e] += GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }

        var figures = new LatencyFigures[engines.Count];
        for (int e = 0; e < engines.Count; e++)
        {
            long[] t = ticks[e];
            Array.Sort(t);
            double micros = 1e6 / Stopwatch.Frequency;
            figures[e] = new LatencyFigures(t.Length, t[t.Length / 2] * micros, t[(int)(t.Length * 0.9)] * micros, (double)allocated[e] / t.Length);
        }

        return figures;
    }
}
