// EdgeInfer int8 against ONNX Runtime (float model, one intra-op thread, sequential, all graph optimizations),
// timed in the same process in alternating blocks. Usage:
//   dotnet run -c Release --project bench/EdgeInfer.Bench -- [digits|mobilenet|all] [rounds] [kernelpath]
// Prints per-round medians and the median over rounds of the per-Invoke medians, and the ratio EdgeInfer/ORT.
using System.Diagnostics;
using System.Globalization;
using EdgeInfer.Converter;
using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Quantization;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using Microsoft.ML.OnnxRuntime;

string which = args.Length > 0 ? args[0] : "all";
int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
KernelPath path = args.Length > 2 ? Enum.Parse<KernelPath>(args[2], ignoreCase: true) : KernelPath.Auto;
string root = FindRoot();

if (which is "digits" or "all")
{
    Compare("digits CNN", Path.Combine(root, "tests/fixtures/digits/digits_cnn.onnx"), Path.Combine(root, "tests/fixtures/digits/digits_calib.csv"), [1, 1, 8, 8], CalibrationMethod.MinMax, rounds, path, 64);
}

if (which is "mobilenet" or "all")
{
    Compare("MobileNetV2-0.35/96", Path.Combine(root, "tests/fixtures/mobilenet/mobilenetv2_035_96.onnx"), Path.Combine(root, "tests/fixtures/mobilenet/mobilenet_input.csv"), [1, 3, 96, 96], CalibrationMethod.MinMax, rounds, path, 27648);
}

static void Compare(string name, string onnx, string calibCsv, int[] shape, CalibrationMethod method, int rounds, KernelPath path, int width)
{
    float[][] calib = [.. File.ReadLines(calibCsv).Where(l => l.Length > 0).Select(l => l.Split(',').Take(width).Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray())];
    Graph graph = ModelConverter.Lower(onnx, new ConvertOptions(), _ => { });
    var options = new QuantizationOptions { Mode = QuantizationMode.Int8, CalibrationSamples = calib, Method = method };
    (Graph quantized, _) = QuantizationPipeline.Run(graph, options, null, null, _ => { });
    byte[] file = ModelEmitter.Emit(quantized).File;
    using Model model = Model.FromBytes(file, name + " int8");
    var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
    interpreter.Input(0).WriteFloats(calib[0]);
    if (Environment.GetEnvironmentVariable("EDGEINFER_BENCH_PROFILE") == "1")
    {
        Profile(interpreter);
    }

    using var so = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
    using var session = new InferenceSession(onnx, so);
    string inputName = session.InputNames[0];
    using var inputValue = OrtValue.CreateTensorValueFromMemory(calib[0], [.. shape.Select(d => (long)d)]);
    using var runOptions = new RunOptions();
    string[] inNames = [inputName];
    OrtValue[] inValues = [inputValue];
    string[] outNames = [session.OutputNames[0]];
    var outShape = session.OutputMetadata[outNames[0]].Dimensions.Select(d => (long)Math.Max(d, 1)).ToArray();
    float[] outBuffer = new float[outShape.Aggregate(1L, (a, b) => a * b)];
    using var outValue = OrtValue.CreateTensorValueFromMemory(outBuffer, outShape);
    OrtValue[] outValues = [outValue];
    void OrtRun() => session.Run(runOptions, inNames, inValues, outNames, outValues);

    // Block size: about 20 ms of work per block.
    Stopwatch sw = Stopwatch.StartNew();
    int warm = 0;
    while (sw.ElapsedMilliseconds < 300) { interpreter.Invoke(); OrtRun(); warm++; }
    double perPair = sw.Elapsed.TotalMilliseconds / warm;
    int block = Math.Max(5, (int)(20 / perPair));
    int blocks = 15;

    var eiRounds = new List<double>();
    var ortRounds = new List<double>();
    var ratios = new List<double>();
    Console.WriteLine($"{name}: path {interpreter.KernelPath}, {block} invokes per block, {blocks} block pairs per round, {rounds} rounds");
    for (int r = 0; r < rounds; r++)
    {
        var ei = new List<double>();
        var ort = new List<double>();
        for (int b = 0; b < blocks; b++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < block; i++) interpreter.Invoke();
            long t1 = Stopwatch.GetTimestamp();
            for (int i = 0; i < block; i++) OrtRun();
            long t2 = Stopwatch.GetTimestamp();
            ei.Add((t1 - t0) * 1e6 / Stopwatch.Frequency / block);
            ort.Add((t2 - t1) * 1e6 / Stopwatch.Frequency / block);
        }

        double e = Median(ei), o = Median(ort);
        eiRounds.Add(e); ortRounds.Add(o); ratios.Add(e / o);
        Console.WriteLine($"  round {r + 1}: EdgeInfer int8 {e,9:F2} µs   ORT float {o,9:F2} µs   ratio {e / o:F3}");
    }

    Console.WriteLine($"  MEDIAN: EdgeInfer int8 {Median(eiRounds):F2} µs, ORT float {Median(ortRounds):F2} µs, ratio {Median(ratios):F3} (median of per-round ratios)");
}

static void Profile(Interpreter interpreter)
{
    // Per node: the fastest of 9 blocks of 1,000 invocations, so a neighbour's burst on a shared machine does not
    // land on one node's figure. Each figure includes one timestamp read (≈ 20 ns).
    var observer = new TimingObserver();
    for (int i = 0; i < 200; i++) { observer.Start(); interpreter.Invoke(observer); }
    var best = new Dictionary<int, (double Micros, string Desc)>();
    for (int block = 0; block < 9; block++)
    {
        observer.Clear();
        for (int i = 0; i < 1000; i++) { observer.Start(); interpreter.Invoke(observer); }
        foreach (var (node, (ticks, desc)) in observer.Ticks)
        {
            double micros = ticks * 1e6 / Stopwatch.Frequency / 1000;
            if (!best.TryGetValue(node, out var b) || micros < b.Micros) best[node] = (micros, desc);
        }
    }

    double total = best.Values.Sum(v => v.Micros);
    foreach (var (node, (micros, desc)) in best.OrderByDescending(kv => kv.Value.Micros))
    {
        Console.WriteLine($"    {micros,8:F2} µs {micros / total,6:P1}  {desc}");
    }

    Console.WriteLine($"    {total,8:F2} µs total (sum of per-node bests)");
}

static double Median(List<double> values)
{
    var s = values.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

static string FindRoot()
{
    string? dir = AppContext.BaseDirectory;
    while (dir != null && !File.Exists(Path.Combine(dir, "EdgeInfer.sln"))) dir = Path.GetDirectoryName(dir);
    return dir ?? throw new InvalidOperationException("EdgeInfer.sln not found above " + AppContext.BaseDirectory);
}

sealed class TimingObserver : INodeObserver
{
    private long _last;
    public Dictionary<int, (long Ticks, string Desc)> Ticks { get; } = [];
    public void Start() => _last = Stopwatch.GetTimestamp();
    public void Clear() => Ticks.Clear();
    public void OnNodeInvoked(Interpreter interpreter, NodeInfo node)
    {
        long now = Stopwatch.GetTimestamp();
        Ticks.TryGetValue(node.Index, out var t);
        if (t.Desc == null)
        {
            var o = interpreter.Tensor(node.Outputs[0]);
            var i = interpreter.Tensor(node.Inputs[0]);
            t.Desc = $"{node.OpCode} {i.DataType} [{string.Join(",", i.Shape.ToArray())}] -> [{string.Join(",", o.Shape.ToArray())}] {node}";
        }
        Ticks[node.Index] = (t.Ticks + now - _last, t.Desc);
        _last = Stopwatch.GetTimestamp();
    }
}
