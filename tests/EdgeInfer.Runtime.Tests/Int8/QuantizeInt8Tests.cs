using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class QuantizeInt8Tests
{
    [Theory]
    [InlineData(0.05f, 3, DataType.Int8)]
    [InlineData(0.1f, -128, DataType.Int8)]
    [InlineData(0.02f, 128, DataType.UInt8)]
    [InlineData(1f, 0, DataType.UInt8)]
    [InlineData(1.1754945e-38f, 0, DataType.Int8)] // 0x00800001: its half is subnormal and inexact, so AVX2 may not divide by scale/2
    public void Quantize_EveryPath_MatchesScalarDefinition(float scale, int zeroPoint, DataType type)
    {
        // Ties at every half step, values around the clamp edges, ±0, ±∞, NaN, huge values and subnormals, at every
        // length 0..70 (vector bodies and scalar tails).
        var values = new List<float> { 0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f, 1e-40f, -1e-40f, float.MaxValue, float.MinValue };
        for (int k = -600; k <= 600; k++)
        {
            values.Add(k * scale * 0.5f);
            values.Add(MathF.BitIncrement(k * scale * 0.5f));
            values.Add(MathF.BitDecrement(k * scale * 0.5f));
        }

        foreach (float q in new[] { 1024f, 1073741760f, 1073741824f, 2147483648f, 4294967296f })
        {
            values.Add(q * scale); // around where vcvttps2dq of 2q stops being exact and returns 0x80000000
            values.Add(-q * scale);
        }

        var rng = new Random(5);
        for (int i = 0; i < 300; i++)
        {
            values.Add((float)(rng.NextDouble() * 400 - 200) * scale);
        }

        float[] all = [.. values];
        (int lo, int hi) = type == DataType.Int8 ? (-128, 127) : (0, 255);
        foreach (int length in new[] { 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 70, all.Length })
        {
            for (int start = 0; start + length <= all.Length; start += Math.Max(length, 97))
            {
                float[] x = all[start..(start + length)];
                byte[] y = KernelRunner.RunEveryPath(OpCode.Quantize, null, [TestTensor.Input([length], x)],
                    TestTensor.Output([length], type, TestTensor.PerTensor(scale, zeroPoint)));
                for (int i = 0; i < length; i++)
                {
                    float v = x[i] / scale;
                    int q = float.IsNaN(v) ? 0 : (int)Math.Clamp(Math.Round((double)v, MidpointRounding.AwayFromZero), -1e9, 1e9);
                    int expected = Math.Clamp(q + zeroPoint, lo, hi);
                    Assert.Equal(expected, type == DataType.Int8 ? (sbyte)y[i] : y[i]);
                }
            }
        }
    }
}
