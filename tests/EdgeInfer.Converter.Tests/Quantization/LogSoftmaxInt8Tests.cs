using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Importers.Onnx.Proto;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using Google.Protobuf;

namespace EdgeInfer.Converter.Tests.Quantization;

/// <summary>
/// A trained classifier ending in LogSoftmax (the digits MLP fixture with ONNX LogSoftmax appended to its logits, as
/// F.log_softmax exports), quantized to int8 as `convert --quantize int8` does: LogSoftmax runs in int8 with
/// TFLite's fixed output parameters, and the predictions survive.
/// </summary>
public class LogSoftmaxInt8Tests(ITestOutputHelper output)
{
    [Fact]
    public void Int8_ClassifierEndingInLogSoftmax_KeepsItsPredictions()
    {
        string folder = Path.Combine(Fixtures.Directory, "digits");
        string onnx = WithLogSoftmax(Path.Combine(folder, "digits_mlp.onnx"));
        try
        {
            Graph floatGraph = ModelConverter.Lower(onnx, new ConvertOptions(), _ => { });
            Assert.Equal(OpCode.LogSoftmax, floatGraph.Nodes[^1].Code);
            float[][] calibration = [.. Fixtures.ReadCsv(Path.Combine(folder, "digits_calib.csv")).Select(r => r[..64])];
            float[][] rows = Fixtures.ReadCsv(Path.Combine(folder, "digits_test.csv"));
            var data = new Dataset([.. rows.Select(r => r[..64])], [.. rows.Select(r => (double)r[64])], "digits_test.csv");

            byte[] floatFile = ModelEmitter.Emit(floatGraph.Clone()).File;
            var options = new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calibration };
            (Graph quantized, QuantizationReport report) = QuantizationPipeline.Run(floatGraph, options, null, null, output.WriteLine);
            Assert.Empty(report.KeptFloat);
            Node logSoftmax = quantized.Nodes.Single(n => n.Code == OpCode.LogSoftmax);
            Value y = logSoftmax.Outputs[0];
            Assert.Equal(DataType.Int8, y.Type);
            Assert.Equal(16f / 256, y.Quantization!.Scales[0]);
            Assert.Equal(127, y.Quantization.ZeroPoints[0]);

            byte[] int8File = ModelEmitter.Emit(quantized).File;
            ModelConverter.RequireLoads(int8File, "digits_mlp_log_softmax int8");
            using Model floatModel = Model.FromBytes(floatFile, "float");
            using Model int8Model = Model.FromBytes(int8File, "int8");
            EvaluationResult f = ModelEvaluator.Evaluate(floatModel, data);
            EvaluationResult q = ModelEvaluator.Evaluate(int8Model, data);
            int agree = f.Predictions!.Zip(q.Predictions!).Count(p => p.First == p.Second);
            double worstTop = 0;
            for (int r = 0; r < f.Outputs.Length; r++)
            {
                int top = f.Predictions![r];
                Assert.All(q.Outputs[r], v => Assert.True(v <= 0, $"log-probability {v} above 0"));
                worstTop = Math.Max(worstTop, Math.Abs(q.Outputs[r][top] - f.Outputs[r][top]));
            }

            output.WriteLine($"float {f.Accuracy * 100:F2}%, int8 {q.Accuracy * 100:F2}%, same top class on {agree} of {f.Samples}; "
                + $"largest |Δ| of the top class's log-probability {worstTop:F4} (output step 0.0625)");
            Assert.True((f.Accuracy!.Value - q.Accuracy!.Value) * 100 <= 0.5, $"int8 {q.Accuracy:P2} vs float {f.Accuracy:P2}");
            Assert.True(agree >= 0.98 * f.Samples, $"same top class on only {agree} of {f.Samples}");
            Assert.True(worstTop <= 0.5, $"top-class log-probability off by {worstTop}");
        }
        finally
        {
            File.Delete(onnx);
        }
    }

    /// <summary>The model at <paramref name="path"/> with LogSoftmax (last axis) on its single output, saved to a temporary file.</summary>
    private static string WithLogSoftmax(string path)
    {
        ModelProto model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        ValueInfoProto logits = model.Graph.Output.Single();
        var logProbabilities = new ValueInfoProto(logits) { Name = logits.Name + "_log_softmax" };
        var node = new NodeProto { OpType = "LogSoftmax", Name = "log_softmax" };
        node.Input.Add(logits.Name);
        node.Output.Add(logProbabilities.Name);
        node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = -1 });
        model.Graph.Node.Add(node);
        model.Graph.Output.Clear();
        model.Graph.Output.Add(logProbabilities);
        string file = Path.Combine(Path.GetTempPath(), $"digits_mlp_log_softmax_{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(file, model.ToByteArray());
        return file;
    }
}
