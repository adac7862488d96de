using EdgeInfer.Format;
using EdgeInfer.Runtime;

namespace EdgeInfer.TestSupport;

/// <summary>A tensor for a one-node test model: shape, type, data (constants and inputs) and quantization.</summary>
public sealed record TestTensor(int[] Shape, DataType Type = DataType.Float32, byte[]? Data = null, bool IsConstant = false, QuantizationInfo? Quantization = null)
{
    /// <summary>
    /// A load-time tensor: the runner stores the data as a constant and adds a Reshape node that copies it into a
    /// derived tensor, which the interpreter fills only after every node is prepared (as the converter's weight-only
    /// models do). Kernels must not read such an input in Prepare.
    /// </summary>
    public bool IsDerived { get; init; }

    /// <summary>When positive, the runner stores this constant block-sparse with blocks of this many elements.</summary>
    public int SparseBlockWidth { get; init; }

    public static TestTensor Input(int[] shape, float[] values) => new(shape, DataType.Float32, ToBytes(values));

    public static TestTensor Const(int[] shape, float[] values) => new(shape, DataType.Float32, ToBytes(values), IsConstant: true);

    public static TestTensor Derived(int[] shape, float[] values) => new(shape, DataType.Float32, ToBytes(values), IsConstant: true) { IsDerived = true };

    public static TestTensor Output(int[] shape, DataType type = DataType.Float32, QuantizationInfo? q = null) => new(shape, type, null, false, q);

    /// <summary>An int8 activation with one scale and zero point.</summary>
    public static TestTensor Int8(int[] shape, sbyte[] values, float scale, int zeroPoint)
        => new(shape, DataType.Int8, ToBytes(values), Quantization: PerTensor(scale, zeroPoint));

    /// <summary>A constant int8 operand with one scale and zero point.</summary>
    public static TestTensor Int8Const(int[] shape, sbyte[] values, float scale, int zeroPoint)
        => new(shape, DataType.Int8, ToBytes(values), IsConstant: true, Quantization: PerTensor(scale, zeroPoint));

    /// <summary>Symmetric int8 weights: one scale (per tensor) or one per slice of axis 0 (per channel).</summary>
    public static TestTensor Int8Weights(int[] shape, sbyte[] values, float[] scales)
        => new(shape, DataType.Int8, ToBytes(values), IsConstant: true,
            Quantization: new QuantizationInfo(scales, new int[scales.Length], scales.Length == 1 ? -1 : 0));

    /// <summary>A constant int32 bias (zero point 0; its scale is informational).</summary>
    public static TestTensor Int32Const(int[] shape, int[] values) => new(shape, DataType.Int32, ToBytes(values), IsConstant: true);

    public static TestTensor Int8Output(int[] shape, float scale, int zeroPoint) => Output(shape, DataType.Int8, PerTensor(scale, zeroPoint));

    public static QuantizationInfo PerTensor(float scale, int zeroPoint) => new([scale], [zeroPoint], -1);

    public static byte[] ToBytes<T>(T[] values) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}

/// <summary>
/// Runs one operator alone: builds a one-node .eim with <see cref="ModelWriter"/> (every activation at its own
/// arena offset), loads it through the real reader and interpreter, and returns the output bytes. Lets kernel tests
/// compare paths and golden values without the converter.
/// </summary>
public static class KernelRunner
{
    public static byte[] BuildModel(OpCode op, IOpOptions? options, IReadOnlyList<TestTensor?> inputs, IReadOnlyList<TestTensor> outputs)
    {
        var writer = new ModelWriter($"{op} test");
        long arena = 0;
        var inputIndex = new int[inputs.Count];
        var graphInputs = new List<int>();
        for (int i = 0; i < inputs.Count; i++)
        {
            TestTensor? t = inputs[i];
            if (t is null)
            {
                inputIndex[i] = -1;
                continue;
            }

            if (t.IsDerived)
            {
                int raw = writer.AddConstant($"in{i}_raw", t.Type, t.Shape, t.Data, t.Quantization);
                inputIndex[i] = writer.AddDerivedTensor($"in{i}", t.Type, t.Shape, t.Quantization);
                writer.AddNode(OpCode.Reshape, $"in{i}_load", [raw], [inputIndex[i]]);
            }
            else if (t.IsConstant && t.SparseBlockWidth > 0)
            {
                SparseLayout layout = SparseBlocks.Measure(t.Data, t.Shape, DataTypes.SizeOf(t.Type), t.SparseBlockWidth)
                    ?? throw new ArgumentException($"input {i} cannot be stored sparse");
                inputIndex[i] = writer.AddSparseConstant($"in{i}", t.Type, t.Shape, t.Data, layout, t.Quantization);
            }
            else if (t.IsConstant)
            {
                inputIndex[i] = writer.AddConstant($"in{i}", t.Type, t.Shape, t.Data, t.Quantization);
            }
            else
            {
                inputIndex[i] = writer.AddArenaTensor($"in{i}", t.Type, t.Shape, arena, t.Quantization);
                arena = FormatConstants.AlignUp(arena + Bytes(t));
                graphInputs.Add(inputIndex[i]);
            }
        }

        var outputIndex = new int[outputs.Count];
        for (int i = 0; i < outputs.Count; i++)
        {
            outputIndex[i] = writer.AddArenaTensor($"out{i}", outputs[i].Type, outputs[i].Shape, arena, outputs[i].Quantization);
            arena = FormatConstants.AlignUp(arena + Bytes(outputs[i]));
        }

        writer.ArenaBytes = arena;
        writer.AddNode(op, "node", inputIndex, outputIndex, options);
        graphInputs.ForEach(writer.AddInput);
        foreach (int o in outputIndex)
        {
            writer.AddOutput(o);
        }

        return writer.ToArray();
    }

    /// <summary>Runs the node on <paramref name="path"/> and returns each output's bytes.</summary>
    public static byte[][] Run(OpCode op, IOpOptions? options, IReadOnlyList<TestTensor?> inputs, IReadOnlyList<TestTensor> outputs, KernelPath path = KernelPath.Scalar)
    {
        using Model model = Model.FromBytes(BuildModel(op, options, inputs, outputs), $"{op}-test.eim");
        var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
        int input = 0;
        foreach (TestTensor? t in inputs)
        {
            if (t is { IsConstant: false })
            {
                t.Data.AsSpan().CopyTo(interpreter.Input(input++).Bytes);
            }
        }

        interpreter.Invoke();
        return [.. Enumerable.Range(0, outputs.Count).Select(i => interpreter.Output(i).Bytes.ToArray())];
    }

    /// <summary>Runs a single-output float node and returns the output values.</summary>
    public static float[] RunFloat(OpCode op, IOpOptions? options, IReadOnlyList<TestTensor?> inputs, int[] outputShape, KernelPath path = KernelPath.Scalar)
        => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Run(op, options, inputs, [TestTensor.Output(outputShape)], path)[0]).ToArray();

    /// <summary>Runs a single-output int8 node and returns the output values.</summary>
    public static sbyte[] RunInt8(OpCode op, IOpOptions? options, IReadOnlyList<TestTensor?> inputs, TestTensor output, KernelPath path = KernelPath.Scalar)
        => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(Run(op, options, inputs, [output], path)[0]).ToArray();

    /// <summary>Runs the node on every path this CPU supports and returns the Scalar bytes, asserting every other path's are identical.</summary>
    public static byte[] RunEveryPath(OpCode op, IOpOptions? options, IReadOnlyList<TestTensor?> inputs, TestTensor output)
    {
        byte[] reference = Run(op, options, inputs, [output], KernelPath.Scalar)[0];
        foreach (KernelPath path in KernelPaths.Supported)
        {
            byte[] actual = Run(op, options, inputs, [output], path)[0];
            if (!actual.AsSpan().SequenceEqual(reference))
            {
                int at = actual.AsSpan().CommonPrefixLength(reference);
                throw new InvalidOperationException($"{op}: path {path} differs from Scalar at byte {at} of {reference.Length}: {(sbyte)actual[at]} vs {(sbyte)reference[at]}");
            }
        }

        return reference;
    }

    private static long Bytes(TestTensor t) => t.Shape.Aggregate(1L, (a, d) => a * d) * DataTypes.SizeOf(t.Type);
}
