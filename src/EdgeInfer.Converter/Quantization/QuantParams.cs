namespace EdgeInfer.Converter.Quantization;

/// <summary>
/// Quantization parameters and the arithmetic of choosing them. int8 activations are asymmetric per tensor
/// (scale, zero point) over a range widened to include 0, so that 0 is exactly representable (zero padding,
/// ReLU outputs); weights are symmetric per output channel over [−127, 127] (zero point 0), as TFLite requires
/// for its int8 kernels.
/// </summary>
public static class QuantParams
{
    public const int Int8Min = -128;
    public const int Int8Max = 127;

    /// <summary>Asymmetric int8 parameters covering [min, max] ∪ {0}.</summary>
    public static (float Scale, int ZeroPoint) Asymmetric(double min, double max)
    {
        min = Math.Min(min, 0);
        max = Math.Max(max, 0);
        if (!double.IsFinite(min) || !double.IsFinite(max))
        {
            throw new ArgumentException($"range [{min}, {max}] is not finite");
        }

        if (max - min < 1e-30)
        {
            return (1f / 255f, Int8Min); // an all-zero tensor: any scale represents it exactly
        }

        float scale = (float)((max - min) / (Int8Max - Int8Min));
        double zeroPoint = Int8Min - min / scale;
        return (scale, (int)Math.Clamp(Math.Round(zeroPoint, MidpointRounding.AwayFromZero), Int8Min, Int8Max));
    }

    /// <summary>Symmetric per-channel int8 weights along axis 0; returns the quantized values and one scale per channel.</summary>
    public static (sbyte[] Values, float[] Scales) SymmetricPerChannel(ReadOnlySpan<float> weights, int channels)
    {
        int perChannel = weights.Length / channels;
        var q = new sbyte[weights.Length];
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> w = weights.Slice(c * perChannel, perChannel);
            float absMax = 0;
            foreach (float v in w)
            {
                absMax = Math.Max(absMax, Math.Abs(v));
            }

            float scale = absMax > 0 ? absMax / 127f : 1f;
            scales[c] = scale;
            for (int i = 0; i < perChannel; i++)
            {
                q[c * perChannel + i] = (sbyte)Math.Clamp(MathF.Round(w[i] / scale, MidpointRounding.AwayFromZero), -127, 127);
            }
        }

        return (q, scales);
    }

    /// <summary>Per-tensor asymmetric quantization of a constant (e.g. a per-channel Mul/Add operand).</summary>
    public static (sbyte[] Values, float Scale, int ZeroPoint) AsymmetricTensor(ReadOnlySpan<float> values)
    {
        float min = 0, max = 0;
        foreach (float v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        (float scale, int zp) = Asymmetric(min, max);
        var q = new sbyte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            q[i] = Quantize(values[i], scale, zp);
        }

        return (q, scale, zp);
    }

    /// <summary>round_half_away(x / scale) + zero point, saturated to int8: TFLite's quantizer.</summary>
    public static sbyte Quantize(float x, float scale, int zeroPoint)
        => (sbyte)Math.Clamp(MathF.Round(x / scale, MidpointRounding.AwayFromZero) + zeroPoint, Int8Min, Int8Max);

    /// <summary>int32 bias for an int8 product with input scale <paramref name="inputScale"/> and per-channel weight scales.</summary>
    public static int[] Bias(ReadOnlySpan<float> bias, float inputScale, ReadOnlySpan<float> weightScales)
    {
        var q = new int[bias.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            double scale = (double)inputScale * weightScales[weightScales.Length == 1 ? 0 : c];
            q[c] = (int)Math.Clamp(Math.Round(bias[c] / scale, MidpointRounding.AwayFromZero), int.MinValue, int.MaxValue);
        }

        return q;
    }
}
