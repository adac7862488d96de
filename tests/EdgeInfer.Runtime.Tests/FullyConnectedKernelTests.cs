using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests;

public class FullyConnectedKernelTests
{
    public static TheoryData<int, int, int> Sizes => new() { { 1, 1, 1 }, { 1, 7, 3 }, { 2, 8, 4 }, { 3, 19, 5 }, { 1, 64, 10 }, { 4, 133, 9 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Invoke_Float_MatchesDoublePrecisionReference(int rows, int depth, int units)
    {
        var rng = new Random(rows * 1000 + depth * 10 + units);
        float[] x = RandomFloats(rng, rows * depth);
        float[] w = RandomFloats(rng, units * depth);
        float[] b = RandomFloats(rng, units);

        float[] y = KernelRunner.RunFloat(OpCode.FullyConnected, ClampOptions.None,
            [TestTensor.Input([rows, depth], x), TestTensor.Const([units, depth], w), TestTensor.Const([units], b)], [rows, units]);

        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < units; n++)
            {
                double expected = b[n];
                for (int k = 0; k < depth; k++)
                {
                    expected += (double)x[m * depth + k] * w[n * depth + k];
                }

                Assert.Equal(expected, y[m * units + n], 1e-4);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Invoke_EveryPath_GivesIdenticalBytes(int rows, int depth, int units)
    {
        var rng = new Random(7 + rows + depth + units);
        TestTensor?[] inputs = [TestTensor.Input([rows, depth], RandomFloats(rng, rows * depth)),
            TestTensor.Const([units, depth], RandomFloats(rng, units * depth)), null];
        byte[] reference = KernelRunner.Run(OpCode.FullyConnected, ClampOptions.Relu, inputs, [TestTensor.Output([rows, units])], KernelPath.Scalar)[0];
        foreach (KernelPath path in KernelPaths.Supported)
        {
            byte[] actual = KernelRunner.Run(OpCode.FullyConnected, ClampOptions.Relu, inputs, [TestTensor.Output([rows, units])], path)[0];
            Assert.Equal(reference, actual);
        }
    }

    private static float[] RandomFloats(Random rng, int count) => [.. Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
}
