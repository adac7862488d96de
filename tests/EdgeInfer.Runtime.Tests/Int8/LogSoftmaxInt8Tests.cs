using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class LogSoftmaxInt8Tests
{
    private const float OutputScale = 16f / 256;
    private const int OutputZeroPoint = 127;

    /// <summary>
    /// Against the exact log-softmax of the dequantized inputs, requantized to (16/256, 127): never more than one
    /// output step away, and the correctly rounded step except at a value within 1e−9 of a rounding midpoint.
    /// </summary>
    [Theory]
    [InlineData(0.1f, 1f, 10)]
    [InlineData(0.05f, 1f, 37)]
    [InlineData(0.2f, 0.5f, 5)]
    [InlineData(0.02f, 2f, 64)]
    [InlineData(0.5f, 1f, 1000)]
    [InlineData(0.01f, 1f, 3)]
    public void Invoke_IsTheRoundedRealLogSoftmax(float scale, float beta, int depth)
    {
        var rng = new Random(depth);
        const int rows = 6;
        sbyte[] x = Int8Data.Random(rng, rows * depth);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.LogSoftmax, new SoftmaxOptions(1, beta),
            [TestTensor.Int8([rows, depth], x, scale, 3)], TestTensor.Int8Output([rows, depth], OutputScale, OutputZeroPoint)));
        for (int r = 0; r < rows; r++)
        {
            double max = Enumerable.Range(0, depth).Max(c => (double)x[r * depth + c]);
            double log = Math.Log(Enumerable.Range(0, depth).Sum(c => Math.Exp((double)beta * scale * (x[r * depth + c] - max))));
            for (int c = 0; c < depth; c++)
            {
                double steps = ((double)beta * scale * (x[r * depth + c] - max) - log) / OutputScale;
                double expected = Math.Clamp(OutputZeroPoint + Math.Round(steps, MidpointRounding.AwayFromZero), -128, 127);
                int actual = y[r * depth + c];
                Assert.InRange(actual, expected - 1, expected + 1);
                bool nearMidpoint = Math.Abs(Math.Abs(steps - Math.Truncate(steps)) - 0.5) < 1e-9;
                Assert.True(actual == expected || nearMidpoint, $"row {r}, element {c}: {actual}, expected {expected} ({steps:R} steps)");
            }
        }
    }

    [Fact]
    public void Invoke_EqualInputs_GiveMinusLogN()
    {
        sbyte[] y = KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(1, 1f),
            [TestTensor.Int8([2, 4], [5, 5, 5, 5, -100, -100, -100, -100], 0.1f, 0)], TestTensor.Int8Output([2, 4], OutputScale, OutputZeroPoint));
        Assert.All(y, v => Assert.Equal(127 - 22, v)); // −ln 4 = −22.18 steps of 1/16
    }

    [Fact]
    public void Invoke_OneElementAxis_IsZero_AndFarBelowTheMaximum_Saturates()
    {
        sbyte[] one = KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(1, 1f),
            [TestTensor.Int8([3, 1], [-128, 0, 127], 0.1f, 0)], TestTensor.Int8Output([3, 1], OutputScale, OutputZeroPoint));
        Assert.All(one, v => Assert.Equal(OutputZeroPoint, v));
        sbyte[] far = KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(1, 1f),
            [TestTensor.Int8([1, 3], [127, -128, 100], 0.5f, 0)], TestTensor.Int8Output([1, 3], OutputScale, OutputZeroPoint));
        Assert.Equal([127, -128, 127 - 216], far.Select(v => (int)v)); // 0, −127.5 (saturated), −13.5 = −216 steps
    }

    [Fact]
    public void Invoke_InnerAxis_MatchesTheTransposedLastAxis()
    {
        var rng = new Random(4);
        sbyte[] x = Int8Data.Random(rng, 3 * 5);
        sbyte[] y = KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(0, 1f), [TestTensor.Int8([3, 5], x, 0.1f, 0)], TestTensor.Int8Output([3, 5], OutputScale, OutputZeroPoint));
        sbyte[] xt = [.. Enumerable.Range(0, 15).Select(i => x[(i % 3) * 5 + i / 3])];
        sbyte[] yt = KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(1, 1f), [TestTensor.Int8([5, 3], xt, 0.1f, 0)], TestTensor.Int8Output([5, 3], OutputScale, OutputZeroPoint));
        for (int i = 0; i < 15; i++)
        {
            Assert.Equal(yt[i], y[(i % 3) * 5 + i / 3]);
        }
    }

    [Fact]
    public void Prepare_RejectsOutputParametersOtherThanTfLites_AndBadBeta()
    {
        TestTensor input = TestTensor.Int8([1, 4], new sbyte[4], 0.1f, 0);
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(1, 1f), [input], TestTensor.Int8Output([1, 4], 1f / 256, -128)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(1, 1f), [input], TestTensor.Int8Output([1, 4], OutputScale, 0)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(2, 1f), [input], TestTensor.Int8Output([1, 4], OutputScale, OutputZeroPoint)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.LogSoftmax, new SoftmaxOptions(1, 0f), [input], TestTensor.Int8Output([1, 4], OutputScale, OutputZeroPoint)));
    }
}
