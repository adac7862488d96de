using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Sensors.Windowing;

namespace EdgeInfer.Sensors.Tests;

public sealed class WindowBufferTests
{
    [Fact]
    public void Push_WindowsEndEveryHopAfterTheFirstLength()
    {
        var buffer = new WindowBuffer(length: 4, hop: 2, channels: 1);
        var ends = new List<long>();
        for (int t = 0; t < 10; t++)
        {
            if (buffer.Push([t], t * 10) == WindowEvent.Ready)
            {
                ends.Add(t);
                Assert.Equal(((t + 1) - 4) / 2, buffer.WindowIndex);
                Assert.Equal((t - 3) * 10, buffer.WindowStartMicros);
                Assert.Equal(t * 10, buffer.WindowEndMicros);
                for (int i = 0; i < 4; i++)
                {
                    Assert.Equal(t - 3 + i, buffer.Sample(i)[0]);
                }
            }
        }

        Assert.Equal([3L, 5, 7, 9], ends);
    }

    [Fact]
    public void PushGap_DiscardsEveryWindowHoldingIt_AndKeepsTheSchedule()
    {
        var buffer = new WindowBuffer(length: 4, hop: 2, channels: 2);
        var events = new List<(long, WindowEvent)>();
        for (int t = 0; t < 12; t++)
        {
            WindowEvent e = t == 4 ? buffer.PushGap() : buffer.Push([t, -t], t);
            if (e != WindowEvent.None)
            {
                events.Add((buffer.WindowIndex, e));
            }
        }

        // Windows cover ticks [0,4) [2,6) [4,8) [6,10) [8,12): the gap at tick 4 spoils windows 1 and 2.
        Assert.Equal([(0L, WindowEvent.Ready), (1, WindowEvent.Discarded), (2, WindowEvent.Discarded), (3, WindowEvent.Ready), (4, WindowEvent.Ready)], events);
    }

    [Fact]
    public void Push_WrongChannelCount_Throws()
    {
        var buffer = new WindowBuffer(4, 2, 3);
        Assert.Throws<ArgumentException>(() => buffer.Push([1f, 2f], 0));
    }
}

public sealed class WindowPreprocessorTests
{
    private static WindowBuffer Filled(int window, int channels)
    {
        var buffer = new WindowBuffer(window, window, channels);
        var sample = new float[channels];
        for (int t = 0; t < window; t++)
        {
            for (int c = 0; c < channels; c++)
            {
                sample[c] = (10 * c) + t;
            }

            buffer.Push(sample, t);
        }

        return buffer;
    }

    [Fact]
    public void Write_FloatChannelMajor_StandardizesEachChannel()
    {
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 2, window: 3, classes: 2));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 3, 2, Normalization.Standardize([1f, 10f], [2f, 4f]));
        Assert.Equal(InputLayout.ChannelMajor, pre.Layout);
        pre.Write(Filled(3, 2), interpreter.Input(0).Bytes);

        // channel 0: (t - 1) / 2 for t = 0..2; channel 1: (10 + t - 10) / 4.
        Assert.Equal([-0.5f, 0f, 0.5f, 0f, 0.25f, 0.5f], interpreter.Input(0).AsSpan<float>().ToArray());
    }

    [Fact]
    public void Write_SampleMajor_InterleavesChannels()
    {
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 2, window: 3, classes: 2));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 3, 2, Normalization.Affine([1f, 0.5f], [0f, 1f]), InputLayout.SampleMajor);
        pre.Write(Filled(3, 2), interpreter.Input(0).Bytes);
        Assert.Equal([0f, 6f, 1f, 6.5f, 2f, 7f], interpreter.Input(0).AsSpan<float>().ToArray());
    }

    [Fact]
    public void Write_Int8Input_QuantizesWithTheInputScaleAndZeroPoint()
    {
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 1, window: 4, classes: 2, int8Input: true, inputScale: 0.5f, inputZeroPoint: -3));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 4, 1, Normalization.Affine([1f], [-1.25f]));
        var buffer = new WindowBuffer(4, 4, 1);
        foreach (float v in new[] { 0f, 1f, 100f, -100f })
        {
            buffer.Push([v], 0);
        }

        pre.Write(buffer, interpreter.Input(0).Bytes);

        // q = round_half_away(x / 0.5) - 3, saturated: x = -1.25 → -2.5 → -3 → -6; -0.25 → -0.5 → -1 → -4; rails.
        Assert.Equal(new sbyte[] { -6, -4, 127, -128 }, interpreter.Input(0).AsSpan<sbyte>().ToArray());
    }

    [Fact]
    public void Constructor_WindowThatDoesNotFitTheInput_Throws()
    {
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 3, window: 8, classes: 2));
        var interpreter = new Interpreter(model);
        Assert.Throws<ArgumentException>(() => new WindowPreprocessor(interpreter.Input(0).Info, 16, 3, Normalization.Identity(3)));
    }

    [Fact]
    public void Write_AllocatesNothing()
    {
        using Model model = Model.FromBytes(TinyModels.WindowClassifier(channels: 3, window: 8, classes: 2, int8Input: true));
        var interpreter = new Interpreter(model);
        var pre = new WindowPreprocessor(interpreter.Input(0).Info, 8, 3, Normalization.Identity(3));
        WindowBuffer buffer = Filled(8, 3);
        pre.Write(buffer, interpreter.Input(0).Bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            pre.Write(buffer, interpreter.Input(0).Bytes);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
