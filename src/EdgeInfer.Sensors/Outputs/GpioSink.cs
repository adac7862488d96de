using System.Device.Gpio;

namespace EdgeInfer.Sensors.Outputs;

/// <summary>A digital output pin. Implementations write the hardware only when asked; no caching here.</summary>
public interface IDigitalOutput : IDisposable
{
    void Write(bool active);
}

/// <summary>
/// A GPIO line through System.Device.Gpio (the Linux character device, /dev/gpiochipN). The pin is opened as an
/// output and driven inactive at construction, and driven inactive again and closed at Dispose.
/// Ownership: owns the controller when <c>shouldDispose</c> is true.
/// </summary>
public sealed class GpioPinOutput : IDigitalOutput
{
    private readonly GpioController _controller;
    private readonly int _pin;
    private readonly bool _activeLow;
    private readonly bool _shouldDispose;
    private bool _disposed;

    public GpioPinOutput(GpioController controller, int pin, bool activeLow = false, bool shouldDispose = true)
    {
        ArgumentNullException.ThrowIfNull(controller);
        _controller = controller;
        _pin = pin;
        _activeLow = activeLow;
        _shouldDispose = shouldDispose;
        _controller.OpenPin(pin, PinMode.Output);
        Write(false);
    }

    public void Write(bool active) => _controller.Write(_pin, active != _activeLow ? PinValue.High : PinValue.Low);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Write(false);
            _controller.ClosePin(_pin);
        }
        finally
        {
            if (_shouldDispose)
            {
                _controller.Dispose();
            }
        }
    }
}

/// <summary>
/// Drives a pin from each inference: active while the predicted class is <see cref="ClassIndex"/>, or while the
/// score at <see cref="ScoreIndex"/> is at least <see cref="Threshold"/>. Writes only when the state changes.
/// </summary>
public sealed class GpioSink : IInferenceSink, IDisposable
{
    private readonly IDigitalOutput _output;
    private bool? _state;

    private GpioSink(IDigitalOutput output, int classIndex, int scoreIndex, float threshold)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        ClassIndex = classIndex;
        ScoreIndex = scoreIndex;
        Threshold = threshold;
    }

    /// <summary>The class that drives the pin active, or −1 for a threshold rule.</summary>
    public int ClassIndex { get; }

    /// <summary>The score compared with <see cref="Threshold"/>, or −1 for a class rule.</summary>
    public int ScoreIndex { get; }

    public float Threshold { get; }

    /// <summary>Pin state after the last inference (null before the first).</summary>
    public bool? State => _state;

    /// <summary>Number of writes to the pin.</summary>
    public long Writes { get; private set; }

    public static GpioSink ForClass(IDigitalOutput output, int classIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(classIndex);
        return new GpioSink(output, classIndex, -1, 0f);
    }

    public static GpioSink ForThreshold(IDigitalOutput output, int scoreIndex, float threshold)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(scoreIndex);
        if (!float.IsFinite(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), "the threshold must be finite");
        }

        return new GpioSink(output, -1, scoreIndex, threshold);
    }

    public void OnInference(in InferenceResult result)
    {
        bool active = ClassIndex >= 0
            ? result.ClassIndex == ClassIndex
            : (uint)ScoreIndex < (uint)result.Scores.Length && result.Scores[ScoreIndex] >= Threshold;
        if (_state != active)
        {
            _output.Write(active);
            _state = active;
            Writes++;
        }
    }

    public void Flush()
    {
    }

    public void Dispose() => _output.Dispose();
}
