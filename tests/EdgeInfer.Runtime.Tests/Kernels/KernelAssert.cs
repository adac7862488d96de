using System.Runtime.InteropServices;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

/// <summary>Runs one-node models on every kernel path and checks results, bytes and refusals.</summary>
internal static class KernelAssert
{
    /// <summary>
    /// Runs the node on Scalar and on every other supported path, asserts that every path wrote exactly the bytes
    /// Scalar wrote, and returns Scalar's values.
    /// </summary>
    public static float[] RunEveryPath(OpCode op, IOpOptions? options, TestTensor?[] inputs, int[] outputShape)
    {
        byte[] reference = KernelRunner.Run(op, options, inputs, [TestTensor.Output(outputShape)], KernelPath.Scalar)[0];
        foreach (KernelPath path in KernelPaths.Supported)
        {
            if (path == KernelPath.Scalar)
            {
                continue;
            }

            byte[] actual = KernelRunner.Run(op, options, inputs, [TestTensor.Output(outputShape)], path)[0];
            SameBytes(reference, actual, $"{op} on {path}");
        }

        return MemoryMarshal.Cast<byte, float>(reference).ToArray();
    }

    public static void SameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int i = expected.SequenceCompareTo(actual) == 0 ? -1 : FirstDifference(expected, actual);
        if (i >= 0)
        {
            float e = MemoryMarshal.Cast<byte, float>(expected)[i / 4];
            float a = MemoryMarshal.Cast<byte, float>(actual)[i / 4];
            Assert.Fail($"{what}: float {i / 4} is {a:R} (0x{BitConverter.SingleToInt32Bits(a):X8}), the reference has {e:R} (0x{BitConverter.SingleToInt32Bits(e):X8})");
        }
    }

    private static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>|actual − expected| ≤ tolerance·max(1, |expected|), element by element; NaN must match NaN.</summary>
    public static void Close(double[] expected, float[] actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]))
            {
                Assert.True(float.IsNaN(actual[i]), $"element {i}: expected NaN, got {actual[i]:R}");
                continue;
            }

            double error = Math.Abs(actual[i] - expected[i]);
            Assert.True(error <= tolerance * Math.Max(1, Math.Abs(expected[i])) || actual[i] == expected[i],
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R} (error {error:E2})");
        }
    }

    /// <summary>Building an interpreter over the node must fail with <see cref="ModelError.InvalidNode"/>.</summary>
    public static EdgeInferModelException Refused(OpCode op, IOpOptions? options, TestTensor?[] inputs, params TestTensor[] outputs)
    {
        using Model model = Model.FromBytes(KernelRunner.BuildModel(op, options, inputs, outputs), $"{op}-invalid.eim");
        var e = Assert.Throws<EdgeInferModelException>(() => new Interpreter(model, new InterpreterOptions { KernelPath = KernelPath.Scalar }));
        Assert.Equal(ModelError.InvalidNode, e.Error);
        Assert.Contains("node", e.Message, StringComparison.Ordinal);
        return e;
    }

    public static float[] Random(Random rng, int count, float low = -1, float high = 1)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(low + rng.NextDouble() * (high - low));
        }

        return values;
    }

    public static int Count(int[] shape) => shape.Aggregate(1, (a, d) => a * d);
}

/// <summary>
/// The canonical accumulation order written out plainly, independently of the runtime's FloatDot, to check that
/// kernels compute exactly the documented sequence: lanes l_j over terms t ≡ j (mod 8) below the last multiple of 8
/// by fused multiply-add from +0, m_j = l_j + l_{j+4}, s = (m0 + m2) + (m1 + m3), then the tail in order.
/// </summary>
internal static class CanonicalOrder
{
    /// <summary>The products' order (FloatGemm): one fused multiply-add chain from +0 over k in increasing order.</summary>
    public static float Chain(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        float s = 0;
        for (int k = 0; k < a.Count; k++)
        {
            s = MathF.FusedMultiplyAdd(a[k], b[k], s);
        }

        return s;
    }

    public static float Sum(IReadOnlyList<float> a)
    {
        var lanes = new float[8];
        int k8 = a.Count / 8 * 8;
        for (int k = 0; k < k8; k++)
        {
            lanes[k % 8] += a[k];
        }

        float s = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
        for (int k = k8; k < a.Count; k++)
        {
            s += a[k];
        }

        return s;
    }

    /// <summary>Math.Clamp's order, which is the runtime's clamp for a non-empty range.</summary>
    public static float Clamp(float v, float min, float max) => v < min ? min : v > max ? max : v;
}
