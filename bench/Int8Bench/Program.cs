using System.Diagnostics;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

// Scratch benchmark for the int8 kernels (not a test): times single nodes built with KernelRunner.BuildModel.
var rng = new Random(1);
string mode = args.Length > 0 ? args[0] : "gemm";
KernelPath[] paths = [.. KernelPaths.Supported];

if (mode == "gemm")
{
    int m = 256, k = 1024, n = 1024;
    foreach (KernelPath path in paths)
    {
        var inputs = new TestTensor?[]
        {
            TestTensor.Int8([m, k], Rand(m * k), 0.05f, 3),
            TestTensor.Int8Weights([n, k], Rand(n * k, -127), Scales(n)),
            TestTensor.Int32Const([n], new int[n]),
        };
        double t = Time(OpCode.FullyConnected, ClampOptions.None, inputs, TestTensor.Int8Output([m, n], 0.5f, 0), path, path == KernelPath.Scalar ? 2 : 20);
        Console.WriteLine($"GEMM {m}x{k}x{n} {path,-10} {t * 1e3,8:F3} ms  {2.0 * 0 + (double)m * k * n / t / 1e9,6:F2} GMAC/s");
    }
}
else if (mode == "layers")
{
    // MobileNetV2-0.35 96x96-like layers: (H, W, Cin, Cout, K, stride, groups)
    (string, int, int, int, int, int, int, int)[] layers =
    [
        ("stem 3x3 s2 3->16", 96, 96, 3, 16, 3, 2, 1),
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
    ];
    foreach (var (name, h, w, cin, cout, kk, s, g) in layers)
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
            double t = Time(OpCode.Conv2D, options, inputs, TestTensor.Int8Output([1, ho, wo, cout], 0.1f, -128), path, 200);
            Console.Write($"  {path}: {t * 1e6,7:F1} us ({macs / t / 1e9,5:F1} GMAC/s)");
        }

        Console.WriteLine();
    }
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
