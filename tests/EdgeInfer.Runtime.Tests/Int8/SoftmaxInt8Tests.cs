using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class SoftmaxInt8Tests
{
    [Fact]
    public void Invoke_EqualInputs_GiveExactlyOneOverN()
    {
        sbyte[] y = KernelRunner.RunInt8(OpCode.Softmax, new SoftmaxOptions(1, 1f),
            [TestTensor.Int8([2, 4], [5, 5, 5, 5, -100, -100, -100, -100], 0.1f, 0)], TestTensor.Int8Output([2, 4], 1f / 256, -128));
        Assert.All(y, v => Assert.Equal(-64, v)); // 256/4 − 128
    }

    [Theory]
    [InlineData(0.1f, 1f, 10)]
    [InlineData(0.05f, 1f, 37)]
    [InlineData(0.2f, 0.5f, 5)]
    [InlineData(0.02f, 2f, 64)]
    public void Invoke_IsWithinOneStepOfTheRealSoftmax(float scale, float beta, int depth)
    {
        var rng = new Random(depth);
        const int rows = 6;
        sbyte[] x = Int8Data.Random(rng, rows * depth);
        sbyte[] y = ElementwiseInt8Tests.Bytes(KernelRunner.RunEveryPath(OpCode.Softmax, new SoftmaxOptions(1, beta),
            [TestTensor.Int8([rows, depth], x, scale, 3)], TestTensor.Int8Output([rows, depth], 1f / 256, -128)));
        for (int r = 0; r < rows; r++)
        {
            double max = Enumerable.Range(0, depth).Max(c => (double)x[r * depth + c]);
            double sum = Enumerable.Range(0, depth).Sum(c => Math.Exp(beta * scale * (x[r * depth + c] - max)));
            for (int c = 0; c < depth; c++)
            {
                double p = Math.Exp(beta * scale * (x[r * depth + c] - max)) / sum;
                Assert.InRange(y[r * depth + c], Math.Round(p * 256) - 128 - 1, Math.Round(p * 256) - 128 + 1);
            }
        }
    }

    [Fact]
    public void Invoke_InnerAxis_MatchesTheTransposedLastAxis()
    {
        var rng = new Random(4);
        sbyte[] x = Int8Data.Random(rng, 3 * 5);
        // Softmax over axis 0 of [3,5] equals softmax over the last axis of its transpose [5,3].
        sbyte[] y = KernelRunner.RunInt8(OpCode.Softmax, new SoftmaxOptions(0, 1f), [TestTensor.Int8([3, 5], x, 0.1f, 0)], TestTensor.Int8Output([3, 5], 1f / 256, -128));
        sbyte[] xt = [.. Enumerable.Range(0, 15).Select(i => x[(i % 3) * 5 + i / 3])];
        sbyte[] yt = KernelRunner.RunInt8(OpCode.Softmax, new SoftmaxOptions(1, 1f), [TestTensor.Int8([5, 3], xt, 0.1f, 0)], TestTensor.Int8Output([5, 3], 1f / 256, -128));
        for (int i = 0; i < 15; i++)
        {
            Assert.Equal(yt[i], y[(i % 3) * 5 + i / 3]);
        }
    }

    [Fact]
    public void Prepare_RejectsOutputParametersOtherThanOneOver256()
    {
        TestTensor input = TestTensor.Int8([1, 4], new sbyte[4], 0.1f, 0);
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Softmax, new SoftmaxOptions(1, 1f), [input], TestTensor.Int8Output([1, 4], 1f / 128, -128)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Softmax, new SoftmaxOptions(1, 1f), [input], TestTensor.Int8Output([1, 4], 1f / 256, 0)));
        Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Softmax, new SoftmaxOptions(2, 1f), [input], TestTensor.Int8Output([1, 4], 1f / 256, -128)));
    }
}
