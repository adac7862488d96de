using System.Globalization;
using EdgeInfer.Converter.Importers.Keras;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Format;
using EdgeInfer.Runtime;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// Real Keras .h5 models converted by the Keras importer and run by the runtime, compared with
/// tools/keras-reference/keras_reference.py, an independent numpy implementation of Keras inference (float64), on
/// seeded random inputs. The MIT-licensed models are in tests/fixtures/keras; the others (no licence to copy them)
/// are read from ../shared/peers/keras when it is there, and skipped otherwise.
/// </summary>
public class KerasImportTests(ITestOutputHelper output)
{
    private static string Dir => Path.Combine(Support.Fixtures.Directory, "keras");

    private static string PeerDir => Path.GetFullPath(Path.Combine(Support.Fixtures.Directory, "..", "..", "..", "shared", "peers", "keras"));

    /// <summary>
    /// Real models (fixtures, or peers read from ../shared), and synthetic ones written in Keras' own format by
    /// tools/keras-reference/make_synthetic.py for the layers and options no real model here uses: ZeroPadding2D,
    /// DepthwiseConv2D with a multiplier, dilated SAME and causal convolutions, ReLU(max_value), LeakyReLU, swish,
    /// hard_sigmoid (Keras 2 and 3 slopes), an unfoldable BatchNormalization, SAME average and max pooling,
    /// GlobalMaxPooling1D/2D, Subtract, Multiply, Rescaling, Reshape, a Softmax layer, Keras 3's inbound_nodes form,
    /// a Sequential model without an InputLayer, a layer listed before its inputs; GRU with and without reset_after and a
    /// hard_sigmoid gate, stacked LSTMs after a Conv1D, Bidirectional LSTM (concat) and GRU (sum) around
    /// TimeDistributed(Dense); the elu, selu, softsign, exponential and log_softmax activations.
    /// </summary>
    public static TheoryData<string, string> Models => new()
    {
        { "nids_mlp_dropout", "" },
        { "nids_conv1d", "" },
        { "fer_mini_xception", "" },
        { "mnist_cnn", "peers" },
        { "housing_wide_deep_functional", "peers" },
        { "churn_mlp_k3", "peers" },
        { "synthetic_k2_functional", "synthetic" },
        { "synthetic_k3_functional", "synthetic" },
        { "synthetic_k2_sequential", "synthetic" },
        { "synthetic_k2_gru", "synthetic" },
        { "synthetic_k3_lstm", "synthetic" },
        { "synthetic_k2_bidirectional", "synthetic" },
        { "synthetic_k3_activations", "synthetic" },
        { "har_conv1d_lstm_k3", "peers" },
        { "stock_lstm_stacked_k3", "peers" },
        { "lstm_single_step", "peers" },
        { "battery_gru_k3", "peers" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Model_MatchesTheKerasReference(string name, string folder)
    {
        bool peer = folder == "peers";
        string model = Path.Combine(peer ? PeerDir : Path.Combine(Dir, folder), name + ".h5");
        if (peer && !File.Exists(model))
        {
            Assert.Skip($"{model} is not here (a model without a licence to copy; ../shared/peers/keras holds it)");
        }

        string expectedDir = Path.Combine(Dir, folder);
        float[][] rows = Support.Fixtures.ReadCsv(Path.Combine(expectedDir, name + "_inputs.csv"));
        Dictionary<(int Sample, int Output), double[]> expected = ReadExpected(Path.Combine(expectedDir, name + "_expected.txt"));

        byte[] file = ModelConverter.Convert(model, new ConvertOptions()).File;
        using Model m = Model.FromBytes(file, name + ".eim");
        var interpreter = new Interpreter(m);
        double worst = 0;
        for (int s = 0; s < rows.Length; s++)
        {
            int offset = 0;
            for (int i = 0; i < interpreter.InputCount; i++)
            {
                int count = interpreter.Input(i).ElementCount;
                interpreter.Input(i).WriteFloats(rows[s].AsSpan(offset, count));
                offset += count;
            }

            Assert.Equal(rows[s].Length, offset);
            interpreter.Invoke();
            for (int o = 0; o < interpreter.OutputCount; o++)
            {
                float[] actual = interpreter.Output(o).ToFloatArray();
                double[] e = expected[(s, o)];
                Assert.Equal(e.Length, actual.Length);
                for (int k = 0; k < e.Length; k++)
                {
                    double error = Math.Abs(actual[k] - e[k]) / Math.Max(1, Math.Abs(e[k]));
                    worst = Math.Max(worst, error);
                    Assert.True(error <= 5e-6, $"{name}, sample {s}, output {o}[{k}]: {actual[k]} vs reference {e[k]}");
                }
            }
        }

        output.WriteLine($"{name}: {rows.Length} samples, largest difference {worst:G3} (relative above 1)");
    }

    [Fact]
    public void FerMiniXception_FoldsEveryBatchNormalizationIntoAConvolution()
    {
        Graph graph = ModelConverter.Lower(Path.Combine(Dir, "fer_mini_xception.h5"), new ConvertOptions(), _ => { });
        // 14 BatchNormalization layers, each after a convolution: none is left as a Mul/Add.
        Assert.DoesNotContain(graph.Nodes, n => n.Code is OpCode.Mul or OpCode.Add && n.Inputs.Any(v => v is { IsConstant: true }));
        Assert.Equal(4, graph.Nodes.Count(n => n.Code == OpCode.Add));
        Assert.Equal(8, graph.Nodes.Count(n => n.Code == OpCode.Conv2D && ((Conv2DOptions)n.Options!).Groups > 1));
    }

    [Fact]
    public void InputShape_AppliesToTheInputLayer_AndMisfitsAreNamed()
    {
        string path = Path.Combine(Dir, "nids_conv1d.h5");
        var options = new ConvertOptions();
        options.InputShapes[""] = [3, 5, 1];
        Graph graph = ModelConverter.Lower(path, options, _ => { });
        Assert.Equal([3, 5, 1], graph.Inputs[0].Shape!);
        Assert.Equal([3, 1], graph.Outputs[0].Shape!);

        options.InputShapes[""] = [1, 5];
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Lower(path, options, _ => { }));
        Assert.Equal($"{path}: layer 'conv1d_input' (InputLayer) has rank 3; --input-shape gives 2 dimensions", e.Message);

        string housing = Path.Combine(PeerDir, "housing_wide_deep_functional.h5");
        if (File.Exists(housing))
        {
            var two = new ConvertOptions();
            two.InputShapes["wide_input"] = [2, 5];
            two.InputShapes["deep"] = [2, 6];
            e = Assert.Throws<ConversionException>(() => ModelConverter.Lower(housing, two, _ => { }));
            Assert.Equal($"{housing}: --input-shape names 'deep', which is not an input layer (inputs: 'wide_input', 'deep_input')", e.Message);
        }
    }

    [Fact]
    public void DamagedOrForeignFiles_AreRefusedByName()
    {
        string dir = Directory.CreateTempSubdirectory("edgeinfer-keras-").FullName;
        try
        {
            // A truncated HDF5 file either fails to read, or (when what is cut is the optimizer state Keras saves after
            // the weights) converts to exactly the model the whole file gives; never to different numbers.
            string source = Path.Combine(Dir, "nids_mlp_dropout.h5");
            byte[] original = File.ReadAllBytes(source);
            float[] input = Support.Fixtures.ReadCsv(Path.Combine(Dir, "nids_mlp_dropout_inputs.csv"))[0];
            float[] expected = Outputs(ModelConverter.Convert(source, new ConvertOptions()).File, input);
            int refused = 0, intact = 0;
            var bad = new List<string>();
            foreach (int length in new[] { 0, 7, 512, 2048, 4096, 8192, 12288, original.Length / 3, original.Length / 2, original.Length - 100 })
            {
                string path = Path.Combine(dir, $"cut{length}.h5");
                File.WriteAllBytes(path, original[..length]);
                try
                {
                    float[] y = Outputs(ModelConverter.Convert(path, new ConvertOptions()).File, input);
                    if (y.SequenceEqual(expected))
                    {
                        intact++;
                    }
                    else
                    {
                        bad.Add($"{length} bytes: converted to different outputs");
                    }
                }
                catch (ConversionException e) when (e.Message.StartsWith(path + ": ", StringComparison.Ordinal))
                {
                    refused++;
                }
                catch (Exception e)
                {
                    bad.Add($"{length} bytes: {e.GetType().Name}: {e.Message}");
                }
            }

            Assert.True(bad.Count == 0, string.Join("\n", bad));
            Assert.True(refused >= 4, $"only {refused} truncations refused");
            output.WriteLine($"{refused} truncations refused, {intact} cut only what the model does not use");

            string onnxRenamed = Path.Combine(dir, "model.h5");
            File.Copy(Path.Combine(Support.Fixtures.Directory, "digits", "digits_mlp.onnx"), onnxRenamed);
            var foreign = Assert.Throws<ConversionException>(() => ModelConverter.Convert(onnxRenamed, new ConvertOptions()));
            Assert.StartsWith($"{onnxRenamed}: not a readable HDF5 file", foreign.Message, StringComparison.Ordinal);

            string keras3 = Path.Combine(dir, "model.keras");
            File.WriteAllBytes(keras3, [0x50, 0x4B, 3, 4]);
            var archive = Assert.Throws<ConversionException>(() => ModelConverter.Convert(keras3, new ConvertOptions()));
            Assert.Contains("save the model as HDF5", archive.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static float[] Outputs(byte[] eim, float[] input)
    {
        using Model m = Model.FromBytes(eim, "model.eim");
        var interpreter = new Interpreter(m);
        interpreter.Input(0).WriteFloats(input);
        interpreter.Invoke();
        return interpreter.Output(0).ToFloatArray();
    }

    /// <summary>"n output&lt;k&gt; v v ..." lines.</summary>
    private static Dictionary<(int, int), double[]> ReadExpected(string path)
    {
        var result = new Dictionary<(int, int), double[]>();
        foreach (string line in File.ReadLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            string[] parts = line.Split(' ');
            int sample = int.Parse(parts[0], CultureInfo.InvariantCulture);
            int outputIndex = int.Parse(parts[1]["output".Length..], CultureInfo.InvariantCulture);
            result[(sample, outputIndex)] = [.. parts[2..].Select(v => double.Parse(v, CultureInfo.InvariantCulture))];
        }

        return result;
    }
}
