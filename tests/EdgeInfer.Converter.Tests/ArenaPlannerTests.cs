using EdgeInfer.Converter.Planning;
using EdgeInfer.Converter.Tests.Support;

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

public class ReshapeViewTests
{
    [Fact]
    public void Emit_EveryReshape_IsAViewOfItsInput_AndTheModelRunsAsBefore()
    {
        // digits_cnn has a Reshape (flatten) before the classifier: its output must take its input's bytes, and the
        // logits must not change (Interpreter against the fixture's expected values is EndToEndTests' job; here the
        // plan itself is checked, and that the reader accepts it).
        byte[] file = ModelConverter.Convert(Path.Combine(Fixtures.Directory, "digits/digits_cnn.onnx"), new ConvertOptions()).File;
        EdgeInfer.Format.ModelGraph g = EdgeInfer.Format.Model.Verify(file, "digits_cnn.eim");
        var reshapes = g.Nodes.Where(n => n.OpCode == EdgeInfer.Format.OpCode.Reshape).ToList();
        Assert.NotEmpty(reshapes);
        foreach (var node in reshapes)
        {
            var input = g.Tensors[node.Inputs[0]];
            var output = g.Tensors[node.Outputs[0]];
            Assert.Equal(input.Offset, output.Offset);
            Assert.Equal(input.ByteLength, output.ByteLength);
        }
    }
}
