using System.CommandLine;
using System.Globalization;
using EdgeInfer.Cli.Data;
using EdgeInfer.Converter;
using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Pruning;
using EdgeInfer.Converter.Quantization;

namespace EdgeInfer.Cli.Commands;

/// <summary>What a conversion asks for, gathered from options (or set by <c>demo</c>).</summary>
internal sealed record ConvertRequest(
    string Source,
    Dictionary<string, int[]> InputShapes,
    QuantizationMode Mode,
    CalibrationMethod Method,
    double Percentile,
    string? CalibrationFile,
    double? MaxAccuracyDrop,
    string? EvalFile,
    LabelColumn EvalLabels,
    IReadOnlySet<string> KeepFloat,
    string? Prune = null,
    int PruneBlock = SparseBlocks.DefaultBlockWidth,
    double PruneMaxDrop = 1.0,
    bool Dense = false);

internal sealed record ConvertOutcome(byte[] File, EmitResult Emit, QuantizationReport? Quantization, IReadOnlyList<string> Notes,
    IReadOnlyList<PrunedLayer> Pruned, PruningSearchReport? PruningSearch);

/// <summary><c>edgeinfer convert model.onnx -o model.eim [--quantize int8 --calibration calib.csv ...]</c></summary>
internal static class ConvertCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The trained model: .onnx, .tflite (float, or int8 as TFLite quantized it) or Keras .h5" };
        var output = new Option<string>("--output", "-o") { Description = "The .eim file to write", Required = true };
        var inputShape = new Option<string[]>("--input-shape")
        {
            Description = "Fix an input's shape: name=1,3,64 or 1,3,64 for the first input (default: batch 1)",
            AllowMultipleArgumentsPerToken = false,
        };
        var quantize = new Option<string>("--quantize") { Description = "none, int8 (static, needs --calibration) or int8-weights", DefaultValueFactory = _ => "none" };
        quantize.AcceptOnlyFromAmong("none", "int8", "int8-weights");
        var calibration = new Option<string?>("--calibration") { Description = "Representative inputs (CSV or .npy) for int8 calibration" };
        var method = new Option<string>("--calibration-method") { Description = "minmax, percentile, entropy or mse", DefaultValueFactory = _ => "percentile" };
        method.AcceptOnlyFromAmong("minmax", "percentile", "entropy", "mse");
        var percentile = new Option<double>("--percentile") { Description = "Percentile for --calibration-method percentile", DefaultValueFactory = _ => 99.99 };
        var maxDrop = new Option<double?>("--max-accuracy-drop") { Description = "Accuracy budget in points: keep the most sensitive layers float until int8 is within it (needs --eval-data)" };
        var evalData = new Option<string?>("--eval-data") { Description = "Labelled test data (CSV) for the accuracy contract" };
        var labels = CommandSupport.LabelsOption();
        labels.DefaultValueFactory = _ => "last-column";
        labels.Description = "Where --eval-data keeps its labels (default: last-column)";
        var keepFloat = new Option<string[]>("--keep-float") { Description = "Node names to keep in float32" };
        var prune = new Option<string?>("--prune")
        {
            Description = "Zero the smallest weight blocks of each FullyConnected/Conv2D layer and store them sparse: a fraction (0 to 0.99), "
                + "or 'auto' for the most the --prune-max-drop budget allows on --eval-data",
        };
        var dense = new Option<bool>("--dense")
        {
            Description = "Store every weight dense, even blocks that are zero (by default those are stored sparse and skipped by the int8 kernels)",
        };
        var pruneMaxDrop = new Option<double>("--prune-max-drop")
        {
            Description = "Accuracy budget in points for --prune auto, against the unpruned float model", DefaultValueFactory = _ => 1.0,
        };
        var pruneBlock = new Option<int>("--prune-block")
        {
            Description = "Weights per pruned block along each output channel (1-64, power of two); 16 is what the int8 sparse kernels skip whole",
            DefaultValueFactory = _ => SparseBlocks.DefaultBlockWidth,
        };

        var signKey = new Option<string?>("--sign-key") { Description = "Sign the output with this private key (PEM, from edgeinfer keygen)" };

        var command = new Command("convert", "Convert a model to a checksummed .eim file, optionally quantized to int8")
        {
            model, output, inputShape, quantize, calibration, method, percentile, maxDrop, evalData, labels, keepFloat, prune, pruneBlock, pruneMaxDrop, dense,
            signKey,
        };
        command.SetAction(r =>
        {
            var request = new ConvertRequest(
                r.GetValue(model)!,
                ParseShapes(r.GetValue(inputShape) ?? []),
                r.GetValue(quantize) switch { "int8" => QuantizationMode.Int8, "int8-weights" => QuantizationMode.Int8Weights, _ => QuantizationMode.None },
                r.GetValue(method) switch { "minmax" => CalibrationMethod.MinMax, "entropy" => CalibrationMethod.Entropy, "mse" => CalibrationMethod.Mse, _ => CalibrationMethod.Percentile },
                r.GetValue(percentile),
                r.GetValue(calibration),
                r.GetValue(maxDrop),
                r.GetValue(evalData),
                CommandSupport.ParseLabels(r.GetValue(labels)!),
                new HashSet<string>(r.GetValue(keepFloat) ?? [], StringComparer.Ordinal),
                r.GetValue(prune),
                r.GetValue(pruneBlock),
                r.GetValue(pruneMaxDrop),
                r.GetValue(dense));
            string outputPath = r.GetValue(output)!;
            using ModelSigningKey? key = r.GetValue(signKey) is { } keyPath ? CommandSupport.SigningKey(keyPath) : null; // a bad key fails before the work
            ConvertOutcome outcome = Convert(request, console);
            byte[] file = key is null ? outcome.File : ModelSigner.Sign(outcome.File, key, outputPath);
            CommandSupport.WriteAtomically(outputPath, file);
            Print(console.Out, request, outcome, outputPath);
            if (key is not null)
            {
                console.Out.WriteLine($"signed {outputPath} with key {key.PublicKey.KeyIdText}: {CommandSupport.Bytes(file.Length)}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    public static ConvertOutcome Convert(ConvertRequest request, CliConsole console)
    {
        CommandSupport.RequireFile(request.Source);
        if (request.Mode == QuantizationMode.Int8 && request.CalibrationFile is null)
        {
            throw new CliError($"{request.Source}: --quantize int8 needs --calibration FILE (representative inputs); without data, use --quantize int8-weights");
        }

        if (request.MaxAccuracyDrop is double budget && !(budget >= 0))
        {
            throw new CliError($"{request.Source}: --max-accuracy-drop {budget} must be 0 or more points");
        }

        if (request.MaxAccuracyDrop is not null && request.EvalFile is null)
        {
            throw new CliError("--max-accuracy-drop needs --eval-data FILE (labelled test data)");
        }

        if (request.Mode != QuantizationMode.Int8 && (request.CalibrationFile is not null || request.MaxAccuracyDrop is not null))
        {
            throw new CliError("--calibration and --max-accuracy-drop apply to --quantize int8");
        }

        double? pruneFraction = null;
        bool pruneAuto = request.Prune is "auto";
        if (request.Prune is not null && !pruneAuto)
        {
            pruneFraction = double.TryParse(request.Prune, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f >= 0 && f <= 0.99 ? f
                : throw new CliError($"{request.Source}: --prune '{request.Prune}' must be a fraction from 0 to 0.99, or auto");
        }

        if (pruneAuto && request.EvalFile is null)
        {
            throw new CliError("--prune auto needs --eval-data FILE (labelled test data) to measure what pruning costs");
        }

        if (!(request.PruneMaxDrop >= 0))
        {
            throw new CliError($"{request.Source}: --prune-max-drop {request.PruneMaxDrop} must be 0 or more points");
        }

        if (!SparseLayout.IsValidBlockWidth(request.PruneBlock))
        {
            throw new CliError($"{request.Source}: --prune-block {request.PruneBlock} must be a power of two from 1 to 64");
        }

        var options = new ConvertOptions();
        foreach ((string name, int[] shape) in request.InputShapes)
        {
            options.InputShapes[name] = shape;
        }

        var notes = new List<string>();
        Graph graph = ModelConverter.Lower(request.Source, options, notes.Add);
        int width = checked((int)graph.Inputs[0].Shape!.Aggregate(1L, (a, d) => a * d));
        Dataset? evaluation = request.EvalFile is null ? null : SampleFile.Read(request.EvalFile, width, request.EvalLabels);
        if (evaluation is not null && evaluation.Labels is null)
        {
            throw new CliError($"{request.EvalFile}: the accuracy contract needs labels (--labels last-column)");
        }

        var pruning = new PruningOptions { Sparsity = pruneFraction ?? 0, BlockWidth = request.PruneBlock };
        IReadOnlyList<PrunedLayer> pruned = [];
        PruningSearchReport? search = null;
        if (pruneAuto)
        {
            (graph, search) = console.WithProgress("pruning", progress => PruningSearch.Run(graph, request.PruneMaxDrop, evaluation!, pruning, notes.Add, progress));
            pruned = search.Layers;
        }
        else if (pruneFraction is not null)
        {
            pruned = MagnitudePruner.Prune(graph, pruning, notes.Add);
        }

        QuantizationReport? report = null;
        if (request.Mode != QuantizationMode.None)
        {
            IReadOnlyList<float[]>? calibration = request.CalibrationFile is null ? null : SampleFile.Read(request.CalibrationFile, width, LabelColumn.None).Samples;

            (graph, report) = console.WithProgress("calibrating", progress => QuantizationPipeline.Run(graph, new QuantizationOptions
            {
                Mode = request.Mode,
                Method = request.Method,
                Percentile = request.Percentile,
                CalibrationSamples = calibration,
                CalibrationSource = request.CalibrationFile ?? "calibration data",
                KeepFloat = request.KeepFloat,
                Progress = progress,
            }, evaluation, request.MaxAccuracyDrop, notes.Add));
        }

        EmitResult emitted = ModelEmitter.Emit(graph, sparseStorage: !request.Dense);
        ModelConverter.RequireLoads(emitted.File, request.Source);
        return new ConvertOutcome(emitted.File, emitted, report, notes, pruned, search);
    }

    private static void Print(TextWriter o, ConvertRequest request, ConvertOutcome outcome, string outputPath)
    {
        foreach (string note in outcome.Notes)
        {
            o.WriteLine($"  {note}");
        }

        if (outcome.PruningSearch is { } search)
        {
            o.WriteLine($"  accuracy on {request.EvalFile}: float {search.BaselineAccuracy * 100:F2}%, pruned float {search.PrunedAccuracy * 100:F2}% (drop {search.DropPoints:F2} points, budget {request.PruneMaxDrop:F2})");
        }

        if (outcome.Quantization is { } q)
        {
            if (q.FloatAccuracy is double f && q.QuantizedAccuracy is double a)
            {
                string reference = outcome.Pruned.Count > 0 ? "pruned float" : "float";
                o.WriteLine($"  accuracy on {request.EvalFile}: {reference} {f * 100:F2}%, {request.Mode.ToString().ToLowerInvariant()} {a * 100:F2}% (drop {q.DropPoints:F2} points)");
            }

            if (q.KeptFloat.Count > 0)
            {
                o.WriteLine($"  kept in float: {string.Join(", ", q.KeptFloat)}");
            }
        }

        foreach (PrunedLayer p in outcome.Pruned)
        {
            o.WriteLine($"  pruned {p.Node}: {p.ZeroBlocks:N0} of {p.Blocks:N0} blocks zero ({p.Sparsity:P1}), {p.WeightCount:N0} weights");
        }

        EmitResult e = outcome.Emit;
        o.WriteLine($"wrote {outputPath}: {CommandSupport.Bytes(e.File.Length)} ({e.NodeCount} operators, {e.TensorCount} tensors, constants {CommandSupport.Bytes(e.ConstantBytes)}, arena {CommandSupport.Bytes(e.ArenaBytes)})");
    }

    /// <summary>"name=1,3,64" or "1,3,64" (the first input).</summary>
    internal static Dictionary<string, int[]> ParseShapes(string[] values)
    {
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (string value in values)
        {
            int eq = value.LastIndexOf('=');
            string name = eq < 0 ? "" : value[..eq];
            string dims = eq < 0 ? value : value[(eq + 1)..];
            int[] shape;
            try
            {
                shape = [.. dims.Split(',', StringSplitOptions.TrimEntries).Select(d => int.Parse(d, NumberStyles.None, CultureInfo.InvariantCulture))];
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw new CliError($"--input-shape: '{value}' is not name=d1,d2,... with positive sizes");
            }

            if (shape.Length == 0 || shape.Any(d => d <= 0))
            {
                throw new CliError($"--input-shape: '{value}' has a size that is not positive");
            }

            shapes[name] = shape;
        }

        return shapes;
    }
}
