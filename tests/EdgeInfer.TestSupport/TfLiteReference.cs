using System.Globalization;
using System.Security.Cryptography;
using EdgeInfer.Format;
using EdgeInfer.Runtime;

namespace EdgeInfer.TestSupport;

/// <summary>
/// The expected outputs tools/tflite-reference/tflite_reference.py writes for tests/fixtures/tflm: per sample, the
/// SHA-256 (first 16 bytes, hex) of every int8 operator output by tensor name ("n layer NAME HASH") and the graph
/// output's values ("n output V V ..."). The reference is an independent implementation of TFLite's integer kernels.
/// </summary>
public sealed class TfLiteReference
{
    private TfLiteReference(List<Dictionary<string, string>> layers, List<double[]> outputs)
    {
        Layers = layers;
        Outputs = outputs;
    }

    public IReadOnlyList<Dictionary<string, string>> Layers { get; }
    public IReadOnlyList<double[]> Outputs { get; }

    public static TfLiteReference Read(string path)
    {
        var layers = new List<Dictionary<string, string>>();
        var outputs = new List<double[]>();
        foreach (string line in File.ReadLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            string[] parts = line.Split(' ');
            int n = int.Parse(parts[0], CultureInfo.InvariantCulture);
            while (layers.Count <= n)
            {
                layers.Add(new Dictionary<string, string>(StringComparer.Ordinal));
            }

            if (parts[1] == "layer")
            {
                layers[n][string.Join(' ', parts[2..^1])] = parts[^1];
            }
            else
            {
                outputs.Add([.. parts[2..].Select(v => double.Parse(v, CultureInfo.InvariantCulture))]);
            }
        }

        return new TfLiteReference(layers, outputs);
    }

    /// <summary>
    /// Runs an int8 model on each sample on <paramref name="path"/> and returns every difference from the reference
    /// (a layer whose bytes differ, a missing layer, a different output); empty when the model matches byte for byte.
    /// </summary>
    public IReadOnlyList<string> Compare(byte[] eim, IReadOnlyList<sbyte[]> samples, KernelPath path)
    {
        var problems = new List<string>();
        using Model model = Model.FromBytes(eim, "model.eim");
        var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
        for (int s = 0; s < samples.Count; s++)
        {
            samples[s].AsSpan().CopyTo(interpreter.Input(0).AsSpan<sbyte>());
            var hashes = new LayerHashes();
            interpreter.Invoke(hashes);
            foreach ((string tensor, string hash) in Layers[s])
            {
                if (!hashes.Hashes.TryGetValue(tensor, out string? actual))
                {
                    problems.Add($"sample {s}: no operator wrote '{tensor}'");
                }
                else if (actual != hash)
                {
                    problems.Add($"sample {s}: layer '{tensor}' differs on {path}");
                }
            }

            double[] y = [.. interpreter.Output(0).AsSpan<sbyte>().ToArray().Select(v => (double)v)];
            if (!y.SequenceEqual(Outputs[s]))
            {
                problems.Add($"sample {s}: output [{string.Join(" ", y)}] on {path}, reference [{string.Join(" ", Outputs[s])}]");
            }
        }

        return problems;
    }

    /// <summary>Whole int8 inputs of <paramref name="sampleBytes"/> bytes, back to back in each file.</summary>
    public static List<sbyte[]> RawSamples(int sampleBytes, params string[] files)
    {
        var samples = new List<sbyte[]>();
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            for (int o = 0; o + sampleBytes <= bytes.Length; o += sampleBytes)
            {
                samples.Add([.. bytes.AsSpan(o, sampleBytes).ToArray().Select(b => (sbyte)b)]);
            }
        }

        return samples;
    }

    private sealed class LayerHashes : INodeObserver
    {
        public Dictionary<string, string> Hashes { get; } = new(StringComparer.Ordinal);

        public void OnNodeInvoked(Interpreter interpreter, NodeInfo node)
        {
            foreach (int o in node.Outputs)
            {
                TensorView t = interpreter.Tensor(o);
                Hashes[t.Name] = Convert.ToHexStringLower(SHA256.HashData(t.Bytes))[..32];
            }
        }
    }
}
