using EdgeInfer.Format;
using EdgeInfer.Runtime.Kernels.Common;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

/// <summary>
/// The fused Lstm and Gru kernels. Each case runs on every path (identical bytes required) and is compared bit for
/// bit with the cell written out here in plain float arithmetic, in the order the operators' definitions give (the
/// unrolled chain's order: R·h as one fused multiply-add chain from +0 over k, then each elementwise operation
/// rounded on its own), and within a tolerance with the same cell computed in double.
/// </summary>
public class RecurrentKernelTests
{
    private static readonly RecurrentActivation HardGate = RecurrentActivation.HardSigmoid(0.2f, 0.5f);

    public static TheoryData<int, int, int, int, bool, string, float> LstmCases => new()
    {
        // steps, rows, hidden, time axis, reverse, activations (gate, candidate, output), cell clip
        { 1, 1, 5, 0, false, "sigmoid,tanh,tanh", 0 },
        { 6, 1, 13, 0, false, "sigmoid,tanh,tanh", 0 },
        { 7, 3, 9, 0, true, "sigmoid,tanh,tanh", 0 },
        { 5, 2, 16, 1, false, "sigmoid,tanh,tanh", 0 },
        { 4, 3, 11, 1, true, "hard,relu,tanh", 0 },
        { 3, 2, 24, 0, false, "sigmoid,relu,relu", 0 },
        { 8, 2, 12, 1, false, "sigmoid,relu,tanh", 0.75f },
    };

    public static TheoryData<int, int, int, int, bool, bool, string> GruCases => new()
    {
        // steps, rows, hidden, time axis, reverse, reset-after, activations (gate, candidate)
        { 1, 1, 6, 0, false, true, "sigmoid,tanh" },
        { 1, 2, 6, 1, false, false, "sigmoid,tanh" },
        { 8, 1, 24, 1, false, true, "sigmoid,tanh" },
        { 8, 1, 24, 1, false, false, "sigmoid,tanh" },
        { 6, 3, 10, 0, true, true, "hard,tanh" },
        { 5, 2, 7, 0, false, false, "hard,relu" },
        { 4, 3, 17, 1, true, false, "sigmoid,tanh" },
    };

    [Theory]
    [MemberData(nameof(LstmCases))]
    public void Lstm_EveryPath_IsTheCellsArithmeticBitForBit(int steps, int rows, int hidden, int timeAxis, bool reverse, string activations, float cellClip)
    {
        RecurrentActivation[] a = Parse(activations);
        var options = new RecurrentOptions(timeAxis, reverse, false, a[0], a[1], a[2], cellClip);
        var rng = new Random(steps * 100 + hidden);
        int[] shape = timeAxis == 0 ? [steps, rows, 4 * hidden] : [rows, steps, 4 * hidden];
        float[] p = KernelAssert.Random(rng, KernelAssert.Count(shape), -2, 2);
        float[] r = KernelAssert.Random(rng, 4 * hidden * hidden, -0.6f, 0.6f);
        int[] outShape = [shape[0], shape[1], hidden];

        float[] actual = KernelAssert.RunEveryPath(OpCode.Lstm, options, [TestTensor.Input(shape, p), TestTensor.Const([4 * hidden, hidden], r)], outShape);
        if (cellClip > 0)
        {
            // The clip must bind somewhere, or this case would not test it.
            Assert.NotEqual(new RecurrentCellReference(steps, rows, hidden, timeAxis, reverse, RecurrentCellReference.FloatChain(r, hidden)).Lstm(p, options with { CellClip = 0 }), actual);
        }

        var cell = new RecurrentCellReference(steps, rows, hidden, timeAxis, reverse, RecurrentCellReference.FloatChain(r, hidden));
        KernelAssert.SameBytes(TestTensor.ToBytes(cell.Lstm(p, options)), TestTensor.ToBytes(actual), "Lstm against the cell's float arithmetic");
        KernelAssert.Close(new DoubleCell(steps, rows, hidden, timeAxis, reverse).Lstm(p, r, options), actual, 1e-4);
    }

    [Theory]
    [MemberData(nameof(GruCases))]
    public void Gru_EveryPath_IsTheCellsArithmeticBitForBit(int steps, int rows, int hidden, int timeAxis, bool reverse, bool resetAfter, string activations)
    {
        RecurrentActivation[] a = Parse(activations);
        var options = new RecurrentOptions(timeAxis, reverse, resetAfter, a[0], a[1], RecurrentActivation.None);
        var rng = new Random(steps * 100 + hidden + (resetAfter ? 7 : 0));
        int[] shape = timeAxis == 0 ? [steps, rows, 3 * hidden] : [rows, steps, 3 * hidden];
        float[] p = KernelAssert.Random(rng, KernelAssert.Count(shape), -2, 2);
        float[] r = KernelAssert.Random(rng, 3 * hidden * hidden, -0.6f, 0.6f);
        float[] b = KernelAssert.Random(rng, hidden, -0.5f, 0.5f);
        TestTensor?[] inputs = resetAfter
            ? [TestTensor.Input(shape, p), TestTensor.Const([3 * hidden, hidden], r), TestTensor.Const([hidden], b)]
            : [TestTensor.Input(shape, p), TestTensor.Const([3 * hidden, hidden], r)];

        float[] actual = KernelAssert.RunEveryPath(OpCode.Gru, options, inputs, [shape[0], shape[1], hidden]);

        var cell = new RecurrentCellReference(steps, rows, hidden, timeAxis, reverse, RecurrentCellReference.FloatChain(r, hidden));
        KernelAssert.SameBytes(TestTensor.ToBytes(cell.Gru(p, b, options)), TestTensor.ToBytes(actual), "Gru against the cell's float arithmetic");
        KernelAssert.Close(new DoubleCell(steps, rows, hidden, timeAxis, reverse).Gru(p, r, b, options), actual, 1e-4);
    }

    /// <summary>Weights dequantized at load (a derived tensor, as int8 models store them) are packed like constants.</summary>
    [Fact]
    public void Gru_DerivedWeights_SameBytesAsConstant()
    {
        var rng = new Random(3);
        var options = new RecurrentOptions(1, false, true, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.None);
        float[] p = KernelAssert.Random(rng, 2 * 5 * 24, -2, 2);
        float[] r = KernelAssert.Random(rng, 24 * 8, -0.6f, 0.6f);
        float[] b = KernelAssert.Random(rng, 8, -0.5f, 0.5f);
        float[] constant = KernelAssert.RunEveryPath(OpCode.Gru, options, [TestTensor.Input([2, 5, 24], p), TestTensor.Const([24, 8], r), TestTensor.Const([8], b)], [2, 5, 8]);
        float[] derived = KernelAssert.RunEveryPath(OpCode.Gru, options, [TestTensor.Input([2, 5, 24], p), TestTensor.Derived([24, 8], r), TestTensor.Const([8], b)], [2, 5, 8]);
        Assert.Equal(constant, derived);
    }

    [Fact]
    public void Invoke_LstmThenGru_AllocatesNothing()
    {
        var rng = new Random(9);
        var w = new ModelWriter("recurrent");
        int x = w.AddArenaTensor("x", DataType.Float32, [1, 12, 32], 0);         // 1,536 B
        int y = w.AddArenaTensor("y", DataType.Float32, [1, 12, 8], 1536);       // 384 B, until the projection
        int g = w.AddArenaTensor("g", DataType.Float32, [1, 12, 24], 1920);      // 1,152 B, until the GRU
        int z = w.AddArenaTensor("z", DataType.Float32, [1, 12, 8], 3072);       // graph inputs stay alive
        w.ArenaBytes = 3456;
        var lstm = new RecurrentOptions(1, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh);
        var gru = new RecurrentOptions(1, true, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.None);
        // The GRU's gates are the LSTM's hidden states projected to 3·8 by a FullyConnected, as the converter emits them.
        w.AddNode(OpCode.Lstm, "lstm", [x, w.AddConstant("r1", DataType.Float32, [32, 8], TestTensor.ToBytes(KernelAssert.Random(rng, 256, -0.5f, 0.5f)))], [y], lstm);
        w.AddNode(OpCode.FullyConnected, "project", [y, w.AddConstant("w2", DataType.Float32, [24, 8], TestTensor.ToBytes(KernelAssert.Random(rng, 192, -0.5f, 0.5f))), -1], [g], ClampOptions.None);
        w.AddNode(OpCode.Gru, "gru", [g, w.AddConstant("r2", DataType.Float32, [24, 8], TestTensor.ToBytes(KernelAssert.Random(rng, 192, -0.5f, 0.5f)))], [z], gru);
        w.AddInput(x);
        w.AddOutput(z);
        using Model model = Model.FromBytes(w.ToArray(), "recurrent.eim");
        foreach (KernelPath path in KernelPaths.Supported)
        {
            var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
            interpreter.Input(0).WriteFloats(KernelAssert.Random(new Random(1), 12 * 32, -2, 2));
            interpreter.Invoke();
            float[] first = interpreter.Output(0).ToFloatArray();
            long[] rounds = AllocationProbe.SteadyState(() => interpreter.Invoke());
            Assert.True(rounds[^1] == 0, $"{path}: 1,000 invokes allocated in every round: {string.Join(", ", rounds)} bytes");
            Assert.Equal(first, interpreter.Output(0).ToFloatArray());
        }
    }

    public static TheoryData<string> Refusals => [.. RefusedCases().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Prepare_InvalidNode_Refused(string name)
    {
        (string _, OpCode op, IOpOptions options, TestTensor?[] inputs, int[] output, string message) = RefusedCases().Single(c => c.Name == name);
        EdgeInferModelException e = KernelAssert.Refused(op, options, inputs, TestTensor.Output(output));
        Assert.Contains(message, e.Message);
    }

    private static IEnumerable<(string Name, OpCode Op, IOpOptions Options, TestTensor?[] Inputs, int[] Output, string Message)> RefusedCases()
    {
        var lstm = new RecurrentOptions(0, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh);
        var gru = new RecurrentOptions(0, false, true, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.None);
        TestTensor p4 = TestTensor.Input([3, 1, 16], new float[48]);
        TestTensor p3 = TestTensor.Input([3, 1, 12], new float[36]);
        TestTensor r4 = TestTensor.Const([16, 4], new float[64]);
        TestTensor r3 = TestTensor.Const([12, 4], new float[48]);
        TestTensor b = TestTensor.Const([4], new float[4]);
        yield return ("time axis 2", OpCode.Lstm, lstm with { TimeAxis = 2 }, [p4, r4], [3, 1, 4], "time axis 2");
        yield return ("gate activation Softmax", OpCode.Lstm, lstm with { Gate = new RecurrentActivation(OpCode.Softmax) }, [p4, r4], [3, 1, 4], "gate activation Softmax");
        yield return ("no output activation", OpCode.Lstm, lstm with { Output = RecurrentActivation.None }, [p4, r4], [3, 1, 4], "output activation");
        yield return ("HardSigmoid NaN", OpCode.Lstm, lstm with { Candidate = RecurrentActivation.HardSigmoid(float.NaN, 0.5f) }, [p4, r4], [3, 1, 4], "finite alpha");
        yield return ("cell clip NaN", OpCode.Lstm, lstm with { CellClip = float.NaN }, [p4, r4], [3, 1, 4], "cell clip");
        yield return ("cell clip negative", OpCode.Lstm, lstm with { CellClip = -1 }, [p4, r4], [3, 1, 4], "non-negative");
        yield return ("GRU cell clip", OpCode.Gru, gru with { CellClip = 3 }, [TestTensor.Input([3, 1, 12], new float[36]), TestTensor.Const([12, 4], new float[48]), TestTensor.Const([4], new float[4])], [3, 1, 4], "no cell state to clip");
        yield return ("LSTM reset-after", OpCode.Lstm, lstm with { ResetAfter = true }, [p4, r4], [3, 1, 4], "reset-after");
        yield return ("R not [4H, H]", OpCode.Lstm, lstm, [p4, TestTensor.Const([12, 4], new float[48])], [3, 1, 4], "must be [4·H, H]");
        yield return ("R an activation", OpCode.Lstm, lstm, [p4, TestTensor.Input([16, 4], new float[64])], [3, 1, 4], "constant or derived");
        yield return ("P gate width", OpCode.Lstm, lstm, [TestTensor.Input([3, 1, 12], new float[36]), r4], [3, 1, 4], "gate values per step");
        yield return ("P rank 2", OpCode.Lstm, lstm, [TestTensor.Input([3, 16], new float[48]), r4], [3, 4], "rank 3");
        yield return ("output shape", OpCode.Lstm, lstm, [p4, r4], [3, 1, 5], "output");
        yield return ("GRU output activation", OpCode.Gru, gru with { Output = RecurrentActivation.Tanh }, [p3, r3, b], [3, 1, 4], "no output activation");
        yield return ("GRU reset-after without bias", OpCode.Gru, gru, [p3, r3], [3, 1, 4], "needs the candidate's recurrent bias");
        yield return ("GRU bias without reset-after", OpCode.Gru, gru with { ResetAfter = false }, [p3, r3, b], [3, 1, 4], "only for reset-after");
        yield return ("GRU bias length", OpCode.Gru, gru, [p3, r3, TestTensor.Const([5], new float[5])], [3, 1, 4], "should hold 4 values");
        yield return ("unknown flag bits", OpCode.Gru, new RawOptions(gru, flags: 4), [p3, r3, b], [3, 1, 4], "unknown bits");
    }

    private static RecurrentActivation[] Parse(string names) => [.. names.Split(',').Select(n => n switch
    {
        "sigmoid" => RecurrentActivation.Sigmoid,
        "tanh" => RecurrentActivation.Tanh,
        "relu" => RecurrentActivation.Relu,
        "hard" => HardGate,
        _ => throw new ArgumentException(n),
    })];

    /// <summary>Options bytes with the flags field overwritten (a record the writer itself never makes).</summary>
    private sealed class RawOptions(RecurrentOptions options, int flags) : IOpOptions
    {
        public int ByteSize => RecurrentOptions.Size;

        public void Write(Span<byte> destination)
        {
            options.Write(destination);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(destination[4..], flags);
        }
    }

    /// <summary>The cells in double, from the definitions (the kernels must be within a tolerance of it).</summary>
    private sealed class DoubleCell(int steps, int rows, int hidden, int timeAxis, bool reverse)
    {
        private int Index(int t, int n, int width) => (timeAxis == 0 ? t * rows + n : n * steps + t) * width;

        private IEnumerable<int> Order => reverse ? Enumerable.Range(0, steps).Reverse() : Enumerable.Range(0, steps);

        public double[] Lstm(float[] p, float[] r, RecurrentOptions o)
        {
            int h = hidden;
            var y = new double[steps * rows * h];
            for (int n = 0; n < rows; n++)
            {
                var hPrev = new double[h];
                var c = new double[h];
                foreach (int t in Order)
                {
                    var hNew = new double[h];
                    for (int j = 0; j < h; j++)
                    {
                        double Z(int gate) => p[Index(t, n, 4 * h) + gate * h + j] + Dot(r, (gate * h + j) * h, hPrev);
                        c[j] = ActD(o.Gate, Z(1)) * c[j] + ActD(o.Gate, Z(0)) * ActD(o.Candidate, Z(2));
                        c[j] = o.CellClip > 0 ? Math.Clamp(c[j], -o.CellClip, o.CellClip) : c[j];
                        hNew[j] = ActD(o.Gate, Z(3)) * ActD(o.Output, c[j]);
                    }

                    hNew.CopyTo(y, Index(t, n, h));
                    hPrev = hNew;
                }
            }

            return y;
        }

        public double[] Gru(float[] p, float[] r, float[] b, RecurrentOptions o)
        {
            int h = hidden;
            var y = new double[steps * rows * h];
            for (int n = 0; n < rows; n++)
            {
                var hPrev = new double[h];
                foreach (int t in Order)
                {
                    int at = Index(t, n, 3 * h);
                    double[] z = [.. Enumerable.Range(0, h).Select(j => ActD(o.Gate, p[at + j] + Dot(r, j * h, hPrev)))];
                    double[] rg = [.. Enumerable.Range(0, h).Select(j => ActD(o.Gate, p[at + h + j] + Dot(r, (h + j) * h, hPrev)))];
                    double[] rh = [.. Enumerable.Range(0, h).Select(j => rg[j] * hPrev[j])];
                    var hNew = new double[h];
                    for (int j = 0; j < h; j++)
                    {
                        double candidate = o.ResetAfter
                            ? p[at + 2 * h + j] + rg[j] * (Dot(r, (2 * h + j) * h, hPrev) + b[j])
                            : p[at + 2 * h + j] + Dot(r, (2 * h + j) * h, rh);
                        double nj = ActD(o.Candidate, candidate);
                        hNew[j] = (1 - z[j]) * nj + z[j] * hPrev[j];
                    }

                    hNew.CopyTo(y, Index(t, n, h));
                    hPrev = hNew;
                }
            }

            return y;
        }

        private double Dot(float[] r, int row, double[] v)
        {
            double s = 0;
            for (int k = 0; k < hidden; k++)
            {
                s += (double)r[row + k] * v[k];
            }

            return s;
        }

        private static double ActD(RecurrentActivation a, double x) => a.Op switch
        {
            OpCode.Sigmoid => 1 / (1 + Math.Exp(-x)),
            OpCode.Tanh => Math.Tanh(x),
            OpCode.Relu => Math.Max(x, 0),
            _ => Math.Clamp(a.Alpha * x + a.Beta, 0, 1),
        };
    }
}
