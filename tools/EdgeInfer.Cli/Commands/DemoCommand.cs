using System.CommandLine;
using System.Globalization;
using EdgeInfer.Cli.Bench;
using EdgeInfer.Cli.Data;
using EdgeInfer.Converter.Evaluation;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

/// <summary>
/// <c>edgeinfer demo</c>: the main job on the bundled digits CNN (trained by tools/train-fixtures, embedded in this
/// program): convert to float32 and to int8 (calibrated on the calibration split), check the float file against ONNX
/// Runtime, evaluate both files on the test split, benchmark both against ONNX Runtime, and print one table.
/// </summary>
internal static class DemoCommand
{
    private static readonly string[] Assets = ["digits_cnn.onnx", "digits_test.csv", "digits_calib.csv"];

    public static Command Create(CliConsole console)
    {
        var output = new Option<string?>("--out") { Description = "Directory for the model files (default: a temporary directory)" };
        var seconds = new Option<double>("--bench-seconds") { Description = "Benchmark time per model", DefaultValueFactory = _ => 2.0 };
        var command = new Command("demo", "Convert, evaluate and benchmark the bundled digits CNN, float32 and int8") { output, seconds };
        command.SetAction(r =>
        {
            string dir = r.GetValue(output) ?? Path.Combine(Path.GetTempPath(), "edgeinfer-demo");
            Directory.CreateDirectory(dir);
            foreach (string asset in Assets)
            {
                using Stream s = typeof(DemoCommand).Assembly.GetManifestResourceStream("demo/" + asset)
                    ?? throw new InvalidOperationException($"demo asset {asset} is not embedded");
                using FileStream f = File.Create(Path.Combine(dir, asset));
                s.CopyTo(f);
            }

            double budget = r.GetValue(seconds);
            if (!(budget > 0 && budget <= 3600))
            {
                throw new CliError($"--bench-seconds {budget}: give a time above 0 and at most 3600");
            }

            Run(console, dir, budget);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Run(CliConsole console, string dir, double benchSeconds)
    {
        TextWriter o = console.Out;
        string onnx = Path.Combine(dir, "digits_cnn.onnx");
        string test = Path.Combine(dir, "digits_test.csv");
        string calib = Path.Combine(dir, "digits_calib.csv");
        o.WriteLine("EdgeInfer demo: a CNN trained on 8x8 handwritten digits (sklearn digits, 10 classes), exported from PyTorch to ONNX");
        o.WriteLine($"files in {dir}");

        var rows = new List<(string Name, string Path)>();
        foreach ((string name, QuantizationMode mode) in new[] { ("float32", QuantizationMode.None), ("int8", QuantizationMode.Int8) })
        {
            var request = new ConvertRequest(onnx, [], mode, CalibrationMethod.Percentile, 99.99,
                mode == QuantizationMode.Int8 ? calib : null, null, null, LabelColumn.None, new HashSet<string>());
            ConvertOutcome outcome = ConvertCommand.Convert(request, console);
            string path = Path.Combine(dir, mode == QuantizationMode.Int8 ? "digits_cnn_int8.eim" : "digits_cnn.eim");
            CommandSupport.WriteAtomically(path, outcome.File);
            o.WriteLine($"converted {name,-7}: {Path.GetFileName(path)} ({outcome.Emit.NodeCount} operators){(mode == QuantizationMode.Int8 ? ", calibrated on 200 samples of digits_calib.csv" : "")}");
            rows.Add((name, path));
        }

        o.WriteLine();
        o.WriteLine($"{"model",-8} {"accuracy",9} {"file",10} {"arena",9} {"median",10} {"ONNX Runtime",13} {"ratio",6} {"alloc/inference",16}");
        foreach ((string name, string path) in rows)
        {
            using Model model = Model.Load(path);
            Dataset data = SampleFile.Read(test, CommandSupport.InputWidth(model), LabelColumn.LastColumn);
            EvaluationResult eval = ModelEvaluator.Evaluate(model, data);
            BenchResult bench = BenchCommand.Measure(model, onnx, data.Samples.Take(32).ToList(), KernelPath.Auto, null, benchSeconds);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-8} {eval.Accuracy * 100,8:F2}% {CommandSupport.Bytes(model.FileLength),10} {CommandSupport.Bytes(model.Graph.ArenaBytes),9} {bench.EdgeInfer.MedianMicros,7:F2} us {bench.OnnxRuntime!.MedianMicros,10:F2} us {bench.Ratio,6:F3} {bench.EdgeInfer.AllocatedBytesPerCall,14:F0} B"));
            if (name == "float32")
            {
                o.WriteLine($"         max |EdgeInfer - ONNX Runtime| over {data.Samples.Count} test samples: {MaxDifference(model, onnx, data):G3}");
            }
        }

        o.WriteLine();
        o.WriteLine($"median latency per single-sample inference on one thread ({KernelPaths.Resolve(KernelPath.Auto)} kernels); ONNX Runtime runs the float ONNX model in the same process");
    }

    private static double MaxDifference(Model model, string onnx, Dataset data)
    {
        var interpreter = new Interpreter(model);
        using var peer = new OnnxRuntimePeer(onnx, interpreter.Input(0).ElementCount);
        double max = 0;
        foreach (float[] sample in data.Samples)
        {
            interpreter.Input(0).WriteFloats(sample);
            interpreter.Invoke();
            sample.CopyTo(peer.Input);
            peer.Run();
            float[] ours = interpreter.Output(0).ToFloatArray();
            ReadOnlySpan<float> theirs = peer.Output;
            for (int i = 0; i < ours.Length; i++)
            {
                max = Math.Max(max, Math.Abs(ours[i] - theirs[i]));
            }
        }

        return max;
    }
}
