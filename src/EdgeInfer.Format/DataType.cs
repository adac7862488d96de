namespace EdgeInfer.Format;

/// <summary>Element type of a tensor. Values are stored in the file: append only, never renumber.</summary>
public enum DataType : byte
{
    Float32 = 1,
    Int8 = 2,
    UInt8 = 3,
    Int16 = 4,
    Int32 = 5,
    Int64 = 6,
    Bool = 7,
}

public static class DataTypes
{
    /// <summary>Bytes per element, or 0 for a value that is not a known type.</summary>
    public static int SizeOf(DataType type) => type switch
    {
        DataType.Float32 => 4,
        DataType.Int8 => 1,
        DataType.UInt8 => 1,
        DataType.Int16 => 2,
        DataType.Int32 => 4,
        DataType.Int64 => 8,
        DataType.Bool => 1,
        _ => 0,
    };

    public static bool IsKnown(DataType type) => SizeOf(type) != 0;

    public static string Name(DataType type) => type switch
    {
        DataType.Float32 => "float32",
        DataType.Int8 => "int8",
        DataType.UInt8 => "uint8",
        DataType.Int16 => "int16",
        DataType.Int32 => "int32",
        DataType.Int64 => "int64",
        DataType.Bool => "bool",
        _ => $"type#{(byte)type}",
    };
}
