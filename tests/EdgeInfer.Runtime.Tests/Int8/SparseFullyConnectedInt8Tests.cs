using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

/// <summary>
/// FullyConnected with weights stored block-sparse (16-wide blocks, what the int8 sparse kernel reads): every path
/// must give the bytes of the same weights stored dense, which are TFLite's reference arithmetic.
/// </summary>
public class SparseFullyConnectedInt8Tests
{
    public static TheoryData<int, int, int, double> Cases => new()
    {
        // rows, depth, units, fraction of blocks zeroed: depths on and off the block width, rows below and above
        // the dense kernel's matrix–vector threshold, units on and off 16, and the empty and full extremes.
        { 1, 16, 1, 0.5 }, { 1, 64, 10, 0.7 }, { 1, 100, 33, 0.5 }, { 2, 37, 16, 0.3 }, { 5, 256, 24, 0.9 },
        { 1, 48, 8, 1.0 }, { 3, 48, 17, 0.0 }, { 1, 1000, 64, 0.8 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Invoke_EveryPath_SparseWeights_MatchDenseAndReference(int rows, int depth, int units, double zeroFraction)
    {
        var rng = new Random(rows * 10007 + depth * 101 + units);
        sbyte[] x = Int8Data.Random(rng, rows * depth);
        sbyte[] w = PrunedWeights(rng, units, depth, zeroFraction);
        int[] bias = Int8Data.RandomInts(rng, units, -5000, 5000);
        float[] ws = Int8Data.Scales(rng, units, 0.001f, 0.02f);
        (float sx, int zx, float sy, int zy) = (0.05f, rng.Next(-20, 20), 0.08f, rng.Next(-10, 10));
        foreach (ClampOptions clamp in new[] { ClampOptions.None, ClampOptions.Relu })
        {
            TestTensor dense = TestTensor.Int8Weights([units, depth], w, ws);
            TestTensor[] Inputs(TestTensor weights) => [TestTensor.Int8([rows, depth], x, sx, zx), weights, TestTensor.Int32Const([units], bias)];
            byte[] sparseBytes = KernelRunner.RunEveryPath(OpCode.FullyConnected, clamp, Inputs(dense with { SparseBlockWidth = 16 }),
                TestTensor.Int8Output([rows, units], sy, zy));
            byte[] denseBytes = KernelRunner.RunEveryPath(OpCode.FullyConnected, clamp, Inputs(dense), TestTensor.Int8Output([rows, units], sy, zy));
            Assert.Equal(denseBytes, sparseBytes);
            Assert.Equal(FullyConnectedInt8Tests.Reference(x, w, bias, rows, depth, units, sx, zx, ws, sy, zy, clamp),
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(sparseBytes).ToArray());
        }
    }

    [Fact]
    public void Invoke_EveryPath_WeightOfMinus128_MatchesDense()
    {
        // SMULL/SMLAL2 pairs are exact only for weights in [−127, 127]: with a −128 the arm64 Vector128 path must take
        // the scalar loop (x64 widens to int16 and is exact either way). Extreme inputs make a wrong pair overflow.
        var rng = new Random(128);
        const int rows = 1, depth = 96, units = 20;
        // x = −128 and whole blocks of −128: an int16 lane holding two products (SMULL + SMLAL2) would get
        // 2 · 16,384 = 32,768, one past int16.
        sbyte[] x = [.. Enumerable.Repeat(sbyte.MinValue, depth)];
        sbyte[] w = PrunedWeights(rng, units, depth, 0.5);
        for (int i = 0; i < w.Length; i += 16)
        {
            if ((i / 16) % 2 == 0 && w.AsSpan(i, 16).IndexOfAnyExcept((sbyte)0) >= 0)
            {
                w.AsSpan(i, 16).Fill(sbyte.MinValue);
            }
        }

        float[] ws = Int8Data.Scales(rng, units, 0.001f, 0.02f);
        int[] bias = Int8Data.RandomInts(rng, units, -5000, 5000);
        TestTensor dense = TestTensor.Int8Weights([units, depth], w, ws);
        TestTensor[] Inputs(TestTensor weights) => [TestTensor.Int8([rows, depth], x, 0.05f, 3), weights, TestTensor.Int32Const([units], bias)];
        byte[] sparseBytes = KernelRunner.RunEveryPath(OpCode.FullyConnected, ClampOptions.None, Inputs(dense with { SparseBlockWidth = 16 }), TestTensor.Int8Output([rows, units], 10f, 0));
        Assert.Equal(FullyConnectedInt8Tests.Reference(x, w, bias, rows, depth, units, 0.05f, 3, ws, 10f, 0, ClampOptions.None),
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(sparseBytes).ToArray());
    }

    [Fact]
    public void Prepare_SparseWeights_AreReadInPlace_NotExpanded()
    {
        // The sparse kernel keeps no dense copy: a layer at 10 % density holds far less than its dense weights.
        var rng = new Random(7);
        const int units = 256, depth = 1024;
        sbyte[] w = PrunedWeights(rng, units, depth, 0.9);
        byte[] file = KernelRunner.BuildModel(OpCode.FullyConnected, ClampOptions.None,
            [TestTensor.Int8([1, depth], new sbyte[depth], 0.05f, 0), TestTensor.Int8Weights([units, depth], w, [0.01f]) with { SparseBlockWidth = 16 }, null],
            [TestTensor.Int8Output([1, units], 0.1f, 0)]);
        using Model model = Model.FromBytes(file, "sparse-fc.eim");
        foreach (KernelPath path in KernelPaths.Supported)
        {
            var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = path });
            Assert.True(interpreter.PersistentBytes < units * depth / 2, $"{path}: {interpreter.PersistentBytes} persistent bytes");
        }
    }

    [Fact]
    public void Prepare_ManyRows_ExpandTheBlocks_OnePixelConvolutionReadsThemInPlace()
    {
        // The sparse kernel serves products of fewer than four rows; a FullyConnected over 16 rows expands the blocks
        // for the dense GEMM (persistent memory above the dense weights), a 1×1 convolution on one pixel does not.
        var rng = new Random(8);
        const int units = 256, depth = 1024;
        TestTensor weights = TestTensor.Int8Weights([units, depth], PrunedWeights(rng, units, depth, 0.9), [0.01f]) with { SparseBlockWidth = 16 };
        TestTensor convWeights = weights with { Shape = [units, 1, 1, depth] };
        long Persistent(byte[] file)
        {
            using Model model = Model.FromBytes(file, "sparse.eim");
            return new Interpreter(model, new InterpreterOptions { KernelPath = KernelPath.Scalar }).PersistentBytes;
        }

        long rows16 = Persistent(KernelRunner.BuildModel(OpCode.FullyConnected, ClampOptions.None,
            [TestTensor.Int8([16, depth], new sbyte[16 * depth], 0.05f, 0), weights, null], [TestTensor.Int8Output([16, units], 0.1f, 0)]));
        long pixel = Persistent(KernelRunner.BuildModel(OpCode.Conv2D, new Conv2DOptions(1, 1, 1, 1, 0, 0, 0, 0, 1, ClampOptions.None),
            [TestTensor.Int8([1, 1, 1, depth], new sbyte[depth], 0.05f, 0), convWeights, null], [TestTensor.Int8Output([1, 1, 1, units], 0.1f, 0)]));
        Assert.True(rows16 >= units * depth, $"16 rows: {rows16} persistent bytes");
        Assert.True(pixel < units * depth / 2, $"one pixel: {pixel} persistent bytes");
    }

    /// <summary>Random int8 weights in [−127, 127] with round(fraction·blocks) of their 16-wide blocks zero.</summary>
    internal static sbyte[] PrunedWeights(Random rng, int units, int depth, double zeroFraction)
    {
        sbyte[] w = Int8Data.Random(rng, units * depth, -127, 127);
        int perRow = (depth + 15) / 16;
        int[] blocks = [.. Enumerable.Range(0, units * perRow).OrderBy(_ => rng.Next())];
        foreach (int b in blocks.Take((int)Math.Round(zeroFraction * blocks.Length)))
        {
            int row = b / perRow, start = b % perRow * 16;
            w.AsSpan(row * depth + start, Math.Min(16, depth - start)).Clear();
        }

        return w;
    }
}
