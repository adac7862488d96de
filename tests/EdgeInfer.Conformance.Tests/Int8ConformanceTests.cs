using EdgeInfer.Converter;
using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Runtime.Kernels;

namespace EdgeInfer.Conformance.Tests;

/// <summary>
/// Static int8 quantization across the conformance models: each single-input case is quantized with calibration
/// data made from its own test input (the input and fifteen seeded variations of it: scaled, shifted, noisy), and
/// the int8 model's outputs on those sixteen inputs are compared with the float model's. The bar is the
/// signal-to-quantization-noise ratio: at least 25 dB, which one int8 layer keeps with room (these cases give
/// 30–47 dB), where a broken requantization, zero point, padding value or channel order gives well under 10.
/// Softmax is the exception the format imposes: its int8 output has TFLite's fixed step of 1/256, so a softmax over
/// 128 classes (probabilities near 0.008) keeps about 21 dB; a case whose output comes from Softmax must keep 18.
/// </summary>
public class Int8ConformanceTests(ITestOutputHelper output)
{
    private const double MinSqnrDb = 25;
    private const double MinSoftmaxSqnrDb = 18;
    private const int Variations = 15;

    [Theory]
    [MemberData(nameof(ConformanceTests.CaseNames), MemberType = typeof(ConformanceTests))]
    public void Case_Int8_TracksTheFloatModel(string suite, string name)
    {
        if (ConformanceSuite.MissingDataMessage() is { } missing)
        {
            Assert.Fail(missing);
        }

        ConformanceCase c = ConformanceSuite.Cases().Single(x => x.Suite == suite && x.Name == name);
        Graph graph;
        try
        {
            graph = ModelConverter.Lower(Path.Combine(c.Directory, "model.onnx"), new ConvertOptions(), _ => { });
        }
        catch (UnsupportedOperatorException e)
        {
            Assert.Skip($"unsupported: {e.Reason}");
            return;
        }

        if (graph.Inputs.Count != 1 || graph.Inputs[0].Type != DataType.Float32)
        {
            Assert.Skip($"{graph.Inputs.Count} inputs ({string.Join(", ", graph.Inputs.Select(i => i.Type))}); the check takes one float input");
        }

        string set = Directory.GetDirectories(c.Directory, "test_data_set_*").Order(StringComparer.Ordinal).First();
        float[] input = OnnxTensors.ReadFile(Path.Combine(set, "input_0.pb")).Data.ToFloatArray();
        if (!input.All(float.IsFinite))
        {
            Assert.Skip("the test input holds values beyond float32 (no range to calibrate)");
        }

        float[][] samples = [input, .. Variants(input)];

        byte[] floatFile = ModelEmitter.Emit(graph.Clone()).File;
        (Graph quantized, QuantizationReport report) = QuantizationPipeline.Run(graph,
            new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = samples }, null, null, _ => { });
        using Model floatModel = Model.FromBytes(floatFile, c + " float");
        using Model int8Model = Model.FromBytes(ModelEmitter.Emit(quantized).File, c + " int8");
        string[] int8Ops = [.. int8Model.Graph.Nodes
            .Where(n => n.Inputs.Length > 0 && n.Inputs[0] >= 0 && int8Model.Graph.Tensors[n.Inputs[0]].DataType == DataType.Int8)
            .Select(n => n.OpCode.ToString()).Distinct().Order(StringComparer.Ordinal)];
        if (int8Ops.All(op => op is nameof(OpCode.Dequantize) or nameof(OpCode.Reshape) or nameof(OpCode.Transpose)))
        {
            Assert.Skip($"nothing runs in int8 (kept float: {string.Join(", ", report.KeptFloat)})");
        }

        float[][] expected = Run(floatModel, samples);
        float[][] actual = Run(int8Model, samples);
        // int8 has no NaN: where the float model gives one (Sqrt of a negative input), the int8 model gives the output
        // zero point. Those elements are left out of the comparison, and counted.
        double signal = 0, noise = 0;
        int notANumber = 0;
        for (int s = 0; s < samples.Length; s++)
        {
            for (int i = 0; i < expected[s].Length; i++)
            {
                if (float.IsNaN(expected[s][i]))
                {
                    notANumber++;
                    continue;
                }

                signal += (double)expected[s][i] * expected[s][i];
                double d = actual[s][i] - (double)expected[s][i];
                noise += d * d;
            }
        }

        double sqnr = noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
        bool softmax = int8Model.Graph.Nodes.Any(n => n.OpCode == OpCode.Softmax && int8Model.Graph.Tensors[n.Outputs[0]].DataType == DataType.Int8);
        double bar = softmax ? MinSoftmaxSqnrDb : MinSqnrDb;
        output.WriteLine($"{c}: SQNR {sqnr:F1} dB (bar {bar}) over {samples.Length} inputs ({notANumber} NaN outputs of the float model left out); int8 operators: {string.Join(", ", int8Ops)}; kept float: {string.Join(", ", report.KeptFloat)}");
        Assert.True(signal > 0 || notANumber == 0, $"{c}: every float output is NaN: nothing to compare");
        Assert.True(sqnr >= bar, $"{c}: int8 SQNR {sqnr:F1} dB against the float model, below {bar} dB");
    }

    /// <summary>Seeded variations of the test input: scaled by 0.5–1.5 and shifted, with noise of 0.3 of its spread.</summary>
    private static IEnumerable<float[]> Variants(float[] input)
    {
        var random = new Random(20261129);
        double mean = input.Average(v => (double)v);
        double spread = Math.Sqrt(input.Average(v => (v - mean) * (v - mean))) + 1e-3;
        for (int k = 0; k < Variations; k++)
        {
            double scale = 0.5 + random.NextDouble();
            double shift = (random.NextDouble() - 0.5) * spread;
            yield return [.. input.Select(v => (float)(v * scale + shift + (random.NextDouble() - 0.5) * 0.6 * spread))];
        }
    }

    private static float[][] Run(Model model, float[][] samples)
    {
        var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = KernelPath.Auto });
        var outputs = new float[samples.Length][];
        for (int s = 0; s < samples.Length; s++)
        {
            interpreter.Input(0).WriteFloats(samples[s]);
            interpreter.Invoke();
            outputs[s] = [.. Enumerable.Range(0, interpreter.OutputCount).SelectMany(o => interpreter.Output(o).ToFloatArray())];
        }

        return outputs;
    }
}
