using EdgeInfer.Format;
using EdgeInfer.Runtime.Kernels.Common;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

/// <summary>
/// Lstm and Gru with int8 R (per-row symmetric): the hybrid product, int8 R times h quantized per row and step. Each
/// case runs on every path (identical bytes required), equals bit for bit the hybrid definition written out here in
/// plain scalar code, and stays near the float kernel on the unquantized R (SQNR reported and bounded).
/// </summary>
public class HybridRecurrentKernelTests(ITestOutputHelper output)
{
    private static readonly RecurrentActivation HardGate = RecurrentActivation.HardSigmoid(0.2f, 0.5f);

    public static TheoryData<int, int, int, int, bool, string, int, bool> LstmCases => new()
    {
        // steps, rows, hidden, time axis, reverse, activations (gate, candidate, output), zero-h step (−1: none), a −128 weight
        { 6, 1, 7, 0, false, "sigmoid,tanh,tanh", -1, false },
        { 5, 3, 13, 1, true, "sigmoid,tanh,tanh", -1, false },
        { 4, 1, 24, 1, false, "sigmoid,tanh,tanh", -1, true },
        { 7, 3, 24, 0, false, "hard,tanh,tanh", 2, false },
        { 3, 1, 100, 1, false, "sigmoid,tanh,tanh", -1, false },
        { 5, 3, 100, 0, true, "sigmoid,tanh,tanh", -1, true },
        { 6, 1, 13, 0, true, "hard,relu,tanh", 3, true },
    };

    public static TheoryData<int, int, int, int, bool, bool, string, int, bool> GruCases => new()
    {
        // steps, rows, hidden, time axis, reverse, reset-after, activations (gate, candidate), zero-h step, a −128 weight
        { 6, 1, 7, 0, false, true, "sigmoid,tanh", -1, false },
        { 6, 1, 7, 0, false, false, "sigmoid,tanh", -1, false },
        { 5, 3, 13, 1, true, true, "sigmoid,tanh", -1, true },
        { 5, 3, 13, 1, true, false, "sigmoid,tanh", -1, true },
        { 4, 1, 24, 1, false, false, "hard,relu", 1, false },
        { 7, 3, 24, 0, false, true, "hard,relu", 4, true },
        { 3, 1, 100, 0, false, true, "sigmoid,tanh", -1, false },
        { 4, 3, 100, 1, true, false, "sigmoid,tanh", -1, true },
    };

    [Theory]
    [MemberData(nameof(LstmCases))]
    public void Lstm_Int8R_EveryPath_IsTheHybridDefinitionBitForBit(int steps, int rows, int hidden, int timeAxis, bool reverse, string activations, int zeroStep, bool minWeight)
    {
        RecurrentActivation[] a = Parse(activations);
        var options = new RecurrentOptions(timeAxis, reverse, false, a[0], a[1], a[2]);
        var rng = new Random(steps * 100 + hidden + rows);
        int[] shape = timeAxis == 0 ? [steps, rows, 4 * hidden] : [rows, steps, 4 * hidden];
        float[] p = KernelAssert.Random(rng, KernelAssert.Count(shape), -2, 2);
        float[] r = KernelAssert.Random(rng, 4 * hidden * hidden, -0.6f, 0.6f);
        (sbyte[] q, float[] scales) = QuantizePerRow(r, 4 * hidden, hidden, minWeight);
        var cell = new RecurrentCellReference(steps, rows, hidden, timeAxis, reverse, HybridProduct(q, scales, hidden));
        if (zeroStep >= 0)
        {
            // The hard output gate at exactly 0 on that step: h = 0·a(c) = ±0 in every row, so the next product has s = 0.
            for (int n = 0; n < rows; n++)
            {
                cell.Fill(p, zeroStep, n, 4 * hidden, 3 * hidden, hidden, -100);
            }
        }

        int[] outShape = [shape[0], shape[1], hidden];

        float[] actual = KernelAssert.RunEveryPath(OpCode.Lstm, options, [TestTensor.Input(shape, p), TestTensor.Int8Weights([4 * hidden, hidden], q, scales)], outShape);

        float[] expected = cell.Lstm(p, options);
        KernelAssert.SameBytes(TestTensor.ToBytes(expected), TestTensor.ToBytes(actual), "Lstm with int8 R against the hybrid definition");
        if (zeroStep >= 0)
        {
            Assert.All(Enumerable.Range(0, rows), n => Assert.All(cell.RowOf(actual, zeroStep, n, hidden), v => Assert.Equal(0f, Math.Abs(v))));
        }

        float[] reference = KernelAssert.RunEveryPath(OpCode.Lstm, options, [TestTensor.Input(shape, p), TestTensor.Const([4 * hidden, hidden], FloatR(r, q, scales, hidden, minWeight))], outShape);
        ReportSqnr(reference, actual, $"LSTM H={hidden} N={rows} T={steps}{(minWeight ? " (−128 weights; float R dequantized)" : "")}", 30);
    }

    [Theory]
    [MemberData(nameof(GruCases))]
    public void Gru_Int8R_EveryPath_IsTheHybridDefinitionBitForBit(int steps, int rows, int hidden, int timeAxis, bool reverse, bool resetAfter, string activations, int zeroStep, bool minWeight)
    {
        RecurrentActivation[] a = Parse(activations);
        var options = new RecurrentOptions(timeAxis, reverse, resetAfter, a[0], a[1], RecurrentActivation.None);
        var rng = new Random(steps * 100 + hidden + rows + (resetAfter ? 7 : 0));
        int[] shape = timeAxis == 0 ? [steps, rows, 3 * hidden] : [rows, steps, 3 * hidden];
        float[] p = KernelAssert.Random(rng, KernelAssert.Count(shape), -2, 2);
        float[] r = KernelAssert.Random(rng, 3 * hidden * hidden, -0.6f, 0.6f);
        float[] b = KernelAssert.Random(rng, hidden, -0.5f, 0.5f);
        (sbyte[] q, float[] scales) = QuantizePerRow(r, 3 * hidden, hidden, minWeight);
        var cell = new RecurrentCellReference(steps, rows, hidden, timeAxis, reverse, HybridProduct(q, scales, hidden));
        if (zeroStep >= 0)
        {
            // z = 0 (hard gate) and n = relu(very negative) = 0 on that step: h = n + z·(h − n) = 0 in every row.
            for (int n = 0; n < rows; n++)
            {
                cell.Fill(p, zeroStep, n, 3 * hidden, 0, hidden, -100);
                cell.Fill(p, zeroStep, n, 3 * hidden, 2 * hidden, hidden, -1000);
            }
        }

        TestTensor?[] Inputs(TestTensor weights) => resetAfter
            ? [TestTensor.Input(shape, p), weights, TestTensor.Const([hidden], b)]
            : [TestTensor.Input(shape, p), weights];
        int[] outShape = [shape[0], shape[1], hidden];

        float[] actual = KernelAssert.RunEveryPath(OpCode.Gru, options, Inputs(TestTensor.Int8Weights([3 * hidden, hidden], q, scales)), outShape);

        float[] expected = cell.Gru(p, b, options);
        KernelAssert.SameBytes(TestTensor.ToBytes(expected), TestTensor.ToBytes(actual), "Gru with int8 R against the hybrid definition");
        if (zeroStep >= 0)
        {
            Assert.All(Enumerable.Range(0, rows), n => Assert.All(cell.RowOf(actual, zeroStep, n, hidden), v => Assert.Equal(0f, v)));
        }

        float[] reference = KernelAssert.RunEveryPath(OpCode.Gru, options, Inputs(TestTensor.Const([3 * hidden, hidden], FloatR(r, q, scales, hidden, minWeight))), outShape);
        ReportSqnr(reference, actual, $"GRU{(resetAfter ? " reset-after" : "")} H={hidden} N={rows} T={steps}{(minWeight ? " (−128 weights; float R dequantized)" : "")}", 30);
    }

    /// <summary>The product alone: one step after a given h, checked with −127/127/−128 weights and extreme h values.</summary>
    [Fact]
    public void Lstm_Int8R_ExtremeWeightsAndStates_MatchTheDefinition()
    {
        const int hidden = 19, steps = 3, rows = 2;
        var options = new RecurrentOptions(0, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh);
        var rng = new Random(42);
        // Every weight is one of −128, −127, 127: each int16 pair sum on arm64 is at its largest (2·127·128).
        sbyte[] q = [.. Enumerable.Range(0, 4 * hidden * hidden).Select(_ => (sbyte)(rng.Next(3) switch { 0 => -128, 1 => -127, _ => 127 }))];
        float[] scales = [.. Enumerable.Range(0, 4 * hidden).Select(j => 0.001f * (j + 1))];
        float[] p = KernelAssert.Random(rng, steps * rows * 4 * hidden, -4, 4);
        float[] actual = KernelAssert.RunEveryPath(OpCode.Lstm, options, [TestTensor.Input([steps, rows, 4 * hidden], p), TestTensor.Int8Weights([4 * hidden, hidden], q, scales)], [steps, rows, hidden]);
        var cell = new RecurrentCellReference(steps, rows, hidden, 0, false, HybridProduct(q, scales, hidden));
        KernelAssert.SameBytes(TestTensor.ToBytes(cell.Lstm(p, options)), TestTensor.ToBytes(actual), "Lstm, extreme weights");
    }

    [Fact]
    public void Invoke_Int8LstmThenGru_AllocatesNothing()
    {
        var rng = new Random(9);
        var w = new ModelWriter("hybrid recurrent");
        int x = w.AddArenaTensor("x", DataType.Float32, [1, 12, 80], 0);          // 3,840 B
        int y = w.AddArenaTensor("y", DataType.Float32, [1, 12, 20], 3840);       // 960 B
        int g = w.AddArenaTensor("g", DataType.Float32, [1, 12, 60], 4800);       // 2,880 B
        int z = w.AddArenaTensor("z", DataType.Float32, [1, 12, 20], 7680);       // 960 B
        w.ArenaBytes = 8640;
        var lstm = new RecurrentOptions(1, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh);
        var gru = new RecurrentOptions(1, true, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.None);
        (sbyte[] r1, float[] s1) = QuantizePerRow(KernelAssert.Random(rng, 80 * 20, -0.5f, 0.5f), 80, 20, false);
        (sbyte[] r2, float[] s2) = QuantizePerRow(KernelAssert.Random(rng, 60 * 20, -0.5f, 0.5f), 60, 20, false);
        w.AddNode(OpCode.Lstm, "lstm", [x, w.AddConstant("r1", DataType.Int8, [80, 20], TestTensor.ToBytes(r1), new QuantizationInfo(s1, new int[80], 0))], [y], lstm);
        w.AddNode(OpCode.FullyConnected, "project", [y, w.AddConstant("w2", DataType.Float32, [60, 20], TestTensor.ToBytes(KernelAssert.Random(rng, 1200, -0.5f, 0.5f))), -1], [g], ClampOptions.None);
        w.AddNode(OpCode.Gru, "gru", [g, w.AddConstant("r2", DataType.Int8, [60, 20], TestTensor.ToBytes(r2), new QuantizationInfo(s2, new int[60], 0))], [z], gru);
        w.AddInput(x);
        w.AddOutput(z);
        using Model model = Model.FromBytes(w.ToArray(), "hybrid.eim");
        float[]? scalar = null;
        foreach (KernelPath path in KernelPaths.Supported)
        {
            var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
            interpreter.Input(0).WriteFloats(KernelAssert.Random(new Random(1), 12 * 80, -2, 2));
            interpreter.Invoke();
            float[] first = interpreter.Output(0).ToFloatArray();
            scalar ??= first;
            Assert.Equal(scalar, first);
            long[] rounds = AllocationProbe.SteadyState(() => interpreter.Invoke());
            Assert.True(rounds[^1] == 0, $"{path}: 1,000 invokes allocated in every round: {string.Join(", ", rounds)} bytes");
            Assert.Equal(first, interpreter.Output(0).ToFloatArray());
        }
    }

    public static TheoryData<string> Refusals => [.. RefusedCases().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Prepare_InvalidInt8R_Refused(string name)
    {
        (string _, OpCode op, IOpOptions options, TestTensor?[] inputs, string message) = RefusedCases().Single(c => c.Name == name);
        EdgeInferModelException e = KernelAssert.Refused(op, options, inputs, TestTensor.Output([3, 1, 4]));
        Assert.Contains(message, e.Message);
    }

    private static IEnumerable<(string Name, OpCode Op, IOpOptions Options, TestTensor?[] Inputs, string Message)> RefusedCases()
    {
        var lstm = new RecurrentOptions(0, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh);
        var gru = new RecurrentOptions(0, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.None);
        TestTensor p4 = TestTensor.Input([3, 1, 16], new float[48]);
        TestTensor p3 = TestTensor.Input([3, 1, 12], new float[36]);
        float[] ones16 = [.. Enumerable.Repeat(0.01f, 16)];
        yield return ("per tensor", OpCode.Lstm, lstm, [p4, TestTensor.Int8Weights([16, 4], new sbyte[64], [0.01f])], "per row");
        yield return ("per column", OpCode.Gru, gru, [p3, new TestTensor([12, 4], DataType.Int8, new byte[48], IsConstant: true, Quantization: new QuantizationInfo([0.1f, 0.1f, 0.1f, 0.1f], new int[4], 1))], "per row");
        yield return ("zero point", OpCode.Lstm, lstm, [p4, new TestTensor([16, 4], DataType.Int8, new byte[64], IsConstant: true, Quantization: new QuantizationInfo(ones16, [.. Enumerable.Repeat(3, 16)], 0))], "zero point 0");
        yield return ("no quantization", OpCode.Lstm, lstm, [p4, new TestTensor([16, 4], DataType.Int8, new byte[64], IsConstant: true)], "no quantization");
        yield return ("an activation", OpCode.Lstm, lstm, [p4, new TestTensor([16, 4], DataType.Int8, new byte[64], Quantization: new QuantizationInfo(ones16, new int[16], 0))], "constant");
        yield return ("int16 R", OpCode.Lstm, lstm, [p4, new TestTensor([16, 4], DataType.Int16, new byte[128], IsConstant: true)], "float32 or int8");
    }

    /// <summary>
    /// The float R the hybrid kernel is compared with: the unquantized R, or with a planted −128 (which no quantizer
    /// of R would write: it changes the weight, not just its rounding) R dequantized, so that the −128 is in both.
    /// </summary>
    private static float[] FloatR(float[] r, sbyte[] q, float[] scales, int hidden, bool minWeight)
        => minWeight ? [.. q.Select((v, i) => v * scales[i / hidden])] : r;

    /// <summary>Symmetric per-row int8 (scale = max|row| / 127, so each row holds ±127); optionally one −128 per row.</summary>
    private static (sbyte[] Values, float[] Scales) QuantizePerRow(float[] r, int units, int hidden, bool minWeight)
    {
        var q = new sbyte[r.Length];
        var scales = new float[units];
        for (int j = 0; j < units; j++)
        {
            float m = 0;
            for (int k = 0; k < hidden; k++)
            {
                m = Math.Max(m, Math.Abs(r[j * hidden + k]));
            }

            scales[j] = m / 127f;
            for (int k = 0; k < hidden; k++)
            {
                q[j * hidden + k] = (sbyte)Math.Clamp(MathF.Round(r[j * hidden + k] / scales[j]), -127, 127);
            }

            if (minWeight)
            {
                q[j * hidden + (j % hidden)] = -128;
            }
        }

        return (q, scales);
    }

    private void ReportSqnr(float[] reference, float[] actual, string what, double minimumDb)
    {
        double signal = 0, noise = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            signal += (double)reference[i] * reference[i];
            noise += ((double)actual[i] - reference[i]) * ((double)actual[i] - reference[i]);
        }

        double sqnr = noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
        output.WriteLine($"{what}: SQNR {sqnr:F1} dB against the float kernel");
        Assert.True(sqnr >= minimumDb, $"{what}: SQNR {sqnr:F1} dB < {minimumDb} dB");
    }

    private static RecurrentActivation[] Parse(string names) => [.. names.Split(',').Select(n => n switch
    {
        "sigmoid" => RecurrentActivation.Sigmoid,
        "tanh" => RecurrentActivation.Tanh,
        "relu" => RecurrentActivation.Relu,
        "hard" => HardGate,
        _ => throw new ArgumentException(n),
    })];

    /// <summary>
    /// The hybrid product of rows [first, first + count) of R with h: s = max|h| / 127; s = 0 gives +0;
    /// q = round-half-even(h / s) clamped to ±127; value = (float)Σ q·R (int) · (s · scale).
    /// </summary>
    private static Func<int, int, float[], float[]> HybridProduct(sbyte[] r, float[] scales, int hidden) => (first, count, h) =>
    {
        float m = 0;
        foreach (float v in h)
        {
            m = MathF.Max(m, MathF.Abs(v));
        }

        float s = m / 127f;
        var y = new float[count];
        if (s == 0)
        {
            return y;
        }

        int[] q = [.. h.Select(v => (int)Math.Clamp(MathF.Round(v / s, MidpointRounding.ToEven), -127f, 127f))];
        for (int j = 0; j < count; j++)
        {
            int acc = 0;
            for (int k = 0; k < hidden; k++)
            {
                acc += q[k] * r[(first + j) * hidden + k];
            }

            y[j] = (float)acc * (s * scales[first + j]);
        }

        return y;
    };
}
