using System.CommandLine;
using EdgeInfer.Cli.Data;
using EdgeInfer.Converter.Evaluation;

namespace EdgeInfer.Cli.Commands;

/// <summary><c>edgeinfer report model.eim --reference model.onnx --eval-data test.csv -o report.html</c></summary>
internal static class ReportCommand
{
    private const int LayerSamples = 64;

    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .eim model" };
        var reference = new Option<string?>("--reference") { Description = "The float original (.onnx or .eim) for accuracy and per-layer SQNR" };
        var evalData = new Option<string?>("--eval-data") { Description = "Test data (CSV or .npy)" };
        var labels = CommandSupport.LabelsOption();
        labels.DefaultValueFactory = _ => "last-column";
        var output = new Option<string>("--output", "-o") { Description = "The HTML file to write", Required = true };
        var classNames = new Option<string[]>("--class-names") { Description = "Names of the classes, in output order", AllowMultipleArgumentsPerToken = true };
        var command = new Command("report", "Write one self-contained HTML page: graph, parameter bytes, per-layer SQNR, confusion matrices")
        {
            model, reference, evalData, labels, output, classNames,
        };
        command.SetAction(r =>
        {
            using Model m = CommandSupport.LoadModel(r.GetValue(model)!);
            string? referencePath = r.GetValue(reference);
            using Model? referenceModel = referencePath is null ? null : CommandSupport.LoadModel(referencePath);
            string? dataPath = r.GetValue(evalData);
            Dataset? data = dataPath is null ? null : SampleFile.Read(dataPath, CommandSupport.InputWidth(m), CommandSupport.ParseLabels(r.GetValue(labels)!));
            EvaluationResult? candidate = data is null ? null : console.WithProgress("evaluating", p => ModelEvaluator.Evaluate(m, data, progress: p));
            EvaluationResult? floatResult = data is null || referenceModel is null ? null : ModelEvaluator.Evaluate(referenceModel, data);
            IReadOnlyList<LayerSqnr> layers = data is null || referenceModel is null ? [] : LayerComparison.Compare(referenceModel, m, [.. data.Samples.Take(LayerSamples)]);
            string html = HtmlReport.Render(new ReportData(
                m.Graph.Name, m.Graph, m.FileLength, referenceModel?.FileLength, floatResult, candidate, data?.Labels, layers, r.GetValue(classNames) ?? []));
            string outputPath = r.GetValue(output)!;
            CommandSupport.WriteAtomically(outputPath, System.Text.Encoding.UTF8.GetBytes(html));
            console.Out.WriteLine($"wrote {outputPath}: {CommandSupport.Bytes(html.Length)}{(candidate is null ? "" : "; " + candidate.Summary)}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
