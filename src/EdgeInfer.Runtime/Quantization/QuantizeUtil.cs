namespace EdgeInfer.Runtime.Quantization;

/// <summary>Per-tensor affine (de)quantization of whole buffers, for inputs and outputs at the graph boundary.</summary>
public static class QuantizeUtil
{
    /// <summary>q = clamp(round(x / scale) + zeroPoint), rounding half away from zero as TFLite does.</summary>
    public static void Quantize(ReadOnlySpan<float> values, float scale, int zeroPoint, DataType type, Span<byte> destination)
    {
        (int lo, int hi) = type == DataType.Int8 ? (-128, 127) : (0, 255);
        for (int i = 0; i < values.Length; i++)
        {
            float scaled = values[i] / scale; // a division, as TFLite's reference quantizer, not a multiply by 1/scale
            int q = float.IsNaN(scaled) ? 0 : (int)Math.Clamp(MathF.Round(scaled, MidpointRounding.AwayFromZero), -1e9f, 1e9f);
            destination[i] = (byte)Math.Clamp(q + zeroPoint, lo, hi);
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> values, float scale, int zeroPoint, DataType type, Span<float> destination)
    {
        for (int i = 0; i < values.Length; i++)
        {
            int q = type == DataType.Int8 ? (sbyte)values[i] : values[i];
            destination[i] = scale * (q - zeroPoint);
        }
    }
}
