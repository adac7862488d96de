using System.CommandLine;
using System.Globalization;
using System.Text;
using EdgeInfer.Cli.Data;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

/// <summary><c>edgeinfer run model.eim --input samples.csv [--labels last-column] [--output out.csv]</c></summary>
internal static class RunCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .eim model" };
        var input = new Option<string>("--input", "-i") { Description = "Samples: CSV (one per row) or .npy float32", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "Write outputs here (CSV) instead of stdout" };
        var labels = CommandSupport.LabelsOption();
        var kernels = CommandSupport.KernelsOption();
        var command = new Command("run", "Run a model on every sample of a file and print its outputs as CSV") { model, input, output, labels, kernels };
        command.SetAction(r =>
        {
            string path = r.GetValue(model)!;
            if (!path.EndsWith(".eim", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliError($"{path}: run takes an .eim file; convert it first (edgeinfer convert {path} -o model.eim)");
            }

            using Model m = CommandSupport.LoadModel(path);
            Dataset data = SampleFile.Read(r.GetValue(input)!, CommandSupport.InputWidth(m), CommandSupport.ParseLabels(r.GetValue(labels)!));
            var interpreter = new Interpreter(m, new InterpreterOptions { KernelPath = CommandSupport.ParseKernels(r.GetValue(kernels)!) });
            string? outputPath = r.GetValue(output);
            ModelEvaluator.RequireLabelsFit(data, interpreter.Output(0).ElementCount);
            var outputs = new float[data.Samples.Count][];
            var rows = new StringBuilder();
            TensorView x = interpreter.Input(0);
            for (int i = 0; i < data.Samples.Count; i++)
            {
                x.WriteFloats(data.Samples[i]);
                interpreter.Invoke();
                outputs[i] = interpreter.Output(0).ToFloatArray();
                rows.AppendJoin(',', outputs[i].Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append('\n');
            }

            // Written once every sample has run, and atomically: a failure leaves an earlier output file intact.
            if (outputPath is null)
            {
                console.Out.Write(rows.ToString());
            }
            else
            {
                CommandSupport.WriteAtomically(outputPath, Encoding.UTF8.GetBytes(rows.ToString()));
            }

            // Outputs own stdout when they go there, so the summary goes to stderr.
            TextWriter summary = outputPath is null ? console.Error : console.Out;
            EvaluationResult scored = ModelEvaluator.Score(outputs, data.Labels);
            summary.WriteLine($"{path}: {data.Samples.Count} samples, {interpreter.KernelPath} kernels{(data.Labels is null ? "" : "; " + scored.Summary)}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
