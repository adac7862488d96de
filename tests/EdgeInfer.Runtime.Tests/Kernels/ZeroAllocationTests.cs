using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class ZeroAllocationTests
{
    public static TheoryData<KernelPath> Paths => [.. KernelPaths.Supported];

    /// <summary>Every float kernel in one small network; after a warm-up, 1,000 invokes allocate nothing on any path.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Invoke_SmallNetworkOfEveryKernel_AllocatesNothing(KernelPath path)
    {
        using Model model = Model.FromBytes(EveryKernelNetwork(), "every-kernel.eim");
        var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
        interpreter.Input(0).WriteFloats(KernelAssert.Random(new Random(1), 1 * 10 * 10 * 3, -2, 2));
        interpreter.Invoke();
        float[] first = interpreter.Output(0).ToFloatArray();

        long[] rounds = AllocationProbe.SteadyState(() => interpreter.Invoke());
        Assert.True(rounds[^1] == 0, $"1,000 invokes allocated in every round: {string.Join(", ", rounds)} bytes");
        float[] last = interpreter.Output(0).ToFloatArray();
        Assert.Equal(first, last);
        Assert.Equal(1f, last.Sum(), 1e-5f); // the softmax at the end
        Assert.True(interpreter.ScratchBytes > 0 && interpreter.PersistentBytes > 0);
    }

    /// <summary>
    /// x[1,10,10,3] → Conv 3×3 (relu) → depthwise 3×3 → MaxPool → AveragePool → Add(per channel) → Sub → Mul → Div
    /// → Clip → LeakyRelu → Sigmoid → Tanh → HardSigmoid → HardSwish → Relu → Concat(with itself) → Transpose
    /// → Transpose back → Slice (rows) → Slice (every other column) → GlobalAveragePool → Reshape → FullyConnected → MatMul(constant) → LogSoftmax → Softmax
    /// (softmax of log-probabilities is the softmax again, so the output still sums to 1).
    /// </summary>
    private static byte[] EveryKernelNetwork()
    {
        var rng = new Random(4);
        var w = new ModelWriter("every-kernel");
        long arena = 0;
        int Act(string name, int[] shape)
        {
            int t = w.AddArenaTensor(name, DataType.Float32, shape, arena);
            arena = FormatConstants.AlignUp(arena + 4L * KernelAssert.Count(shape));
            return t;
        }

        int Const(string name, int[] shape) => w.AddConstant(name, DataType.Float32, shape, TestTensor.ToBytes(KernelAssert.Random(rng, KernelAssert.Count(shape), -0.5f, 0.5f)));

        int x = Act("x", [1, 10, 10, 3]);
        int conv = Act("conv", [1, 10, 10, 8]);
        w.AddNode(OpCode.Conv2D, "conv", [x, Const("conv.w", [8, 3, 3, 3]), Const("conv.b", [8])], [conv], new Conv2DOptions(1, 1, 1, 1, 1, 1, 1, 1, 1, ClampOptions.Relu));
        int dw = Act("dw", [1, 10, 10, 8]);
        w.AddNode(OpCode.Conv2D, "dw", [conv, Const("dw.w", [8, 3, 3, 1]), -1], [dw], new Conv2DOptions(1, 1, 1, 1, 1, 1, 1, 1, 8, ClampOptions.None));
        int pool = Act("pool", [1, 5, 5, 8]);
        w.AddNode(OpCode.MaxPool2D, "pool", [dw], [pool], new Pool2DOptions(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, ClampOptions.None));
        int avg = Act("avg", [1, 5, 5, 8]);
        w.AddNode(OpCode.AveragePool2D, "avg", [pool], [avg], new Pool2DOptions(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true, ClampOptions.None));
        int current = avg;
        foreach (OpCode op in new[] { OpCode.Add, OpCode.Sub, OpCode.Mul, OpCode.Div })
        {
            int next = Act(op.ToString(), [1, 5, 5, 8]);
            w.AddNode(op, op.ToString(), [current, w.AddConstant($"{op}.c", DataType.Float32, [8], TestTensor.ToBytes(KernelAssert.Random(rng, 8, 0.5f, 1.5f)))], [next], ClampOptions.None);
            current = next;
        }

        (OpCode Op, IOpOptions? Options)[] activations =
        [
            (OpCode.Clip, new ClampOptions(-3, 3)), (OpCode.LeakyRelu, new LeakyReluOptions(0.1f)), (OpCode.Sigmoid, null), (OpCode.Tanh, null),
            (OpCode.HardSigmoid, new HardSigmoidOptions(0.2f, 0.5f)), (OpCode.HardSwish, null), (OpCode.Swish, null), (OpCode.Relu, null),
        ];
        foreach ((OpCode op, IOpOptions? options) in activations)
        {
            int next = Act(op.ToString(), [1, 5, 5, 8]);
            w.AddNode(op, op.ToString(), [current], [next], options);
            current = next;
        }

        int concat = Act("concat", [1, 5, 5, 16]);
        w.AddNode(OpCode.Concat, "concat", [current, current], [concat], new ConcatOptions(3));
        int nchw = Act("nchw", [1, 16, 5, 5]);
        w.AddNode(OpCode.Transpose, "to-nchw", [concat], [nchw], new TransposeOptions([0, 3, 1, 2]));
        int nhwc = Act("nhwc", [1, 5, 5, 16]);
        w.AddNode(OpCode.Transpose, "to-nhwc", [nchw], [nhwc], new TransposeOptions([0, 2, 3, 1]));
        int sliced = Act("sliced", [1, 3, 5, 16]);
        w.AddNode(OpCode.Slice, "slice", [nhwc], [sliced], new SliceOptions([0, 1, 0, 0], [1, 1, 1, 1]));
        int strided = Act("strided", [1, 3, 3, 16]);
        w.AddNode(OpCode.Slice, "strided-slice", [sliced], [strided], new SliceOptions([0, 0, 0, 0], [1, 1, 2, 1]));
        int gap = Act("gap", [1, 1, 1, 16]);
        w.AddNode(OpCode.GlobalAveragePool, "gap", [strided], [gap]);
        int flat = Act("flat", [1, 16]);
        w.AddNode(OpCode.Reshape, "flatten", [gap], [flat]);
        int fc = Act("fc", [1, 12]);
        w.AddNode(OpCode.FullyConnected, "fc", [flat, Const("fc.w", [12, 16]), Const("fc.b", [12])], [fc], ClampOptions.None);
        int mm = Act("mm", [1, 5]);
        w.AddNode(OpCode.MatMul, "mm", [fc, Const("mm.b", [12, 5])], [mm], ClampOptions.None);
        int logp = Act("logp", [1, 5]);
        w.AddNode(OpCode.LogSoftmax, "log-softmax", [mm], [logp], new SoftmaxOptions(1, 1));
        int y = Act("y", [1, 5]);
        w.AddNode(OpCode.Softmax, "softmax", [logp], [y], new SoftmaxOptions(1, 1));
        w.ArenaBytes = arena;
        w.AddInput(x);
        w.AddOutput(y);
        return w.ToArray();
    }
}
