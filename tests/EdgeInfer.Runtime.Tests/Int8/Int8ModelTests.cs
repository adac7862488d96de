using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

/// <summary>A small int8 network through the real reader and interpreter: zero allocation and identical bytes on every path.</summary>
public class Int8ModelTests
{
    /// <param name="sparse">Prune half of the 16-wide weight blocks of the stem, the pointwise layer and the
    /// classifier, and store them sparse (the sparse kernels' im2col, pointwise and matrix–vector routes).</param>
    internal static byte[] BuildNetwork(bool sparse = false)
    {
        var rng = new Random(21);
        var w = new ModelWriter("int8 net");
        long arena = 0;
        int Tensor(string name, DataType type, int[] shape, QuantizationInfo? q)
        {
            int t = w.AddArenaTensor(name, type, shape, arena, q);
            arena = FormatConstants.AlignUp(arena + shape.Aggregate(1L, (p, d) => p * d) * DataTypes.SizeOf(type));
            return t;
        }

        QuantizationInfo Q(float s, int z) => TestTensor.PerTensor(s, z);
        int Weights(string name, int[] shape, bool prune = false)
        {
            int depth = shape.Skip(1).Aggregate(1, (p, d) => p * d);
            sbyte[] values = prune ? SparseFullyConnectedInt8Tests.PrunedWeights(rng, shape[0], depth, 0.5) : Int8Data.Random(rng, shape[0] * depth, -127, 127);
            byte[] bytes = TestTensor.ToBytes(values);
            var q = new QuantizationInfo(Int8Data.Scales(rng, shape[0], 0.005f, 0.02f), new int[shape[0]], 0);
            return prune ? w.AddSparseConstant(name, DataType.Int8, shape, bytes, SparseBlocks.Measure(bytes, shape, 1, 16)!, q)
                : w.AddConstant(name, DataType.Int8, shape, bytes, q);
        }

        int Bias(string name, int n) => w.AddConstant(name, DataType.Int32, [n], TestTensor.ToBytes(Int8Data.RandomInts(rng, n, -500, 500)));

        int input = Tensor("input", DataType.Float32, [1, 12, 12, 3], null);
        int q = Tensor("q", DataType.Int8, [1, 12, 12, 3], Q(0.02f, 0));
        int c1 = Tensor("c1", DataType.Int8, [1, 6, 6, 16], Q(0.05f, -128));
        int d1 = Tensor("d1", DataType.Int8, [1, 6, 6, 16], Q(0.04f, -128));
        int p1 = Tensor("p1", DataType.Int8, [1, 6, 6, 16], Q(0.06f, -3));
        int sum = Tensor("sum", DataType.Int8, [1, 6, 6, 16], Q(0.08f, -10));
        int act = Tensor("act", DataType.Int8, [1, 6, 6, 16], Q(0.04f, -2));
        int gap = Tensor("gap", DataType.Int8, [1, 1, 1, 16], Q(0.03f, 0));
        int flat = Tensor("flat", DataType.Int8, [1, 16], Q(0.03f, 0));
        int logits = Tensor("logits", DataType.Int8, [1, 10], Q(0.1f, 4));
        int probs = Tensor("probs", DataType.Int8, [1, 10], Q(1f / 256, -128));
        int output = Tensor("output", DataType.Float32, [1, 10], null);
        w.ArenaBytes = arena;
        w.AddNode(OpCode.Quantize, "quantize", [input], [q]);
        w.AddNode(OpCode.Conv2D, "stem", [q, Weights("w1", [16, 3, 3, 3], sparse), Bias("b1", 16)], [c1], new Conv2DOptions(2, 2, 1, 1, 1, 1, 0, 0, 1, new ClampOptions(0, 6)));
        w.AddNode(OpCode.Conv2D, "dw", [c1, Weights("w2", [16, 3, 3, 1]), Bias("b2", 16)], [d1], new Conv2DOptions(1, 1, 1, 1, 1, 1, 1, 1, 16, new ClampOptions(0, 6)));
        w.AddNode(OpCode.Conv2D, "pw", [d1, Weights("w3", [16, 1, 1, 16], sparse), Bias("b3", 16)], [p1], new Conv2DOptions(1, 1, 1, 1, 0, 0, 0, 0, 1, ClampOptions.None));
        w.AddNode(OpCode.Add, "residual", [p1, c1], [sum], ClampOptions.None);
        w.AddNode(OpCode.HardSwish, "hswish", [sum], [act]);
        w.AddNode(OpCode.GlobalAveragePool, "gap", [act], [gap]);
        w.AddNode(OpCode.Reshape, "flatten", [gap], [flat]);
        w.AddNode(OpCode.FullyConnected, "fc", [flat, Weights("w4", [10, 16], sparse), Bias("b4", 10)], [logits], ClampOptions.None);
        w.AddNode(OpCode.Softmax, "softmax", [logits], [probs], new SoftmaxOptions(1, 1f));
        w.AddNode(OpCode.Dequantize, "dequantize", [probs], [output]);
        w.AddInput(input);
        w.AddOutput(output);
        return w.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Invoke_Int8Network_AllocatesNothing(bool sparse)
    {
        using Model model = Model.FromBytes(BuildNetwork(sparse), "int8-net.eim");
        Assert.Equal(sparse, model.Graph.Tensors.Any(t => t.Sparse is not null));
        var interpreter = new Interpreter(model);
        interpreter.Input(0).WriteFloats([.. Enumerable.Range(0, 12 * 12 * 3).Select(i => MathF.Sin(i * 0.37f))]);
        interpreter.Invoke();

        long[] rounds = AllocationProbe.SteadyState(() => interpreter.Invoke());
        Assert.True(rounds[^1] == 0, $"1,000 invokes allocated in every round: {string.Join(", ", rounds)} bytes");
        float[] probabilities = interpreter.Output(0).ToFloatArray();
        Assert.InRange(probabilities.Sum(), 0.9f, 1.1f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Invoke_Int8Network_EveryPathGivesIdenticalBytes(bool sparse)
    {
        byte[] file = BuildNetwork(sparse);
        float[] input = [.. Enumerable.Range(0, 12 * 12 * 3).Select(i => MathF.Cos(i * 0.11f))];
        byte[]? reference = null;
        foreach (KernelPath path in KernelPaths.Supported)
        {
            using Model model = Model.FromBytes(file, "int8-net.eim");
            var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
            interpreter.Input(0).WriteFloats(input);
            var taps = new TapCollector();
            interpreter.Invoke(taps);
            byte[] all = [.. taps.Bytes];
            reference ??= all;
            Assert.Equal(reference, all);
        }
    }

    private sealed class TapCollector : INodeObserver
    {
        public List<byte> Bytes { get; } = [];

        public void OnNodeInvoked(Interpreter interpreter, NodeInfo node)
        {
            foreach (int o in node.Outputs)
            {
                Bytes.AddRange(interpreter.Tensor(o).Bytes.ToArray());
            }
        }
    }
}
