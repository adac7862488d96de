namespace EdgeInfer.Converter.Quantization;

public enum QuantizationMode
{
    /// <summary>Float32 throughout.</summary>
    None,
    /// <summary>Static post-training quantization: int8 weights per channel, int8 activations per tensor.</summary>
    Int8,
    /// <summary>Int8 weights in the file, dequantized once at load; float activations. No calibration data needed.</summary>
    Int8Weights,
}

/// <summary>How an activation's calibrated values become its int8 range.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum.</summary>
    MinMax,
    /// <summary>Clip each tail at the given percentile of the observed values (default 99.99).</summary>
    Percentile,
    /// <summary>The clipping threshold whose int8 histogram is closest to the float one in KL divergence.</summary>
    Entropy,
    /// <summary>The clipping threshold with the smallest expected squared quantization error.</summary>
    Mse,
}

public sealed class QuantizationOptions
{
    public QuantizationMode Mode { get; init; } = QuantizationMode.None;
    public CalibrationMethod Method { get; init; } = CalibrationMethod.Percentile;
    public double Percentile { get; init; } = 99.99;

    /// <summary>Representative inputs (one float array per sample, in the first graph input's layout).</summary>
    public IReadOnlyList<float[]>? CalibrationSamples { get; init; }

    /// <summary>Where the calibration samples came from (a file name), for error messages.</summary>
    public string CalibrationSource { get; init; } = "calibration data";

    /// <summary>Names of nodes (their output tensor names also match) to keep in float.</summary>
    public IReadOnlySet<string> KeepFloat { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>When true the model's inputs and outputs are int8 (the caller quantizes); otherwise float with
    /// Quantize/Dequantize nodes at the boundary.</summary>
    public bool Int8InputsAndOutputs { get; init; }

    /// <summary>Reports progress of calibration: (samples done, samples total).</summary>
    public Action<int, int>? Progress { get; init; }
}
