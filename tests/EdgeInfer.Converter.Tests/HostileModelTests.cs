using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// Converted models (float and int8 digits CNN, whose graphs use Conv2D, pooling, reshape, FullyConnected, quantize
/// and dequantize) with random bytes of their structure sections replaced and every hash recomputed: what an attacker
/// who knows the format can hand the loader. Each such file must be refused with <see cref="EdgeInferModelException"/>
/// by the reader or by a kernel's Prepare, or, when it still describes a valid graph, load and run. Any other
/// exception fails the test, and a kernel reading outside its buffers would take the test host down with it.
/// </summary>
public class HostileModelTests(ITestOutputHelper output)
{
    private static readonly SectionKind[] Structure =
        [SectionKind.Graph, SectionKind.Tensors, SectionKind.Nodes, SectionKind.Edges, SectionKind.Options, SectionKind.Quantization];

    private static readonly byte[] Interesting = [0x00, 0x01, 0x02, 0x03, 0x07, 0x08, 0x3F, 0x40, 0x7F, 0x80, 0xFE, 0xFF];

    public static TheoryData<bool> Kinds => new() { false, true };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void PatchedStructure_IsRefusedWithTypedError_OrRuns(bool int8)
    {
        byte[] file = DigitsCnn(int8);
        float[] input = Fixtures.ReadCsv(Path.Combine(Fixtures.Directory, "digits", "digits_test.csv"))[0][..64];
        var rng = new Random(int8 ? 8 : 32);
        int refusedByReader = 0, refusedByPrepare = 0, ran = 0;
        const int Cases = 4000;
        for (int i = 0; i < Cases; i++)
        {
            SectionKind kind = Structure[rng.Next(Structure.Length)];
            if (!int8 && kind == SectionKind.Quantization)
            {
                kind = SectionKind.Tensors;
            }

            int edits = 1 + rng.Next(3);
            byte[] patched = ModelPatcher.Patch(file, kind, section =>
            {
                for (int e = 0; e < edits; e++)
                {
                    int at = rng.Next(section.Length);
                    section[at] = rng.Next(3) == 0 ? (byte)rng.Next(256) : Interesting[rng.Next(Interesting.Length)];
                }
            });

            Model model;
            try
            {
                model = Model.FromBytes(patched, $"case {i}");
            }
            catch (EdgeInferModelException)
            {
                refusedByReader++;
                continue;
            }

            using (model)
            {
                Interpreter interpreter;
                try
                {
                    interpreter = new Interpreter(model);
                }
                catch (EdgeInferModelException)
                {
                    refusedByPrepare++;
                    continue;
                }

                if (interpreter.InputCount > 0 && interpreter.Input(0).ElementCount == 64 && interpreter.Input(0).DataType == DataType.Float32)
                {
                    interpreter.Input(0).WriteFloats(input);
                }

                interpreter.Invoke();
                ran++;
            }
        }

        output.WriteLine($"{(int8 ? "int8" : "float")}: {Cases} patched files: {refusedByReader} refused by the reader, {refusedByPrepare} by Prepare, {ran} valid and ran");
        Assert.True(refusedByReader + refusedByPrepare > Cases / 2, "most random patches should be refused");
    }

    private static byte[] DigitsCnn(bool int8)
    {
        string folder = Path.Combine(Fixtures.Directory, "digits");
        Graph graph = ModelConverter.Lower(Path.Combine(folder, "digits_cnn.onnx"), new ConvertOptions(), _ => { });
        if (int8)
        {
            float[][] calibration = [.. Fixtures.ReadCsv(Path.Combine(folder, "digits_calib.csv")).Take(32)];
            graph = QuantizationPipeline.Run(graph, new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calibration }, null, null, _ => { }).Graph;
        }

        return ModelEmitter.Emit(graph).File;
    }
}
