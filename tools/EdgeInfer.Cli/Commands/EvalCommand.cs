using System.CommandLine;
using System.Text;
using System.Text.Json;
using EdgeInfer.Cli.Data;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

/// <summary>
/// <c>edgeinfer eval model.eim --data test.csv --labels last-column [--reference model.onnx] [--per-layer] [--json]</c>:
/// top-1 accuracy for classifiers, MSE and MAE for regressors, when the data has labels; beside a reference model
/// (the float original) when one is given, with how closely the outputs agree (top-1 agreement, output SQNR, largest
/// difference: labels not needed) and each layer's SQNR against it.
/// </summary>
internal static class EvalCommand
{
    /// <summary>Samples used for per-layer SQNR: enough for a stable figure, few enough to be quick.</summary>
    private const int LayerSamples = 64;

    public static Command Create(CliConsole console)
    {
        var model = new Argument<string[]>("model")
        {
            Description = "The model to evaluate (.eim, or .onnx / .tflite / .h5 converted in memory); several models are compared side by side",
            Arity = ArgumentArity.OneOrMore,
        };
        var data = new Option<string>("--data", "-d") { Description = "Test data: CSV or .npy", Required = true };
        var labels = CommandSupport.LabelsOption();
        var reference = new Option<string?>("--reference") { Description = "The float model to compare with (.eim, or .onnx / .tflite / .h5 converted in memory)" };
        var perLayer = new Option<bool>("--per-layer") { Description = "Each layer's SQNR in dB against --reference" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var kernels = CommandSupport.KernelsOption();
        var command = new Command("eval", "Measure a model's accuracy (or error) on labelled data, and its agreement with a reference") { model, data, labels, reference, perLayer, json, kernels };
        command.SetAction(r =>
        {
            string? referencePath = r.GetValue(reference);
            string[] models = r.GetValue(model)!;
            if (r.GetValue(perLayer) && (referencePath is null || models.Length > 1))
            {
                throw new CliError("--per-layer compares one model against a float model: give one model and --reference model.onnx");
            }

            var options = new InterpreterOptions { KernelPath = CommandSupport.ParseKernels(r.GetValue(kernels)!) };
            if (models.Length > 1)
            {
                console.Out.Write(EvalComparison.Run(models, referencePath, r.GetValue(data)!, CommandSupport.ParseLabels(r.GetValue(labels)!), options, r.GetValue(json), console));
                return ExitCodes.Ok;
            }

            using Model m = CommandSupport.LoadModel(models[0]);
            Dataset set = SampleFile.Read(r.GetValue(data)!, CommandSupport.InputWidth(m), CommandSupport.ParseLabels(r.GetValue(labels)!));
            EvaluationResult result = console.WithProgress("evaluating", p => ModelEvaluator.Evaluate(m, set, options, p));
            using Model? referenceModel = referencePath is null ? null : CommandSupport.LoadModel(referencePath);
            EvaluationResult? referenceResult = referenceModel is null ? null : ModelEvaluator.Evaluate(referenceModel, set, options);
            OutputAgreement? agreement = referenceResult is null ? null : OutputAgreement.Compare(result, referenceResult);
            IReadOnlyList<LayerSqnr> layers = r.GetValue(perLayer) && referenceModel is not null
                ? LayerComparison.Compare(referenceModel, m, [.. set.Samples.Take(LayerSamples)])
                : [];
            console.Out.Write(r.GetValue(json)
                ? Json(m.Source, result, referenceModel?.Source, referenceResult, agreement, layers)
                : Text(m.Source, result, referenceModel?.Source, referenceResult, agreement, layers, Math.Min(LayerSamples, set.Samples.Count)));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Text(string source, EvaluationResult result, string? referenceSource, EvaluationResult? reference, OutputAgreement? agreement,
        IReadOnlyList<LayerSqnr> layers, int layerSamples)
    {
        var s = new StringBuilder();
        s.AppendLine($"{source}: {result.Summary}");
        if (reference is not null)
        {
            s.AppendLine($"{referenceSource}: {reference.Summary}");
            if (result.Accuracy is double a && reference.Accuracy is double f)
            {
                s.AppendLine($"difference: {(a - f) * 100:+0.00;-0.00;0.00} points");
            }

            s.AppendLine(agreement is null
                ? $"outputs not compared: {referenceSource} gives {reference.Outputs.FirstOrDefault()?.Length ?? 0} values per sample, {source} {result.Outputs.FirstOrDefault()?.Length ?? 0}"
                : double.IsPositiveInfinity(agreement.SqnrDb)
                    ? $"agreement with {referenceSource}: {Top1(agreement)}identical outputs"
                    : $"agreement with {referenceSource}: {Top1(agreement)}output SQNR {Db(agreement.SqnrDb)} dB, largest difference {agreement.MaxAbsDifference.ToString("G4", Invariant)}");
        }

        if (layers.Count > 0)
        {
            s.AppendLine($"per-layer SQNR against {referenceSource} ({layerSamples} samples):");
            // Columns as wide as the longest name (MobileNet's node names run past 50 characters).
            int nameWidth = layers.Count == 0 ? 0 : layers.Max(l => l.Node.Length);
            int opWidth = layers.Count == 0 ? 0 : layers.Max(l => l.Op.Length);
            foreach (LayerSqnr l in layers)
            {
                string bar = new('#', (int)Math.Clamp(double.IsPositiveInfinity(l.SqnrDb) ? 30 : l.SqnrDb / 2, 0, 30));
                s.AppendLine($"  {l.Node.PadRight(nameWidth)}  {l.Op.PadRight(opWidth)}  {Db(l.SqnrDb),6} dB  {bar}");
            }
        }

        return s.ToString();
    }

    private static System.Globalization.CultureInfo Invariant => System.Globalization.CultureInfo.InvariantCulture;

    internal static string Db(double db) => double.IsPositiveInfinity(db) ? "exact" : db.ToString("F1", Invariant);

    private static string Top1(OutputAgreement a)
        => a.SameTop1 is int same ? $"same top-1 class on {same} of {a.Samples} samples ({(100.0 * same / a.Samples).ToString("F2", Invariant)}%), " : "";

    private static string Json(string source, EvaluationResult result, string? referenceSource, EvaluationResult? reference, OutputAgreement? agreement, IReadOnlyList<LayerSqnr> layers)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            Scores(w, source, result);
            if (reference is not null)
            {
                w.WriteStartObject("reference");
                Scores(w, referenceSource!, reference);
                w.WriteEndObject();
            }

            if (agreement is not null)
            {
                Agreement(w, agreement);
            }

            w.WriteStartArray("layers");
            foreach (LayerSqnr l in layers)
            {
                w.WriteStartObject();
                w.WriteString("node", l.Node);
                w.WriteString("op", l.Op);
                w.WriteString("tensor", l.Tensor);
                if (double.IsPositiveInfinity(l.SqnrDb))
                {
                    w.WriteNull("sqnr_db");
                }
                else
                {
                    w.WriteNumber("sqnr_db", Math.Round(l.SqnrDb, 3));
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }

    /// <summary>"agreement": { top1, sqnr_db (null when exact), max_abs_diff }.</summary>
    internal static void Agreement(Utf8JsonWriter w, OutputAgreement agreement)
    {
        w.WriteStartObject("agreement");
        if (agreement.Top1Agreement is double t)
        {
            w.WriteNumber("top1", t);
        }
        else
        {
            w.WriteNull("top1");
        }

        if (double.IsPositiveInfinity(agreement.SqnrDb))
        {
            w.WriteNull("sqnr_db");
        }
        else
        {
            w.WriteNumber("sqnr_db", Math.Round(agreement.SqnrDb, 3));
        }

        w.WriteNumber("max_abs_diff", agreement.MaxAbsDifference);
        w.WriteEndObject();
    }

    internal static void Scores(Utf8JsonWriter w, string source, EvaluationResult r)
    {
        w.WriteString("model", source);
        w.WriteNumber("samples", r.Samples);
        foreach ((string name, double? value) in new[] { ("accuracy", r.Accuracy), ("mse", r.Mse), ("mae", r.Mae) })
        {
            if (value is double v)
            {
                w.WriteNumber(name, v);
            }
            else
            {
                w.WriteNull(name);
            }
        }
    }
}
