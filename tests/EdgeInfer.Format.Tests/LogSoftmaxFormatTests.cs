using EdgeInfer.Format;

namespace EdgeInfer.Format.Tests;

public class LogSoftmaxFormatTests
{
    [Fact]
    public void LogSoftmax_IsKnown_AndTakesSoftmaxOptions()
    {
        Assert.Equal(32, (int)OpCode.LogSoftmax);
        Assert.True(OpCodes.IsKnown(OpCode.LogSoftmax));
        Assert.Equal(SoftmaxOptions.Size, OpCodes.OptionsSize(OpCode.LogSoftmax));
    }

    [Fact]
    public void Model_WithLogSoftmax_ReadsBackItsOptions()
    {
        var options = new SoftmaxOptions(1, 0.5f);
        using Model model = Model.FromBytes(Write(options), "log-softmax.eim");
        Assert.Equal(OpCode.LogSoftmax, model.Graph.Nodes[0].OpCode);
        Assert.Equal(options, SoftmaxOptions.Read(model.OptionsBytes(model.Graph.Nodes[0])));
    }

    [Fact]
    public void Writer_LogSoftmaxWithoutOptions_IsRefused()
        => Assert.Contains("LogSoftmax takes 8 bytes", Assert.Throws<ArgumentException>(() => Write(null)).Message);

    private static byte[] Write(SoftmaxOptions? options)
    {
        var w = new ModelWriter("log-softmax");
        int x = w.AddArenaTensor("x", DataType.Float32, [2, 5], 0);
        int y = w.AddArenaTensor("y", DataType.Float32, [2, 5], 64);
        w.ArenaBytes = 128;
        w.AddNode(OpCode.LogSoftmax, "log_softmax", [x], [y], options);
        w.AddInput(x);
        w.AddOutput(y);
        return w.ToArray();
    }
}
