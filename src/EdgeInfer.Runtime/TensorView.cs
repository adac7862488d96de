namespace EdgeInfer.Runtime;

/// <summary>
/// A tensor's description and its live bytes inside an interpreter. Borrowed: valid while the interpreter lives.
/// </summary>
public readonly unsafe struct TensorView
{
    private readonly TensorBuffer _buffer;

    internal TensorView(TensorInfo info, TensorBuffer buffer)
    {
        Info = info;
        _buffer = buffer;
    }

    public TensorInfo Info { get; }
    public string Name => Info.Name;
    public DataType DataType => Info.DataType;
    public ReadOnlySpan<int> Shape => Info.Shape;
    public int ElementCount => (int)Info.ElementCount;
    public QuantizationInfo? Quantization => Info.Quantization;

    public Span<byte> Bytes => _buffer.AsSpan<byte>();

    /// <summary>The elements as <typeparamref name="T"/>, which must match <see cref="DataType"/>.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (sizeof(T) != DataTypes.SizeOf(Info.DataType))
        {
            throw new InvalidOperationException($"{Info} cannot be viewed as {typeof(T).Name}");
        }

        return _buffer.AsSpan<T>();
    }

    /// <summary>Writes real values, quantizing them when the tensor is int8/uint8 (round half away from zero, saturate).</summary>
    public void WriteFloats(ReadOnlySpan<float> values)
    {
        if (values.Length != ElementCount)
        {
            throw new ArgumentException($"{Info} takes {ElementCount} values, got {values.Length}", nameof(values));
        }

        switch (Info.DataType)
        {
            case DataType.Float32:
                values.CopyTo(_buffer.AsSpan<float>());
                break;
            case DataType.Int8:
            case DataType.UInt8:
                QuantizationInfo q = Info.Quantization ?? throw new InvalidOperationException($"{Info} has no quantization parameters");
                Runtime.Quantization.QuantizeUtil.Quantize(values, q.Scales[0], q.ZeroPoints[0], Info.DataType, _buffer.AsSpan<byte>());
                break;
            default:
                throw new InvalidOperationException($"{Info} does not hold real values");
        }
    }

    /// <summary>Reads real values, dequantizing an int8/uint8 tensor.</summary>
    public void ReadFloats(Span<float> destination)
    {
        if (destination.Length != ElementCount)
        {
            throw new ArgumentException($"{Info} has {ElementCount} values, destination holds {destination.Length}", nameof(destination));
        }

        switch (Info.DataType)
        {
            case DataType.Float32:
                _buffer.AsReadOnlySpan<float>().CopyTo(destination);
                break;
            case DataType.Int8:
            case DataType.UInt8:
                QuantizationInfo q = Info.Quantization ?? throw new InvalidOperationException($"{Info} has no quantization parameters");
                Runtime.Quantization.QuantizeUtil.Dequantize(_buffer.AsReadOnlySpan<byte>(), q.Scales[0], q.ZeroPoints[0], Info.DataType, destination);
                break;
            default:
                throw new InvalidOperationException($"{Info} does not hold real values");
        }
    }

    public float[] ToFloatArray()
    {
        var values = new float[ElementCount];
        ReadFloats(values);
        return values;
    }
}
