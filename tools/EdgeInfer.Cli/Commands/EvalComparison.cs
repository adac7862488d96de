using System.Text;
using System.Text.Json;
using EdgeInfer.Cli.Bench;
using EdgeInfer.Cli.Data;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

/// <summary>
/// <c>edgeinfer eval model.onnx float.eim int8.eim pruned.eim --data test.csv --labels last-column</c>: the models side
/// by side on the same data — file size, accuracy (or MSE), the difference in points, agreement with the reference
/// (<c>--reference</c>, else the first model) and single-sample latency, the models timed in alternating blocks in one
/// process so that their ratios hold on a noisy machine. The question it answers: which of these files to ship.
/// </summary>
internal static class EvalComparison
{
    /// <summary>Seconds of timing per model after warm-up: enough for a stable median, short enough to wait for.</summary>
    private const double TimingSeconds = 0.5;

    private sealed record Row(string Source, long FileBytes, EvaluationResult Result, OutputAgreement? Agreement, LatencyFigures Latency);

    public static string Run(string[] paths, string? referencePath, string dataPath, LabelColumn labels, InterpreterOptions options, bool json, CliConsole console)
    {
        var models = new List<Model>();
        try
        {
            foreach (string path in paths)
            {
                models.Add(CommandSupport.LoadModel(path));
            }

            int width = CommandSupport.InputWidth(models[0]);
            foreach (Model m in models.Skip(1))
            {
                if (CommandSupport.InputWidth(m) != width)
                {
                    throw new CliError($"{m.Source}: takes {CommandSupport.InputWidth(m)} input values, {models[0].Source} {width}: not the same task");
                }
            }

            Dataset set = SampleFile.Read(dataPath, width, labels);
            EvaluationResult[] results = console.WithProgress("evaluating", progress =>
            {
                var all = new EvaluationResult[models.Count];
                for (int i = 0; i < models.Count; i++)
                {
                    all[i] = ModelEvaluator.Evaluate(models[i], set, options);
                    progress(i + 1, models.Count);
                }

                return all;
            });

            EvaluationResult reference = results[0];
            string referenceSource = models[0].Source;
            if (referencePath is not null)
            {
                using Model referenceModel = CommandSupport.LoadModel(referencePath);
                reference = ModelEvaluator.Evaluate(referenceModel, set, options);
                referenceSource = referenceModel.Source;
            }

            LatencyFigures[] latency = Time(models, set.Samples[0], options);
            Row[] rows = [.. models.Select((m, i) => new Row(m.Source, m.FileLength, results[i], OutputAgreement.Compare(results[i], reference), latency[i]))];
            return json ? Json(rows, referenceSource, reference) : Text(rows, referenceSource, reference, set.Samples.Count);
        }
        finally
        {
            models.ForEach(m => m.Dispose());
        }
    }

    private static LatencyFigures[] Time(List<Model> models, float[] sample, InterpreterOptions options)
    {
        Interpreter[] interpreters = [.. models.Select(m => new Interpreter(m, options))];
        foreach (Interpreter interpreter in interpreters)
        {
            interpreter.Input(0).WriteFloats(sample);
        }

        Action[] engines = [.. interpreters.Select(i => (Action)i.Invoke)];
        int calls = LatencyMeter.Calibrate(engines, 0.2, TimingSeconds);
        return LatencyMeter.Compare(engines, calls, rounds: Math.Min(10, calls), _ => { });
    }

    private static string Text(Row[] rows, string referenceSource, EvaluationResult reference, int samples)
    {
        bool classifier = reference.Accuracy is not null;
        int nameWidth = Math.Max(5, rows.Max(r => r.Source.Length));
        var s = new StringBuilder();
        s.AppendLine($"{samples} samples; agreement and difference against {referenceSource}; latency: median of one sample, one thread");
        s.AppendLine($"{"model".PadRight(nameWidth)}  {"size",10}  {(classifier ? "top-1" : "MSE"),9}  {"diff",7}  {"agreement",9}  {"SQNR dB",7}  {"latency",10}");
        foreach (Row r in rows)
        {
            string score = classifier ? Percent(r.Result.Accuracy) : r.Result.Mse?.ToString("G4", System.Globalization.CultureInfo.InvariantCulture) ?? "-";
            string diff = classifier && r.Result.Accuracy is double a ? $"{(a - reference.Accuracy!.Value) * 100:+0.00;-0.00;0.00}" : "-";
            string agree = r.Agreement?.Top1Agreement is double t ? $"{t * 100:F1} %" : "-";
            string sqnr = r.Agreement is null ? "-" : EvalCommand.Db(r.Agreement.SqnrDb);
            s.AppendLine($"{r.Source.PadRight(nameWidth)}  {CommandSupport.Bytes(r.FileBytes),10}  {score,9}  {diff,7}  {agree,9}  {sqnr,7}  {r.Latency.MedianMicros,7:F2} us");
        }

        return s.ToString();
    }

    private static string Percent(double? value) => value is double v ? $"{v * 100:F2} %" : "-";

    private static string Json(Row[] rows, string referenceSource, EvaluationResult reference)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("reference");
            EvalCommand.Scores(w, referenceSource, reference);
            w.WriteEndObject();
            w.WriteStartArray("models");
            foreach (Row r in rows)
            {
                w.WriteStartObject();
                EvalCommand.Scores(w, r.Source, r.Result);
                w.WriteNumber("file_bytes", r.FileBytes);
                w.WriteNumber("median_us", Math.Round(r.Latency.MedianMicros, 3));
                w.WriteNumber("p90_us", Math.Round(r.Latency.P90Micros, 3));
                if (r.Agreement is not null)
                {
                    EvalCommand.Agreement(w, r.Agreement);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }
}
