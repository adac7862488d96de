using EdgeInfer.Format;

namespace EdgeInfer.Format.Tests;

public class RecurrentOptionsTests
{
    [Fact]
    public void WriteThenRead_GivesTheSameOptions()
    {
        var options = new RecurrentOptions(1, true, true, RecurrentActivation.HardSigmoid(0.2f, 0.5f), RecurrentActivation.Relu, RecurrentActivation.None, 10f);
        var bytes = new byte[RecurrentOptions.Size];
        options.Write(bytes);
        Assert.Equal(options, RecurrentOptions.Read(bytes));
        Assert.Equal(3, BitConverter.ToInt32(bytes, 4)); // flags: reverse | reset-after
        Assert.Equal((int)OpCode.HardSigmoid, BitConverter.ToInt32(bytes, 8));
        Assert.Equal(0.2f, BitConverter.ToSingle(bytes, 12));
        Assert.Equal(10f, BitConverter.ToSingle(bytes, 44)); // cell clip, the last field
    }

    [Fact]
    public void Read_UnknownFlagBitsOrWrongLength_Throws()
    {
        var bytes = new byte[RecurrentOptions.Size];
        new RecurrentOptions(0, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh).Write(bytes);
        bytes[4] = 4;
        Assert.Contains("unknown bits", Assert.Throws<ArgumentException>(() => RecurrentOptions.Read(bytes)).Message);
        Assert.Throws<ArgumentException>(() => RecurrentOptions.Read(bytes.AsSpan(0, 44)));
    }

    /// <summary>A file with both recurrences loads, and each node's options come back as written.</summary>
    [Fact]
    public void Model_WithLstmAndGru_ReadsBackTheirOptions()
    {
        var lstm = new RecurrentOptions(0, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh);
        var gru = new RecurrentOptions(0, true, true, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.None);
        var w = new ModelWriter("recurrent");
        int x = w.AddArenaTensor("x", DataType.Float32, [4, 1, 8], 0);
        int y = w.AddArenaTensor("y", DataType.Float32, [4, 1, 2], 128);
        int g = w.AddArenaTensor("g", DataType.Float32, [4, 1, 6], 192);
        int z = w.AddArenaTensor("z", DataType.Float32, [4, 1, 2], 320);
        w.ArenaBytes = 384;
        w.AddNode(OpCode.Lstm, "lstm", [x, w.AddConstant("r1", DataType.Float32, [8, 2], new byte[64])], [y], lstm);
        w.AddNode(OpCode.FullyConnected, "project", [y, w.AddConstant("w", DataType.Float32, [6, 2], new byte[48]), -1], [g], ClampOptions.None);
        w.AddNode(OpCode.Gru, "gru", [g, w.AddConstant("r2", DataType.Float32, [6, 2], new byte[48]), w.AddConstant("b", DataType.Float32, [2], new byte[8])], [z], gru);
        w.AddInput(x);
        w.AddOutput(z);
        using Model model = Model.FromBytes(w.ToArray(), "recurrent.eim");
        Assert.Equal([OpCode.Lstm, OpCode.FullyConnected, OpCode.Gru], model.Graph.Nodes.Select(n => n.OpCode));
        Assert.Equal(lstm, RecurrentOptions.Read(model.OptionsBytes(model.Graph.Nodes[0])));
        Assert.Equal(gru, RecurrentOptions.Read(model.OptionsBytes(model.Graph.Nodes[2])));
    }
}
