namespace EdgeInfer.TestSupport;

/// <summary>
/// Steady-state allocation measurement. The runtime's own code must allocate nothing per call, but the first rounds
/// of a test may still see .NET's tiered compilation finish its call counting on the calling thread (a one-off
/// allocation, seen once in a few hundred runs). So a round of calls is repeated until one allocates nothing, a few
/// times at most; real per-call allocation shows in every round. Tests assert that the last round is 0.
/// </summary>
public static class AllocationProbe
{
    /// <summary>Bytes allocated on this thread by each round of <paramref name="callsPerRound"/> calls, up to the first round of 0.</summary>
    public static long[] SteadyState(Action call, int callsPerRound = 1000, int maxRounds = 4)
    {
        var rounds = new List<long>(maxRounds);
        for (int round = 0; round < maxRounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerRound; i++)
            {
                call();
            }

            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            if (rounds[^1] == 0)
            {
                break;
            }
        }

        return [.. rounds];
    }
}
