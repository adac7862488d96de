namespace EdgeInfer.Sensors.Outputs;

/// <summary>
/// One inference, as the sinks see it. <see cref="Scores"/> borrows the loop's buffer: valid only during the call.
/// </summary>
public readonly ref struct InferenceResult
{
    public InferenceResult(long windowIndex, long startMicros, long endMicros, int classIndex, ReadOnlySpan<float> scores)
    {
        WindowIndex = windowIndex;
        StartMicros = startMicros;
        EndMicros = endMicros;
        ClassIndex = classIndex;
        Scores = scores;
    }

    /// <summary>The window's place in the schedule (window k starts at tick k·hop), counting discarded windows too.</summary>
    public long WindowIndex { get; }

    /// <summary>Timestamp of the window's first sample (µs).</summary>
    public long StartMicros { get; }

    /// <summary>Timestamp of the window's last sample (µs).</summary>
    public long EndMicros { get; }

    /// <summary>Index of the largest score (the first, on ties).</summary>
    public int ClassIndex { get; }

    /// <summary>The model's first output, dequantized when it is int8/uint8.</summary>
    public ReadOnlySpan<float> Scores { get; }
}

/// <summary>Acts on inferences. Called on the loop's thread; an implementation must not allocate per call.</summary>
public interface IInferenceSink
{
    void OnInference(in InferenceResult result);

    /// <summary>Called once when the loop stops, so buffered output reaches its destination.</summary>
    void Flush();
}
