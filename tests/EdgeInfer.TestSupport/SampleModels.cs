using EdgeInfer.Format;

namespace EdgeInfer.TestSupport;

/// <summary>Small, fully valid models built with <see cref="ModelWriter"/>, for format and loader tests.</summary>
public static class SampleModels
{
    /// <summary>
    /// input[1,4] → FullyConnected(W[3,4], b[3], ReLU clamp) → hidden[1,3] → Relu → output[1,3], with metadata and a
    /// quantized constant (unused by any node), so every section kind a float model has is present.
    /// </summary>
    public static byte[] TwoNodeMlp()
    {
        var w = new ModelWriter("two-node-mlp");
        int input = w.AddArenaTensor("input", DataType.Float32, [1, 4], 0);
        int weights = w.AddConstant("fc.weight", DataType.Float32, [3, 4], TestTensor.ToBytes(new float[] { 0.5f, -1, 2, 0.25f, 1, 1, 1, 1, -0.5f, 0.5f, -0.5f, 0.5f }));
        int bias = w.AddConstant("fc.bias", DataType.Float32, [3], TestTensor.ToBytes(new float[] { 0.1f, -0.2f, 0.3f }));
        int hidden = w.AddArenaTensor("hidden", DataType.Float32, [1, 3], 64);
        int output = w.AddArenaTensor("output", DataType.Float32, [1, 3], 128);
        w.AddConstant("table", DataType.Int8, [2], [1, 2], new QuantizationInfo([0.5f], [0], -1));
        w.ArenaBytes = 192;
        w.AddNode(OpCode.FullyConnected, "fc", [input, weights, bias], [hidden], ClampOptions.Relu);
        w.AddNode(OpCode.Relu, "relu", [hidden], [output]);
        w.AddInput(input);
        w.AddOutput(output);
        w.AddMetadata("producer", "EdgeInfer tests");
        return w.ToArray();
    }
}
