using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Quantization;

namespace EdgeInfer.Sensors.Windowing;

/// <summary>How a window's values are ordered in the model input.</summary>
public enum InputLayout
{
    /// <summary>Decide from the input shape: [.., C, W] is channel-major, [.., W, C] sample-major.</summary>
    Auto,

    /// <summary>All of channel 0 over time, then channel 1, … ([1, C, W]; PyTorch Conv1d).</summary>
    ChannelMajor,

    /// <summary>Sample 0's channels, then sample 1's, … ([1, W, C]; channels-last, TFLite).</summary>
    SampleMajor,
}

/// <summary>
/// Writes a window straight into a model's input tensor: normalizes each value per channel, lays the window out in
/// the tensor's order and, for an int8/uint8 input, quantizes with the tensor's scale and zero point (the runtime's
/// rule: round half away from zero, saturate). A float input is written in place; a quantized one goes through one
/// float buffer of the input's size, allocated here, so <see cref="Write"/> never allocates.
/// </summary>
public sealed class WindowPreprocessor
{
    private readonly Normalization _normalization;
    private readonly float[]? _staging;
    private readonly float _scale;
    private readonly int _zeroPoint;

    public WindowPreprocessor(TensorInfo input, int window, int channels, Normalization normalization, InputLayout layout = InputLayout.Auto)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(normalization);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        if (normalization.Channels != channels)
        {
            throw new ArgumentException($"preprocessing has {normalization.Channels} channels, the window {channels}", nameof(normalization));
        }

        if (input.ElementCount != (long)window * channels)
        {
            throw new ArgumentException($"model input {input} holds {input.ElementCount} values; a window of {window} samples × {channels} channels has {(long)window * channels}", nameof(input));
        }

        Window = window;
        Channels = channels;
        Input = input;
        Layout = layout == InputLayout.Auto ? InferLayout(input, window, channels) : layout;
        _normalization = normalization;
        switch (input.DataType)
        {
            case DataType.Float32:
                break;
            case DataType.Int8:
            case DataType.UInt8:
                QuantizationInfo q = input.Quantization
                    ?? throw new ArgumentException($"model input {input} is quantized but has no scale and zero point", nameof(input));
                if (q.IsPerChannel || q.Scales.Length != 1)
                {
                    throw new ArgumentException($"model input {input} is quantized per channel; inputs need one scale", nameof(input));
                }

                _scale = q.Scales[0];
                _zeroPoint = q.ZeroPoints[0];
                _staging = new float[window * channels];
                break;
            default:
                throw new ArgumentException($"model input {input} is {DataTypes.Name(input.DataType)}; sensor windows feed float32, int8 or uint8 inputs", nameof(input));
        }
    }

    public TensorInfo Input { get; }
    public int Window { get; }
    public int Channels { get; }
    public InputLayout Layout { get; }

    /// <summary>Normalizes the window that just ended in <paramref name="buffer"/> into <paramref name="destination"/>, the input tensor's bytes.</summary>
    public void Write(WindowBuffer buffer, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length != Window || buffer.Channels != Channels)
        {
            throw new ArgumentException($"the buffer holds {buffer.Length}×{buffer.Channels}; this preprocessor expects {Window}×{Channels}", nameof(buffer));
        }

        if (destination.Length != Input.ByteLength)
        {
            throw new ArgumentException($"the destination has {destination.Length} bytes; {Input} has {Input.ByteLength}", nameof(destination));
        }

        if (_staging is null)
        {
            Normalize(buffer, MemoryMarshal.Cast<byte, float>(destination));
        }
        else
        {
            Normalize(buffer, _staging);
            QuantizeUtil.Quantize(_staging, _scale, _zeroPoint, Input.DataType, destination);
        }
    }

    private void Normalize(WindowBuffer buffer, Span<float> destination)
    {
        Normalization n = _normalization;
        bool channelMajor = Layout == InputLayout.ChannelMajor;
        for (int t = 0; t < Window; t++)
        {
            ReadOnlySpan<float> sample = buffer.Sample(t);
            for (int c = 0; c < Channels; c++)
            {
                int index = channelMajor ? (c * Window) + t : (t * Channels) + c;
                destination[index] = n.Apply(c, sample[c]);
            }
        }
    }

    private static InputLayout InferLayout(TensorInfo input, int window, int channels)
    {
        if (window == channels || input.Rank < 2)
        {
            // Either order fits; channel-major is what a PyTorch/ONNX Conv1d exports.
            return InputLayout.ChannelMajor;
        }

        int last = input.Dim(-1);
        int second = input.Dim(-2);
        if (second == channels && last == window)
        {
            return InputLayout.ChannelMajor;
        }

        if (second == window && last == channels)
        {
            return InputLayout.SampleMajor;
        }

        // A flattened input ([1, C·W]) carries no layout; channel-major matches the training rows (x0..x63, y0.., z0..).
        return InputLayout.ChannelMajor;
    }
}
