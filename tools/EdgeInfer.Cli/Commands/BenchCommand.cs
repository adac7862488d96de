using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeInfer.Cli.Bench;
using EdgeInfer.Cli.Data;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

internal sealed record BenchResult(string Model, KernelPath KernelPath, LatencyFigures EdgeInfer, string? PeerModel, LatencyFigures? OnnxRuntime)
{
    public double? Ratio => OnnxRuntime is { } o ? EdgeInfer.MedianMicros / o.MedianMicros : null;
}

/// <summary>
/// <c>edgeinfer bench model.eim [--compare model.onnx] [--json]</c>: latency per inference, one sample at a time on
/// one thread, and the managed bytes each inference allocates; with --compare, ONNX Runtime on the original model in
/// the same process, on the same inputs, in alternating blocks.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .eim model" };
        var input = new Option<string?>("--input", "-i") { Description = "Inputs to cycle through (CSV or .npy; default: seeded random values in [-1, 1])" };
        var iterations = new Option<int?>("--iterations", "-n") { Description = "Timed inferences per engine (default: about 2 s worth)" };
        var compare = new Option<string?>("--compare") { Description = "The original .onnx, run by ONNX Runtime (1 thread) beside EdgeInfer" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var profile = new Option<bool>("--profile") { Description = "Also print the time of each operator" };
        var kernels = CommandSupport.KernelsOption();
        var command = new Command("bench", "Measure inference latency and allocations, optionally against ONNX Runtime") { model, input, iterations, compare, json, profile, kernels };
        command.SetAction(r =>
        {
            if (r.GetValue(iterations) is int n && n < 1)
            {
                throw new CliError($"--iterations {n}: give 1 or more");
            }

            using Model m = CommandSupport.LoadModel(r.GetValue(model)!);
            int width = CommandSupport.InputWidth(m);
            string? inputPath = r.GetValue(input);
            IReadOnlyList<float[]> samples = inputPath is null ? [RandomSample(width)] : SampleFile.Read(inputPath, width, LabelColumn.None, maxSamples: 32).Samples;
            BenchResult result = Measure(m, r.GetValue(compare), samples, CommandSupport.ParseKernels(r.GetValue(kernels)!), r.GetValue(iterations), 2.0);
            console.Out.Write(r.GetValue(json) ? Json(result) : Text(result));
            if (r.GetValue(profile))
            {
                var interpreter = new Interpreter(m, new InterpreterOptions { KernelPath = CommandSupport.ParseKernels(r.GetValue(kernels)!) });
                interpreter.Input(0).WriteFloats(samples[0]);
                console.Out.Write(NodeProfiler.Profile(interpreter, Math.Max(10, result.EdgeInfer.Iterations / 4), top: 15));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    public static BenchResult Measure(Model model, string? comparePath, IReadOnlyList<float[]> samples, KernelPath path, int? iterations, double budgetSeconds)
    {
        if (comparePath is not null)
        {
            CommandSupport.RequireFile(comparePath);
        }

        var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
        TensorView x = interpreter.Input(0);
        using OnnxRuntimePeer? peer = comparePath is null ? null : new OnnxRuntimePeer(comparePath, x.ElementCount);
        List<Action> engines = [interpreter.Invoke];
        if (peer is not null)
        {
            engines.Add(peer.Run);
        }

        void SetInputs(int round)
        {
            float[] sample = samples[round % samples.Count];
            x.WriteFloats(sample);
            if (peer is not null)
            {
                sample.CopyTo(peer.Input);
            }
        }

        SetInputs(0);
        // The calibration runs are also the warm-up, given --iterations or not: measured cold, the first calls of a
        // large model run unoptimized (tier-0) code, and EfficientNet-B0's p90 read 52 ms against a 4 ms median.
        int estimated = LatencyMeter.Calibrate(engines, 0.5, budgetSeconds / engines.Count);
        int calls = iterations ?? estimated;
        LatencyFigures[] figures = LatencyMeter.Compare(engines, calls, rounds: Math.Min(10, calls), SetInputs);
        return new BenchResult(model.Source, interpreter.KernelPath, figures[0], comparePath, peer is null ? null : figures[1]);
    }

    public static float[] RandomSample(int width)
    {
        var rng = new Random(20261128);
        var sample = new float[width];
        for (int i = 0; i < width; i++)
        {
            sample[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        return sample;
    }

    private static string Text(BenchResult r)
    {
        var s = new StringBuilder();
        s.AppendLine($"{r.Model}: {r.EdgeInfer.Iterations} inferences, {r.KernelPath} kernels, 1 thread");
        s.AppendLine($"  EdgeInfer     median {r.EdgeInfer.MedianMicros,10:F2} us  p90 {r.EdgeInfer.P90Micros,10:F2} us  allocated {r.EdgeInfer.AllocatedBytesPerCall,8:F0} B/inference");
        if (r.OnnxRuntime is { } o)
        {
            s.AppendLine($"  ONNX Runtime  median {o.MedianMicros,10:F2} us  p90 {o.P90Micros,10:F2} us  allocated {o.AllocatedBytesPerCall,8:F0} B/inference  ({r.PeerModel})");
            s.AppendLine($"  ratio EdgeInfer / ONNX Runtime (median): {r.Ratio:F3}");
        }

        return s.ToString();
    }

    private static string Json(BenchResult r)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", r.Model);
            w.WriteString("kernel_path", r.KernelPath.ToString().ToLowerInvariant());
            w.WriteNumber("iterations", r.EdgeInfer.Iterations);
            w.WriteNumber("median_us", Round(r.EdgeInfer.MedianMicros));
            w.WriteNumber("p90_us", Round(r.EdgeInfer.P90Micros));
            w.WriteNumber("allocated_bytes_per_inference", Round(r.EdgeInfer.AllocatedBytesPerCall));
            if (r.OnnxRuntime is { } o)
            {
                w.WriteStartObject("compare");
                w.WriteString("onnx_model", r.PeerModel);
                w.WriteNumber("onnxruntime_median_us", Round(o.MedianMicros));
                w.WriteNumber("onnxruntime_p90_us", Round(o.P90Micros));
                w.WriteNumber("onnxruntime_allocated_bytes_per_inference", Round(o.AllocatedBytesPerCall));
                w.WriteNumber("ratio", Math.Round(r.Ratio!.Value, 4));
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }

    private static double Round(double v) => Math.Round(v, 3);
}
