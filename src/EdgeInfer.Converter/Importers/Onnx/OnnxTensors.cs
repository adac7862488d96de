using System.Buffers.Binary;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Importers.Onnx.Proto;

namespace EdgeInfer.Converter.Importers.Onnx;

/// <summary>A tensor read from an ONNX TensorProto: its name (may be empty), shape and data.</summary>
public sealed record OnnxTensor(string Name, int[] Shape, TensorData Data);

/// <summary>
/// Turns ONNX TensorProtos into <see cref="TensorData"/>. Values may sit in raw_data (little-endian) or in the typed
/// repeated fields; float types become float32 (double narrowed, float16/bfloat16 widened), 32- and 64-bit unsigned
/// integers become int64, uint16 becomes int32. Data kept in external files is refused: EdgeInfer converts one
/// self-contained file.
/// </summary>
public static class OnnxTensors
{
    /// <summary>Reads a serialized TensorProto file (the ONNX test-data format, input_0.pb).</summary>
    /// <exception cref="ConversionException">The file is not a TensorProto or holds a type EdgeInfer does not read.</exception>
    public static OnnxTensor ReadFile(string path)
    {
        TensorProto proto;
        try
        {
            proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new ConversionException($"{path}: not an ONNX TensorProto ({e.Message})", e);
        }

        (int[] shape, TensorData data) = Read(proto, path);
        return new OnnxTensor(proto.Name, shape, data);
    }

    /// <summary>The IR element type for an ONNX element type, or null when EdgeInfer has none.</summary>
    internal static DataType? IrType(int onnxType) => (TensorProto.Types.DataType)onnxType switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16
            or TensorProto.Types.DataType.Bfloat16 => DataType.Float32,
        TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Uint64 => DataType.Int64,
        TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint16 => DataType.Int32,
        TensorProto.Types.DataType.Int16 => DataType.Int16,
        TensorProto.Types.DataType.Int8 => DataType.Int8,
        TensorProto.Types.DataType.Uint8 => DataType.UInt8,
        TensorProto.Types.DataType.Bool => DataType.Bool,
        _ => null,
    };

    internal static string OnnxTypeName(int onnxType) => Enum.IsDefined((TensorProto.Types.DataType)onnxType)
        ? ((TensorProto.Types.DataType)onnxType).ToString().ToLowerInvariant() : $"type {onnxType}";

    /// <param name="where">Prefix for error messages (the model file).</param>
    internal static (int[] Shape, TensorData Data) Read(TensorProto t, string where)
    {
        string name = t.Name.Length > 0 ? $"tensor '{t.Name}'" : "tensor";
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            string file = t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "?";
            throw new ConversionException($"{where}: {name} keeps its data in the external file '{file}'; EdgeInfer reads self-contained models only (save with onnx.save(model, path, save_as_external_data=False))");
        }

        var shape = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (t.Dims[i] < 0 || t.Dims[i] > int.MaxValue)
            {
                throw new ConversionException($"{where}: {name} has dimension {t.Dims[i]}");
            }

            shape[i] = (int)t.Dims[i];
            count = checked(count * t.Dims[i]);
        }

        if (count > int.MaxValue / 8)
        {
            throw new ConversionException($"{where}: {name} has {count} elements, too many for EdgeInfer");
        }

        int n = (int)count;
        var type = (TensorProto.Types.DataType)t.DataType;
        DataType irType = IrType(t.DataType)
            ?? throw new ConversionException($"{where}: {name} has element type {OnnxTypeName(t.DataType)}, which EdgeInfer does not read");
        ReadOnlySpan<byte> raw = t.HasRawData ? t.RawData.Span : default;
        int elementBytes = type switch
        {
            TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 => 8,
            TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
            TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 => 2,
            _ => 1,
        };
        if (t.HasRawData && raw.Length != (long)n * elementBytes)
        {
            throw new ConversionException($"{where}: {name} has {raw.Length} bytes of raw data; its shape [{string.Join(",", shape)}] and type {OnnxTypeName(t.DataType)} need {(long)n * elementBytes}");
        }

        int typedCount = type switch
        {
            TensorProto.Types.DataType.Float => t.FloatData.Count,
            TensorProto.Types.DataType.Double => t.DoubleData.Count,
            TensorProto.Types.DataType.Int64 => t.Int64Data.Count,
            TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Uint64 => t.Uint64Data.Count,
            _ => t.Int32Data.Count,
        };
        if (!t.HasRawData && typedCount != n)
        {
            throw new ConversionException($"{where}: {name} holds {typedCount} values; its shape [{string.Join(",", shape)}] needs {n}");
        }

        if (irType == DataType.Float32)
        {
            var values = new float[n];
            for (int i = 0; i < n; i++)
            {
                values[i] = type switch
                {
                    TensorProto.Types.DataType.Float => t.HasRawData ? BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]) : t.FloatData[i],
                    TensorProto.Types.DataType.Double => (float)(t.HasRawData ? BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]) : t.DoubleData[i]),
                    TensorProto.Types.DataType.Float16 => (float)BitConverter.UInt16BitsToHalf(t.HasRawData ? BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) : (ushort)t.Int32Data[i]),
                    _ => BitConverter.Int32BitsToSingle((t.HasRawData ? BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) : (ushort)t.Int32Data[i]) << 16),
                };
            }

            return (shape, TensorData.FromFloats(values));
        }

        var ints = new long[n];
        for (int i = 0; i < n; i++)
        {
            ints[i] = type switch
            {
                TensorProto.Types.DataType.Int64 => t.HasRawData ? BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]) : t.Int64Data[i],
                TensorProto.Types.DataType.Uint64 => (long)(t.HasRawData ? BinaryPrimitives.ReadUInt64LittleEndian(raw[(8 * i)..]) : t.Uint64Data[i]),
                TensorProto.Types.DataType.Uint32 => t.HasRawData ? BinaryPrimitives.ReadUInt32LittleEndian(raw[(4 * i)..]) : (long)t.Uint64Data[i],
                TensorProto.Types.DataType.Int32 => t.HasRawData ? BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]) : t.Int32Data[i],
                TensorProto.Types.DataType.Int16 => t.HasRawData ? BinaryPrimitives.ReadInt16LittleEndian(raw[(2 * i)..]) : (short)t.Int32Data[i],
                TensorProto.Types.DataType.Uint16 => t.HasRawData ? BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) : (ushort)t.Int32Data[i],
                TensorProto.Types.DataType.Int8 => t.HasRawData ? (sbyte)raw[i] : (sbyte)t.Int32Data[i],
                TensorProto.Types.DataType.Bool => (t.HasRawData ? raw[i] : t.Int32Data[i]) != 0 ? 1 : 0,
                _ => t.HasRawData ? raw[i] : (byte)t.Int32Data[i],
            };
        }

        return (shape, TensorData.FromIntegers(irType, ints));
    }
}
