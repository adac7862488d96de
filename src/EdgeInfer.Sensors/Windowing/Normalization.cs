namespace EdgeInfer.Sensors.Windowing;

/// <summary>
/// Per-channel preprocessing applied between the sensor and the model, as the model was trained:
/// either standardization <c>(x − mean) / std</c> or an affine map <c>x · scale + offset</c>. The two are kept
/// apart (not folded into one) because they round differently in float32, and a device must reproduce the training
/// arithmetic bit for bit to reproduce its outputs.
/// </summary>
public sealed class Normalization
{
    private Normalization(bool standardize, float[] a, float[] b)
    {
        IsStandardization = standardize;
        A = a;
        B = b;
    }

    public bool IsStandardization { get; }

    /// <summary>Mean (standardization) or scale (affine), per channel.</summary>
    internal float[] A { get; }

    /// <summary>Standard deviation (standardization) or offset (affine), per channel.</summary>
    internal float[] B { get; }

    public int Channels => A.Length;

    public static Normalization Identity(int channels) => Affine(Filled(channels, 1f), new float[channels]);

    public static Normalization Standardize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length != std.Length || mean.Length == 0)
        {
            throw new ArgumentException($"mean has {mean.Length} channels and std {std.Length}; both need one value per channel");
        }

        for (int c = 0; c < std.Length; c++)
        {
            if (!(std[c] > 0f) || !float.IsFinite(std[c]) || !float.IsFinite(mean[c]))
            {
                throw new ArgumentException($"channel {c}: mean {mean[c]} and std {std[c]} must be finite and std positive");
            }
        }

        return new Normalization(true, (float[])mean.Clone(), (float[])std.Clone());
    }

    public static Normalization Affine(float[] scale, float[] offset)
    {
        ArgumentNullException.ThrowIfNull(scale);
        ArgumentNullException.ThrowIfNull(offset);
        if (scale.Length != offset.Length || scale.Length == 0)
        {
            throw new ArgumentException($"scale has {scale.Length} channels and offset {offset.Length}; both need one value per channel");
        }

        for (int c = 0; c < scale.Length; c++)
        {
            if (!float.IsFinite(scale[c]) || !float.IsFinite(offset[c]))
            {
                throw new ArgumentException($"channel {c}: scale {scale[c]} and offset {offset[c]} must be finite");
            }
        }

        return new Normalization(false, (float[])scale.Clone(), (float[])offset.Clone());
    }

    public float Apply(int channel, float x) => IsStandardization ? (x - A[channel]) / B[channel] : (x * A[channel]) + B[channel];

    private static float[] Filled(int n, float v)
    {
        var a = new float[n];
        Array.Fill(a, v);
        return a;
    }
}
