using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

// Scratch benchmark for the int8 kernels (not a test): times single nodes built with KernelRunner.BuildModel.
var rng = new Random(1);
string mode = args.Length > 0 ? args[0] : "gemm";
KernelPath[] paths = Environment.GetEnvironmentVariable("INT8BENCH_PATH") is { } only1 ? [Enum.Parse<KernelPath>(only1, true)] : [.. KernelPaths.Supported];

if (mode == "gemm")
{
    // INT8BENCH_MKN=1,1280,1000 times another shape (M = 1: the matrix-vector path of a classifier).
    int[] mkn = Environment.GetEnvironmentVariable("INT8BENCH_MKN") is { } shape ? [.. shape.Split(',').Select(int.Parse)] : [256, 1024, 1024];
    int m = mkn[0], k = mkn[1], n = mkn[2];
    foreach (KernelPath path in paths)
    {
        var inputs = new TestTensor?[]
        {
            TestTensor.Int8([m, k], Rand(m * k), 0.05f, 3),
            TestTensor.Int8Weights([n, k], Rand(n * k, -127), Scales(n)),
            TestTensor.Int32Const([n], new int[n]),
        };
        double t = Time(OpCode.FullyConnected, ClampOptions.None, inputs, TestTensor.Int8Output([m, n], 0.5f, 0), path, path == KernelPath.Scalar ? 2 : Math.Max(20, (int)(4e9 / ((double)m * k * n))));
        Console.WriteLine($"GEMM {m}x{k}x{n} {path,-10} {t * 1e3,8:F3} ms  {2.0 * 0 + (double)m * k * n / t / 1e9,6:F2} GMAC/s");
    }
}
else if (mode == "layers")
{
    // MobileNetV2-0.35 96x96-like layers: (H, W, Cin, Cout, K, stride, groups)
    (string, int, int, int, int, int, int, int)[] layers =
    [
        ("stem 3x3 s2 3->16", 96, 96, 3, 16, 3, 2, 1),
        ("pw 48x48 28->16 (stem GEMM)", 48, 48, 28, 16, 1, 1, 1),
        ("dw 3x3 48x48x16", 48, 48, 16, 16, 3, 1, 16),
        ("pw 48x48 16->8", 48, 48, 16, 8, 1, 1, 1),
        ("pw 48x48 8->48", 48, 48, 8, 48, 1, 1, 1),
        ("dw 3x3 s2 48x48x48", 48, 48, 48, 48, 3, 2, 48),
        ("pw 24x24 48->8", 24, 24, 48, 8, 1, 1, 1),
        ("pw 24x24 8->48", 24, 24, 8, 48, 1, 1, 1),
        ("dw 3x3 24x24x48", 24, 24, 48, 48, 3, 1, 48),
        ("pw 12x12 96->16", 12, 12, 96, 16, 1, 1, 1),
        ("pw 12x12 16->96", 12, 12, 16, 96, 1, 1, 1),
        ("dw 3x3 12x12x96", 12, 12, 96, 96, 3, 1, 96),
        ("pw 6x6 144->24", 6, 6, 144, 24, 1, 1, 1),
        ("pw 6x6 24->144", 6, 6, 24, 144, 1, 1, 1),
        ("pw 3x3 336->112", 3, 3, 336, 112, 1, 1, 1),
        ("pw 3x3 112->1280", 3, 3, 112, 1280, 1, 1, 1),
        // The digits CNN's convolutions (8x8 image, pad 1).
        ("digits conv1 8x8 1->8", 8, 8, 1, 8, 3, 1, 1),
        ("digits conv2 4x4 8->16", 4, 4, 8, 16, 3, 1, 1),
        ("digits conv3 4x4 16->16", 4, 4, 16, 16, 3, 1, 1),
    ];
    string? only = args.Length > 1 ? args[1] : null;
    foreach (var (name, h, w, cin, cout, kk, s, g) in layers.Where(l => only == null || l.Item1.StartsWith(only, StringComparison.Ordinal)))
    {
        int pad = kk / 2;
        int ho = (h + 2 * pad - kk) / s + 1, wo = (w + 2 * pad - kk) / s + 1;
        var inputs = new TestTensor?[]
        {
            TestTensor.Int8([1, h, w, cin], Rand(h * w * cin), 0.05f, 3),
            TestTensor.Int8Weights([cout, kk, kk, cin / g], Rand(cout * kk * kk * cin / g, -127), Scales(cout)),
            TestTensor.Int32Const([cout], new int[cout]),
        };
        var options = new Conv2DOptions(s, s, 1, 1, pad, pad, pad, pad, g, new ClampOptions(0, 6));
        long macs = (long)ho * wo * cout * kk * kk * (cin / g);
        Console.Write($"{name,-22} {macs / 1000,6}k MACs");
        foreach (KernelPath path in paths)
        {
            double t = Time(OpCode.Conv2D, options, inputs, TestTensor.Int8Output([1, ho, wo, cout], 0.1f, -128), path, Environment.GetEnvironmentVariable("INT8BENCH_ITER") is { } it ? int.Parse(it) : 200);
            Console.Write($"  {path}: {t * 1e6,7:F1} us ({macs / t / 1e9,5:F1} GMAC/s)");
        }

        Console.WriteLine();
    }
}

else if (mode == "peak")
{
    // The machine, measured: (1) the core clock from a chain of dependent 64-bit adds (one per cycle on every x64
    // core since Sandy Bridge); (2) vpmaddwd ymm throughput with 12 independent accumulators (no dependency stalls),
    // as instructions per cycle of (1). Peak int8 MAC rate of the Avx2 scheme = 16 MACs × that rate × clock.
    for (int rep = 0; rep < 5; rep++)
    {
        (double ghz, double maddPerCycle) = Peak.Measure();
        Console.WriteLine($"clock {ghz:F3} GHz (dependent adds), vpmaddwd ymm {maddPerCycle:F2}/cycle -> peak {16 * maddPerCycle * ghz:F1} GMAC/s");
    }
}
else if (mode == "mobilenet")
{
    byte[] file = MobileNet(rng);
    foreach (KernelPath path in paths)
    {
        using Model model = Model.FromBytes(file, "mnv2.eim");
        var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
        int iterations = path == KernelPath.Scalar ? 20 : 500;
        for (int i = 0; i < iterations / 4; i++) interpreter.Invoke();
        var samples = new List<double>();
        for (int rep = 0; rep < 7; rep++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++) interpreter.Invoke();
            samples.Add(sw.Elapsed.TotalMilliseconds / iterations);
        }

        samples.Sort();
        Console.WriteLine($"MobileNetV2-0.35 96x96 int8 {path,-10} median {samples[3]:F3} ms  best {samples[0]:F3} ms  (persistent {interpreter.PersistentBytes} B, scratch {interpreter.ScratchBytes} B, arena {interpreter.ArenaBytes} B)");
        if (args.Length > 1 && args[1] == "nodes")
        {
            var timer = new NodeTimer();
            for (int i = 0; i < 200; i++) interpreter.Invoke(timer);
            foreach (var (name, t) in timer.Totals.OrderByDescending(kv => kv.Value).Take(40))
            {
                Console.WriteLine($"   {name,-28} {t / 200 * 1e6,8:F1} us");
            }
        }
    }
}

static byte[] MobileNet(Random rng)
{
    // torchvision mobilenet_v2(width_mult=0.35) at 96x96: ReLU6 everywhere, residual adds, 1000 classes.
    var w = new ModelWriter("mnv2-0.35-96 int8 synthetic");
    long arena = 0;
    int counter = 0;
    QuantizationInfo Q(float s, int z) => new([s], [z], -1);
    int Act(int[] shape, QuantizationInfo q)
    {
        int t = w.AddArenaTensor($"t{counter++}", DataType.Int8, shape, arena, q);
        arena = FormatConstants.AlignUp(arena + shape.Aggregate(1L, (p, d) => p * d));
        return t;
    }

    int Conv(int x, int h, int wd, int cin, int cout, int k, int s, int groups, bool relu6, out int ho, out int wo)
    {
        int pad = k / 2;
        ho = (h + 2 * pad - k) / s + 1;
        wo = (wd + 2 * pad - k) / s + 1;
        int count = cout * k * k * (cin / groups);
        int weights = w.AddConstant($"w{counter++}", DataType.Int8, [cout, k, k, cin / groups],
            [.. Enumerable.Range(0, count).Select(_ => (byte)(sbyte)rng.Next(-127, 128))],
            new QuantizationInfo([.. Enumerable.Range(0, cout).Select(_ => (float)(0.002 + rng.NextDouble() * 0.01))], new int[cout], 0));
        int bias = w.AddConstant($"b{counter++}", DataType.Int32, [cout], TestTensor.ToBytes(Enumerable.Range(0, cout).Select(_ => rng.Next(-2000, 2000)).ToArray()));
        int y = Act([1, ho, wo, cout], relu6 ? Q(6f / 255, -128) : Q(0.08f, 3));
        w.AddNode(OpCode.Conv2D, $"conv{counter}", [x, weights, bias], [y],
            new Conv2DOptions(s, s, 1, 1, pad, pad, pad, pad, groups, relu6 ? new ClampOptions(0, 6) : ClampOptions.None));
        return y;
    }

    int input = Act([1, 96, 96, 3], Q(0.02f, 0));
    int x = Conv(input, 96, 96, 3, 16, 3, 2, 1, true, out int h, out int wd);
    int c = 16;
    (int t, int ch, int n, int s)[] settings = [(1, 8, 1, 1), (6, 8, 2, 2), (6, 16, 3, 2), (6, 24, 4, 2), (6, 32, 3, 1), (6, 56, 3, 2), (6, 112, 1, 1)];
    foreach (var (t, ch, n, s0) in settings)
    {
        for (int i = 0; i < n; i++)
        {
            int s = i == 0 ? s0 : 1;
            int e = t == 1 ? x : Conv(x, h, wd, c, c * t, 1, 1, 1, true, out _, out _);
            int d = Conv(e, h, wd, c * t, c * t, 3, s, c * t, true, out int h2, out int w2);
            int p = Conv(d, h2, w2, c * t, ch, 1, 1, 1, false, out _, out _);
            if (s == 1 && c == ch)
            {
                int sum = Act([1, h2, w2, ch], Q(0.1f, 0));
                w.AddNode(OpCode.Add, $"add{counter++}", [p, x], [sum], ClampOptions.None);
                p = sum;
            }

            (x, h, wd, c) = (p, h2, w2, ch);
        }
    }

    x = Conv(x, h, wd, c, 1280, 1, 1, 1, true, out h, out wd);
    int gap = Act([1, 1, 1, 1280], Q(0.02f, -128));
    w.AddNode(OpCode.GlobalAveragePool, "gap", [x], [gap]);
    int flat = Act([1, 1280], Q(0.02f, -128));
    w.AddNode(OpCode.Reshape, "flatten", [gap], [flat]);
    int fcw = w.AddConstant("fcw", DataType.Int8, [1000, 1280], [.. Enumerable.Range(0, 1280000).Select(_ => (byte)(sbyte)rng.Next(-127, 128))],
        new QuantizationInfo([.. Enumerable.Range(0, 1000).Select(_ => 0.003f)], new int[1000], 0));
    int logits = Act([1, 1000], Q(0.1f, 0));
    w.AddNode(OpCode.FullyConnected, "classifier", [flat, fcw, -1], [logits], ClampOptions.None);
    w.ArenaBytes = arena;
    w.AddInput(input);
    w.AddOutput(logits);
    return w.ToArray();
}

sbyte[] Rand(int count, int min = -128) => [.. Enumerable.Range(0, count).Select(_ => (sbyte)rng.Next(min, 128))];
float[] Scales(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(0.001 + rng.NextDouble() * 0.01))];

static double Time(OpCode op, IOpOptions options, TestTensor?[] inputs, TestTensor output, KernelPath path, int iterations)
{
    using Model model = Model.FromBytes(KernelRunner.BuildModel(op, options, inputs, [output]), "bench.eim");
    var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
    for (int i = 0; i < Math.Max(3, iterations / 5); i++) interpreter.Invoke();
    double best = double.MaxValue;
    for (int rep = 0; rep < 5; rep++)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) interpreter.Invoke();
        best = Math.Min(best, sw.Elapsed.TotalSeconds / iterations);
    }

    return best;
}

sealed class NodeTimer : INodeObserver
{
    private long _last = Stopwatch.GetTimestamp();
    public Dictionary<string, double> Totals { get; } = [];

    public void OnNodeInvoked(Interpreter interpreter, NodeInfo node)
    {
        long now = Stopwatch.GetTimestamp();
        string key = $"{node.Index:D3} {node.OpCode} {interpreter.Tensor(node.Outputs[0]).Info.ShapeText}";
        Totals[key] = Totals.GetValueOrDefault(key) + (now - _last) / (double)Stopwatch.Frequency;
        _last = Stopwatch.GetTimestamp();
    }
}

static class Peak
{
    // A chain of dependent vpaddd (latency 1 cycle on Zen 2/3/4 and every Intel core since Haswell): 8 per iteration,
    // so cycles = 8·n; the loop counter runs in parallel.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Vector256<int> Chain(long n, Vector256<int> a, Vector256<int> b)
    {
        for (long i = 0; i < n; i++)
        {
            a = Avx2.Add(a, b); a = Avx2.Add(a, b); a = Avx2.Add(a, b); a = Avx2.Add(a, b);
            a = Avx2.Add(a, b); a = Avx2.Add(a, b); a = Avx2.Add(a, b); a = Avx2.Add(a, b);
        }

        return a;
    }

    // Eight independent vpmaddwd + vpaddd per iteration, the inputs changing every iteration (no common
    // subexpressions): the same instruction pair as the Avx2 GEMM's inner step.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Vector256<int> Madd(long n, Vector256<short> x, Vector256<short> w0, Vector256<short> w1, Vector256<short> w2, Vector256<short> w3)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector256<short> one = Vector256.Create((short)1);
        for (long i = 0; i < n; i++)
        {
            Vector256<short> y = Avx2.Xor(x, one);
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(x, w0));
            a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(x, w1));
            a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(x, w2));
            a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(x, w3));
            a4 = Avx2.Add(a4, Avx2.MultiplyAddAdjacent(y, w0));
            a5 = Avx2.Add(a5, Avx2.MultiplyAddAdjacent(y, w1));
            a6 = Avx2.Add(a6, Avx2.MultiplyAddAdjacent(y, w2));
            a7 = Avx2.Add(a7, Avx2.MultiplyAddAdjacent(y, w3));
            x = Avx2.Add(x, one);
        }

        return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }

    public static (double Ghz, double MaddPerCycle) Measure()
    {
        const long n = 50_000_000;
        var b = Vector256.Create(3);
        Chain(1000, b, b);
        var sw = Stopwatch.StartNew();
        var r = Chain(n, b, b);
        double ghz = 8.0 * n / sw.Elapsed.TotalSeconds / 1e9;
        var x = Vector256.Create((short)(r.ToScalar() & 7));
        Madd(1000, x, x, x, x, x);
        const long m = 50_000_000;
        sw.Restart();
        var v = Madd(m, x, Vector256.Create((short)3), Vector256.Create((short)5), Vector256.Create((short)7), Vector256.Create((short)9));
        double maddSeconds = sw.Elapsed.TotalSeconds;
        GC.KeepAlive(v.ToScalar());
        return (ghz, 8.0 * m / maddSeconds / (ghz * 1e9));
    }
}
