using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Tests.Support;

/// <summary>Runs the conversion passes on built models and compares the lowered graph with ONNX Runtime.</summary>
internal static class TestModels
{
    public static (Graph Graph, List<string> Notes) Lower(OnnxBuilder builder, ConvertOptions? options = null)
    {
        var notes = new List<string>();
        string path = builder.Save();
        try
        {
            return (ModelConverter.Lower(path, options ?? new ConvertOptions(), notes.Add), notes);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale)];
    }

    public static int Count(int[] shape) => shape.Aggregate(1, (a, d) => a * d);

    /// <summary>
    /// Converts the model, evaluates the lowered graph on random inputs (one per declared input) and checks every
    /// output against ONNX Runtime: |a − e| ≤ tolerance·(1 + |e|).
    /// </summary>
    public static Graph AssertMatchesOrt(OnnxBuilder builder, float tolerance = 1e-5f, int seed = 1)
    {
        (Graph graph, _) = Lower(builder);
        var inputs = graph.Inputs.Select((v, i) => (v.Name, v.Shape!, Random(Count(v.Shape!), seed + i))).ToArray();
        float[][] expected = OrtOracle.Run(builder.ToBytes(), inputs);
        float[][] actual = LoweredGraphEvaluator.Run(graph, [.. inputs.Select(i => i.Item3)]);
        Assert.Equal(expected.Length, actual.Length);
        for (int o = 0; o < expected.Length; o++)
        {
            AssertClose(expected[o], actual[o], tolerance, graph.Outputs[o].Name);
        }

        return graph;
    }

    public static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            bool ok = float.IsNaN(e) ? float.IsNaN(a) : MathF.Abs(a - e) <= tolerance * (1 + MathF.Abs(e));
            Assert.True(ok, $"{what}[{i}]: expected {e:G9}, got {a:G9}");
        }
    }

    public static int CountOps(Graph g, EdgeInfer.Format.OpCode code) => g.Nodes.Count(n => n.Code == code);
}
