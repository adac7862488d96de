using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EdgeInfer.Converter.Ir;

/// <summary>The bytes of a constant tensor, little-endian, with typed views.</summary>
public sealed class TensorData
{
    public TensorData(DataType type, byte[] bytes)
    {
        Type = type;
        Bytes = bytes;
    }

    public DataType Type { get; }
    public byte[] Bytes { get; }
    public int Count => Bytes.Length / DataTypes.SizeOf(Type);

    public Span<float> Floats => Type == DataType.Float32 ? MemoryMarshal.Cast<byte, float>(Bytes.AsSpan()) : throw WrongType(DataType.Float32);
    public Span<long> Int64s => Type == DataType.Int64 ? MemoryMarshal.Cast<byte, long>(Bytes.AsSpan()) : throw WrongType(DataType.Int64);
    public Span<int> Int32s => Type == DataType.Int32 ? MemoryMarshal.Cast<byte, int>(Bytes.AsSpan()) : throw WrongType(DataType.Int32);
    public Span<sbyte> Int8s => Type == DataType.Int8 ? MemoryMarshal.Cast<byte, sbyte>(Bytes.AsSpan()) : throw WrongType(DataType.Int8);

    public static TensorData FromFloats(ReadOnlySpan<float> values) => new(DataType.Float32, MemoryMarshal.AsBytes(values).ToArray());

    public static TensorData FromInt64s(ReadOnlySpan<long> values) => new(DataType.Int64, MemoryMarshal.AsBytes(values).ToArray());

    public static TensorData FromInt32s(ReadOnlySpan<int> values) => new(DataType.Int32, MemoryMarshal.AsBytes(values).ToArray());

    public static TensorData FromInt8s(ReadOnlySpan<sbyte> values) => new(DataType.Int8, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Integers stored as <paramref name="type"/> (any integer type or bool), narrowing each value.</summary>
    public static TensorData FromIntegers(DataType type, ReadOnlySpan<long> values)
    {
        var bytes = new byte[values.Length * DataTypes.SizeOf(type)];
        for (int i = 0; i < values.Length; i++)
        {
            long v = values[i];
            switch (type)
            {
                case DataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), v); break;
                case DataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), (int)v); break;
                case DataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(2 * i), (short)v); break;
                case DataType.Int8: bytes[i] = (byte)(sbyte)v; break;
                case DataType.UInt8: bytes[i] = (byte)v; break;
                case DataType.Bool: bytes[i] = v != 0 ? (byte)1 : (byte)0; break;
                default: throw new InvalidOperationException($"{DataTypes.Name(type)} is not an integer type");
            }
        }

        return new TensorData(type, bytes);
    }

    /// <summary>Integer values of an int32/int64/int8 constant, widened; for shape arithmetic and attributes.</summary>
    public long[] ToInt64Array() => Type switch
    {
        DataType.Int64 => Int64s.ToArray(),
        DataType.Int32 => Array.ConvertAll(Int32s.ToArray(), v => (long)v),
        DataType.Int8 => Array.ConvertAll(Int8s.ToArray(), v => (long)v),
        DataType.Int16 => Array.ConvertAll(MemoryMarshal.Cast<byte, short>(Bytes.AsSpan()).ToArray(), v => (long)v),
        DataType.UInt8 or DataType.Bool => Array.ConvertAll(Bytes, v => (long)v),
        DataType.Float32 => Array.ConvertAll(Floats.ToArray(), v => (long)v),
        _ => throw new InvalidOperationException($"cannot read {DataTypes.Name(Type)} as integers"),
    };

    /// <summary>Values of a float or integer constant as floats.</summary>
    public float[] ToFloatArray() => Type switch
    {
        DataType.Float32 => Floats.ToArray(),
        DataType.Int64 => Array.ConvertAll(Int64s.ToArray(), v => (float)v),
        DataType.Int32 => Array.ConvertAll(Int32s.ToArray(), v => (float)v),
        DataType.Int8 or DataType.Int16 or DataType.UInt8 or DataType.Bool => Array.ConvertAll(ToInt64Array(), v => (float)v),
        _ => throw new InvalidOperationException($"cannot read {DataTypes.Name(Type)} as floats"),
    };

    private InvalidOperationException WrongType(DataType wanted) => new($"constant holds {DataTypes.Name(Type)}, not {DataTypes.Name(wanted)}");
}
