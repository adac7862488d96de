using EdgeInfer.Converter.Planning;

namespace EdgeInfer.Converter.Tests;

public class ArenaPlannerTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Plan_RandomLifetimes_NeverOverlapsAndFitsInSumOfSizes(int seed)
    {
        var rng = new Random(seed);
        for (int round = 0; round < 200; round++)
        {
            int count = rng.Next(1, 40);
            int steps = rng.Next(1, 30);
            var buffers = new List<PlannedBuffer>();
            for (int i = 0; i < count; i++)
            {
                int first = rng.Next(steps);
                int last = first + rng.Next(steps - first);
                buffers.Add(new PlannedBuffer(rng.Next(1, 5000), first, last));
            }

            ArenaPlan plan = ArenaPlanner.Plan(buffers);
            Assert.False(ArenaPlanner.AnyOverlap(buffers, plan.Offsets), $"seed {seed} round {round}: buffers overlap");
            long aligned = buffers.Sum(b => (b.Size + 63) / 64 * 64);
            Assert.True(plan.ArenaBytes <= aligned, $"arena {plan.ArenaBytes} exceeds the aligned sum {aligned}");
            Assert.All(plan.Offsets, o => Assert.Equal(0, o % 64));
            for (int i = 0; i < count; i++)
            {
                Assert.True(plan.Offsets[i] + buffers[i].Size <= plan.ArenaBytes);
            }
        }
    }

    [Fact]
    public void Plan_DisjointLifetimes_ShareBytes()
    {
        PlannedBuffer[] buffers = [new(1000, 0, 1), new(1000, 2, 3), new(1000, 4, 5)];
        ArenaPlan plan = ArenaPlanner.Plan(buffers);
        Assert.Equal(1024, plan.ArenaBytes);
    }

    [Fact]
    public void AnyOverlap_DetectsSharedBytesOfLiveBuffers()
    {
        PlannedBuffer[] buffers = [new(100, 0, 2), new(100, 1, 3)];
        Assert.True(ArenaPlanner.AnyOverlap(buffers, [0, 50]));
        Assert.False(ArenaPlanner.AnyOverlap(buffers, [0, 128]));
    }
}
