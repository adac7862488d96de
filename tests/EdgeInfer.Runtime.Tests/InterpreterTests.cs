using System.Reflection;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Runtime.Kernels;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests;

public class InterpreterTests
{
    [Fact]
    public void Invoke_TwoNodeMlp_ComputesTheGraph()
    {
        using Model model = Model.FromBytes(SampleModels.TwoNodeMlp(), "mlp.eim");
        var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = KernelPath.Scalar });
        interpreter.Input(0).WriteFloats([1, 2, 3, 4]);

        interpreter.Invoke();

        // fc: [0.5-2+6+1, 1+2+3+4, -0.5+1-1.5+2] + [0.1,-0.2,0.3] = [5.6, 9.8, 1.3], then ReLU twice.
        float[] y = interpreter.Output(0).ToFloatArray();
        Assert.Equal([5.6f, 9.8f, 1.3f], y, (a, b) => MathF.Abs(a - b) < 1e-5f);
        Assert.Equal(192, interpreter.ArenaBytes);
    }

    [Fact]
    public void Invoke_DoesNotOverwriteInputs_SoTheSameInputCanRunAgain()
    {
        using Model model = Model.FromBytes(SampleModels.TwoNodeMlp(), "mlp.eim");
        var interpreter = new Interpreter(model);
        interpreter.Input(0).WriteFloats([1, -2, 3, -4]);
        interpreter.Invoke();
        float[] first = interpreter.Output(0).ToFloatArray();
        interpreter.Invoke();
        Assert.Equal(first, interpreter.Output(0).ToFloatArray());
        Assert.Equal([1f, -2f, 3f, -4f], interpreter.Input(0).ToFloatArray());
    }

    [Fact]
    public void Invoke_SteadyState_AllocatesNothing()
    {
        using Model model = Model.FromBytes(SampleModels.TwoNodeMlp(), "mlp.eim");
        var interpreter = new Interpreter(model);
        interpreter.Input(0).WriteFloats([1, 2, 3, 4]);
        interpreter.Invoke();

        long[] rounds = AllocationProbe.SteadyState(() => interpreter.Invoke());
        Assert.True(rounds[^1] == 0, $"1,000 invokes allocated in every round: {string.Join(", ", rounds)} bytes");
    }

    [Fact]
    public void Constructor_DerivedTensor_IsComputedOnceAtLoad()
    {
        // table = Relu(constant) is derived; fc uses it as weights. The derived node never runs during Invoke.
        var w = new ModelWriter("derived");
        int input = w.AddArenaTensor("input", DataType.Float32, [1, 2], 0);
        int raw = w.AddConstant("raw", DataType.Float32, [1, 2], TestTensor.ToBytes(new float[] { -3, 2 }));
        int weights = w.AddDerivedTensor("weights", DataType.Float32, [1, 2]);
        int output = w.AddArenaTensor("output", DataType.Float32, [1, 1], 64);
        w.ArenaBytes = 128;
        w.AddNode(OpCode.Relu, "relu(raw)", [raw], [weights]);
        w.AddNode(OpCode.FullyConnected, "fc", [input, weights, -1], [output], ClampOptions.None);
        w.AddInput(input);
        w.AddOutput(output);
        using Model model = Model.FromBytes(w.ToArray(), "derived.eim");
        var interpreter = new Interpreter(model);
        var observer = new CountingObserver();
        interpreter.Input(0).WriteFloats([10, 5]);

        interpreter.Invoke(observer);

        Assert.Equal([0f, 2f], interpreter.Tensor(weights).ToFloatArray());
        Assert.Equal(10f, interpreter.Output(0).ToFloatArray()[0]);
        Assert.Equal(["fc"], observer.Nodes);
        Assert.True(interpreter.PersistentBytes >= 8);
    }

    [Theory]
    [InlineData(OpCode.FullyConnected)]
    [InlineData(OpCode.Conv2D)]
    public void Constructor_DerivedWeights_ArePackedAtPrepareLikeConstants(OpCode op)
    {
        // A weight-only int8 model's float weights are derived tensors. Their producer runs right after its Prepare,
        // so the consumer packs them once, as it packs constants, instead of re-packing them into scratch on every
        // Invoke (which made such models 2.5× slower than the float model).
        float[] x = [.. Enumerable.Range(0, 3 * 29).Select(i => (i % 11) - 5f)];
        float[] w = [.. Enumerable.Range(0, 6 * 29).Select(i => (i % 7) - 3f)];
        bool fc = op == OpCode.FullyConnected;
        int[] xShape = fc ? [3, 29] : [1, 3, 1, 29], wShape = fc ? [6, 29] : [6, 1, 1, 29], yShape = fc ? [3, 6] : [1, 3, 1, 6];
        IOpOptions options = fc ? ClampOptions.None : new Conv2DOptions(1, 1, 1, 1, 0, 0, 0, 0, 1, ClampOptions.None);
        using Model constant = Model.FromBytes(KernelRunner.BuildModel(op, options,
            [TestTensor.Input(xShape, x), TestTensor.Const(wShape, w), null], [TestTensor.Output(yShape)]), "constant.eim");
        using Model derived = Model.FromBytes(KernelRunner.BuildModel(op, options,
            [TestTensor.Input(xShape, x), TestTensor.Derived(wShape, w), null], [TestTensor.Output(yShape)]), "derived.eim");
        var a = new Interpreter(constant);
        var b = new Interpreter(derived);

        Assert.Equal(a.ScratchBytes, b.ScratchBytes);
        Assert.Equal(a.PersistentBytes + w.Length * sizeof(float), b.PersistentBytes);
        a.Input(0).WriteFloats(x);
        b.Input(0).WriteFloats(x);
        a.Invoke();
        b.Invoke();
        Assert.Equal(a.Output(0).ToFloatArray(), b.Output(0).ToFloatArray());
    }

    [Fact]
    public void Constructor_OperatorWithoutKernelForItsType_IsTypedError()
    {
        byte[] file = KernelRunner.BuildModel(OpCode.Relu, null,
            [new TestTensor([4], DataType.Int32, new byte[16])], [TestTensor.Output([4], DataType.Int32)]);
        using Model model = Model.FromBytes(file, "int32-relu.eim");
        var e = Assert.Throws<EdgeInferModelException>(() => new Interpreter(model));
        Assert.Equal(ModelError.KernelNotRegistered, e.Error);
        Assert.Contains("int32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_EmptyRegistry_RefusesEveryOperator()
    {
        using Model model = Model.FromBytes(SampleModels.TwoNodeMlp(), "mlp.eim");
        var e = Assert.Throws<EdgeInferModelException>(() => new Interpreter(model, new InterpreterOptions { Registry = new KernelRegistry() }));
        Assert.Equal(ModelError.KernelNotRegistered, e.Error);
    }

    [Fact]
    public void RuntimeAssembly_ReferencesNeitherTheConverterNorReflectionHeavyLibraries()
    {
        AssemblyName[] references = typeof(Interpreter).Assembly.GetReferencedAssemblies();
        string[] forbidden = ["EdgeInfer.Converter", "edgeinfer", "Google.Protobuf", "Microsoft.ML.OnnxRuntime", "Newtonsoft.Json", "System.Text.Json", "Spectre.Console", "System.CommandLine"];
        Assert.DoesNotContain(references, r => forbidden.Contains(r.Name, StringComparer.OrdinalIgnoreCase));
        Assert.Contains(references, r => r.Name == "EdgeInfer.Format");
    }

    private sealed class CountingObserver : INodeObserver
    {
        public List<string> Nodes { get; } = [];

        public void OnNodeInvoked(Interpreter interpreter, NodeInfo node) => Nodes.Add(node.Name);
    }
}
