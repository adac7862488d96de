using System.Text;
using EdgeInfer.Sensors.Outputs;

namespace EdgeInfer.Sensors.Tests;

public sealed class JsonLinesSinkTests
{
    [Fact]
    public void OnInference_WritesOneDeterministicLinePerResult()
    {
        using var stream = new MemoryStream();
        var sink = new JsonLinesSink(stream, ["idle", "sh\"ake"], flushEachLine: false, maxScores: 3);
        sink.OnInference(new InferenceResult(3, 96000, 1356000, 1, [-2.1f, 4.75f, float.NaN]));
        sink.OnInference(new InferenceResult(4, 0, 1, 7, [0.1f, 1e-8f, -0f]));
        Assert.Equal(0, stream.Length); // batched until Flush
        sink.Flush();
        Assert.Equal(
            "{\"window\":3,\"start_us\":96000,\"end_us\":1356000,\"class\":1,\"label\":\"sh\\\"ake\",\"scores\":[-2.1,4.75,null]}\n" +
            "{\"window\":4,\"start_us\":0,\"end_us\":1,\"class\":7,\"scores\":[0.1,1E-08,-0]}\n",
            Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Fact]
    public void OnInference_AllocatesNothing()
    {
        using var stream = new MemoryStream(1 << 20);
        var sink = new JsonLinesSink(stream, ["a", "b"], flushEachLine: false, maxScores: 2);
        float[] scores = [0.25f, -1.5f];
        sink.OnInference(new InferenceResult(0, 0, 0, 0, scores));
        sink.Flush();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            sink.OnInference(new InferenceResult(i, i, i, 1, scores));
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}

public sealed class GpioSinkTests
{
    [Fact]
    public void ForClass_DrivesThePinWhileThatClassWins_WritingOnlyChanges()
    {
        var pin = new FakeOutput();
        var sink = GpioSink.ForClass(pin, 1);
        foreach (int c in new[] { 0, 1, 1, 2, 1 })
        {
            sink.OnInference(new InferenceResult(0, 0, 0, c, [0f, 0f, 0f]));
        }

        Assert.Equal([false, true, false, true], pin.Writes);
        sink.Dispose();
        Assert.True(pin.Disposed);
    }

    [Fact]
    public void ForThreshold_DrivesThePinWhileTheScoreIsHighEnough()
    {
        var pin = new FakeOutput();
        var sink = GpioSink.ForThreshold(pin, 2, 0.5f);
        foreach (float s in new[] { 0.1f, 0.5f, 0.9f, 0.49f })
        {
            sink.OnInference(new InferenceResult(0, 0, 0, 0, [0f, 0f, s]));
        }

        Assert.Equal([false, true, false], pin.Writes);
    }
}
