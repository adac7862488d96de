using EdgeInfer.Converter.Importers.TfLite;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Runtime.Kernels;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// TensorFlow Lite Micro's own models (tests/fixtures/tflm, Apache-2.0) converted by the TFLite importer and run by the
/// runtime, compared with tools/tflite-reference/tflite_reference.py: an independent Python implementation of TFLite's
/// reference integer kernels. int8 models must match it byte for byte at every layer, on every kernel path.
/// </summary>
public class TfLiteImportTests(ITestOutputHelper output)
{
    private static string Dir => Path.Combine(Support.Fixtures.Directory, "tflm");

    public static TheoryData<string, string, int, string> Int8Models => new()
    {
        { "person_detect.tflite", "person_96x96_int8.raw|no_person_96x96_int8.raw", 96 * 96, "person_detect_expected.txt" },
        { "micro_speech_quantized.tflite", "micro_speech_random4.raw", 49 * 40, "micro_speech_expected.txt" },
        { "hello_world_int8.tflite", "all-int8", 1, "hello_world_int8_expected.txt" },
        { "residual_block_int8.tflite", "residual_block_inputs.raw", 12 * 12 * 8, "residual_block_expected.txt" },
    };

    [Theory]
    [MemberData(nameof(Int8Models))]
    public void Int8Model_MatchesTheTfLiteReference_AtEveryLayer_OnEveryPath(string model, string inputs, int sampleBytes, string expectedFile)
    {
        var reference = TfLiteReference.Read(Path.Combine(Dir, expectedFile));
        byte[] file = ModelConverter.Convert(Path.Combine(Dir, model), new ConvertOptions()).File;
        List<sbyte[]> samples = inputs == "all-int8"
            ? [.. Enumerable.Range(-128, 256).Select(v => new[] { (sbyte)v })]
            : TfLiteReference.RawSamples(sampleBytes, [.. inputs.Split('|').Select(f => Path.Combine(Dir, f))]);
        Assert.Equal(reference.Outputs.Count, samples.Count);
        foreach (KernelPath path in KernelPaths.Supported)
        {
            IReadOnlyList<string> problems = reference.Compare(file, samples, path);
            Assert.True(problems.Count == 0, $"{model}:\n{string.Join("\n", problems.Take(10))}");
        }

        output.WriteLine($"{model}: {samples.Count} samples, {reference.Layers[0].Count} layers each, identical on {string.Join(", ", KernelPaths.Supported)}");
    }

    /// <summary>The .eim the arm64 runtime tests check under QEMU is what the importer writes today.</summary>
    [Fact]
    public void CommittedPersonDetectEim_IsTheCurrentConversion()
    {
        byte[] file = ModelConverter.Convert(Path.Combine(Dir, "person_detect.tflite"), new ConvertOptions()).File;
        Assert.True(file.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Dir, "person_detect.eim"))),
            "tests/fixtures/tflm/person_detect.eim is stale: edgeinfer convert tests/fixtures/tflm/person_detect.tflite -o tests/fixtures/tflm/person_detect.eim");
    }

    [Fact]
    public void PersonDetect_ScoresThePersonImageAsAPerson_AsTflmsTestExpects()
    {
        byte[] file = ModelConverter.Convert(Path.Combine(Dir, "person_detect.tflite"), new ConvertOptions()).File;
        using Model m = Model.FromBytes(file, "person_detect.eim");
        var interpreter = new Interpreter(m);
        sbyte[] Scores(string image)
        {
            File.ReadAllBytes(Path.Combine(Dir, image)).AsSpan().CopyTo(interpreter.Input(0).Bytes);
            interpreter.Invoke();
            return interpreter.Output(0).AsSpan<sbyte>().ToArray();
        }

        sbyte[] person = Scores("person_96x96_int8.raw"), noPerson = Scores("no_person_96x96_int8.raw");
        Assert.True(person[1] > person[0], $"person image: person {person[1]}, no person {person[0]}");
        Assert.True(noPerson[0] > noPerson[1], $"no-person image: person {noPerson[1]}, no person {noPerson[0]}");
    }

    [Fact]
    public void FloatModel_MatchesTheReference()
    {
        var expected = TfLiteReference.Read(Path.Combine(Dir, "hello_world_float_expected.txt"));
        float[][] x = Support.Fixtures.ReadCsv(Path.Combine(Dir, "hello_world_x.csv"));
        byte[] file = ModelConverter.Convert(Path.Combine(Dir, "hello_world_float.tflite"), new ConvertOptions()).File;
        using Model m = Model.FromBytes(file, "hello_world_float.eim");
        var interpreter = new Interpreter(m);
        for (int s = 0; s < x.Length; s++)
        {
            interpreter.Input(0).WriteFloats(x[s]);
            interpreter.Invoke();
            double y = interpreter.Output(0).ToFloatArray()[0];
            Assert.True(Math.Abs(y - expected.Outputs[s][0]) <= 1e-6, $"x = {x[s][0]}: {y} vs reference {expected.Outputs[s][0]}");
        }
    }

    /// <summary>
    /// TFLM's mnist_lstm model: UNIDIRECTIONAL_SEQUENCE_LSTM (cell_clip 10, state variables) imports as one input
    /// projection and one fused Lstm, and its class probabilities match the reference's float64 LSTM on 20 digits,
    /// on every kernel path; the reference's top class is ours on each.
    /// </summary>
    [Fact]
    public void FloatLstmModel_MatchesTheReference_OnEveryPath()
    {
        var expected = TfLiteReference.Read(Path.Combine(Dir, "trained_lstm_expected.txt"));
        float[][] x = Support.Fixtures.ReadCsv(Path.Combine(Dir, "trained_lstm_x.csv"));
        Assert.Equal(expected.Outputs.Count, x.Length);
        Graph graph = ModelConverter.Lower(Path.Combine(Dir, "trained_lstm.tflite"), new ConvertOptions(), _ => { });
        Node lstm = Assert.Single(graph.Nodes, n => n.Code == OpCode.Lstm);
        Assert.Equal(new RecurrentOptions(1, false, false, RecurrentActivation.Sigmoid, RecurrentActivation.Tanh, RecurrentActivation.Tanh, 10f), lstm.Options);
        byte[] file = ModelConverter.Convert(Path.Combine(Dir, "trained_lstm.tflite"), new ConvertOptions()).File;
        using Model m = Model.FromBytes(file, "trained_lstm.eim");
        foreach (KernelPath path in KernelPaths.Supported)
        {
            var interpreter = new Interpreter(m, new InterpreterOptions { KernelPath = path });
            for (int s = 0; s < x.Length; s++)
            {
                interpreter.Input(0).WriteFloats(x[s]);
                interpreter.Invoke();
                float[] y = interpreter.Output(0).ToFloatArray();
                double[] e = expected.Outputs[s];
                for (int k = 0; k < y.Length; k++)
                {
                    Assert.True(Math.Abs(y[k] - e[k]) <= 1e-5, $"{path}, sample {s}, class {k}: {y[k]} vs reference {e[k]}");
                }

                Assert.Equal(Array.IndexOf(e, e.Max()), Array.IndexOf(y, y.Max()));
            }
        }
    }

    /// <summary>
    /// The same model quantized by the TFLite converter (an integer LSTM: int8 weights, int32 biases, an int16 cell
    /// state) runs as the float recurrence on its own int8 weights, kept bit for bit, between a Dequantize and a
    /// Quantize. It is not TFLite's fixed-point LSTM, so the check is against the float model's reference: the same
    /// top class on the 20 digits, probabilities within a few output steps.
    /// </summary>
    [Fact]
    public void IntegerLstmModel_RunsAsTheFloatRecurrenceOnItsInt8Weights()
    {
        var expected = TfLiteReference.Read(Path.Combine(Dir, "trained_lstm_expected.txt"));
        float[][] x = Support.Fixtures.ReadCsv(Path.Combine(Dir, "trained_lstm_x.csv"));
        Graph graph = ModelConverter.Lower(Path.Combine(Dir, "trained_lstm_int8.tflite"), new ConvertOptions(), _ => { });
        Node lstm = Assert.Single(graph.Nodes, n => n.Code == OpCode.Lstm);
        Node recurrent = Assert.Single(graph.Nodes, n => n.Outputs[0] == lstm.Input(1));
        Assert.Equal(OpCode.Dequantize, recurrent.Code);
        Assert.Equal(DataType.Int8, recurrent.Input(0).Type);
        Assert.Equal(80, recurrent.Input(0).Quantization!.Scales.Length); // each gate's scale on its 20 rows

        byte[] file = ModelConverter.Convert(Path.Combine(Dir, "trained_lstm_int8.tflite"), new ConvertOptions()).File;
        using Model m = Model.FromBytes(file, "trained_lstm_int8.eim");
        var interpreter = new Interpreter(m);
        (float scale, int zeroPoint) = (m.Graph.Tensors[m.Graph.Inputs[0]].Quantization!.Scales[0], m.Graph.Tensors[m.Graph.Inputs[0]].Quantization!.ZeroPoints[0]);
        TensorInfo outputInfo = m.Graph.Tensors[m.Graph.Outputs[0]];
        double worst = 0;
        for (int s = 0; s < x.Length; s++)
        {
            sbyte[] q = [.. x[s].Select(v => (sbyte)Math.Clamp(Math.Round(v / scale) + zeroPoint, -128, 127))];
            q.AsSpan().CopyTo(interpreter.Input(0).AsSpan<sbyte>());
            interpreter.Invoke();
            double[] y = [.. interpreter.Output(0).AsSpan<sbyte>().ToArray().Select(v => outputInfo.Quantization!.Scales[0] * (v - outputInfo.Quantization.ZeroPoints[0]))];
            double[] e = expected.Outputs[s];
            Assert.Equal(Array.IndexOf(e, e.Max()), Array.IndexOf(y, y.Max()));
            worst = Math.Max(worst, y.Zip(e, (a, b) => Math.Abs(a - b)).Max());
        }

        output.WriteLine($"trained_lstm_int8: top class as the float reference on {x.Length} digits, largest probability difference {worst:F4}");
        Assert.True(worst <= 0.06, $"largest probability difference {worst:F4}");
    }

    [Fact]
    public void DepthwiseWeights_AreLaidOutOhwi_WithTheirScalesOnAxisZero()
    {
        Graph graph = ModelConverter.Lower(Path.Combine(Dir, "person_detect.tflite"), new ConvertOptions(), _ => { });
        Node first = graph.Nodes[0];
        Value w = first.Input(1);
        // The first layer is DEPTHWISE_CONV_2D with multiplier 8 on one channel: [1,3,3,8] in the file.
        Assert.Equal([8, 3, 3, 1], w.Shape!);
        Assert.Equal(0, w.Quantization!.Axis);
        Assert.Equal(8, w.Quantization.Scales.Length);
        var options = (Conv2DOptions)first.Options!;
        Assert.Equal((2, 2, 1), (options.StrideH, options.StrideW, options.Groups));
        // SAME padding of 96 by a 3x3 stride-2 window: the one padded row and column go after (TFLite's rule).
        Assert.Equal((0, 0, 1, 1), (options.PadTop, options.PadLeft, options.PadBottom, options.PadRight));
        Assert.Equal(new ClampOptions(0, 6), options.Clamp);
    }

    [Fact]
    public void UnsupportedContent_IsRefusedByName()
    {
        var e = Assert.Throws<ConversionException>(() => TfLiteImporter.Import(File.ReadAllBytes(Path.Combine(Dir, "person_detect.tflite"))[..7], "short.tflite", _ => { }));
        Assert.Equal("short.tflite: not a TensorFlow Lite model (no 'TFL3' identifier at byte 4)", e.Message);

        byte[] onnx = File.ReadAllBytes(Path.Combine(Support.Fixtures.Directory, "digits", "digits_mlp.onnx"));
        e = Assert.Throws<ConversionException>(() => TfLiteImporter.Import(onnx, "renamed.tflite", _ => { }));
        Assert.StartsWith("renamed.tflite: not a TensorFlow Lite model", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(Path.Combine(Dir, "person_detect.tflite"), WithInputShape()));
        Assert.Contains("--input-shape applies to ONNX models", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DamagedFiles_AreRefusedWithAConversionError_OrConvertToAModelThatLoads()
    {
        // Every byte of the int8 hello_world model (2.7 KB: header, vtables, tables, weights) replaced by its complement,
        // and every truncation: the importer must refuse with a ConversionException naming the file, or produce a
        // model the runtime loads. Any other exception is a gap in the checks.
        byte[] original = File.ReadAllBytes(Path.Combine(Dir, "hello_world_int8.tflite"));
        int refused = 0, converted = 0;
        var bad = new List<string>();
        void Try(byte[] bytes, string what)
        {
            try
            {
                Graph graph = TfLiteImporter.Import(bytes, "damaged.tflite", _ => { });
                Passes.RemoveDeadCode.Run(graph, _ => { });
                ModelConverter.RequireLoads(Emit.ModelEmitter.Emit(graph).File, "damaged.tflite");
                converted++;
            }
            catch (ConversionException e) when (e.Message.StartsWith("damaged.tflite: ", StringComparison.Ordinal))
            {
                refused++;
            }
            catch (Exception e)
            {
                bad.Add($"{what}: {e.GetType().Name}: {e.Message}");
            }
        }

        for (int i = 0; i < original.Length; i++)
        {
            byte[] flipped = (byte[])original.Clone();
            flipped[i] ^= 0xFF;
            Try(flipped, $"byte {i} complemented");
        }

        for (int length = 0; length < original.Length; length += 7)
        {
            Try(original[..length], $"truncated to {length} bytes");
        }

        output.WriteLine($"{refused} refused, {converted} converted (damage in weights or unread fields)");
        Assert.True(bad.Count == 0, string.Join("\n", bad.Take(20)));
        Assert.True(refused > 500, $"only {refused} damaged files were refused");
    }

    private static ConvertOptions WithInputShape()
    {
        var options = new ConvertOptions();
        options.InputShapes[""] = [1, 96, 96, 1];
        return options;
    }
}
