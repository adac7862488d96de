namespace EdgeInfer.Format;

/// <summary>Scale and zero point of a quantized tensor: real = Scales[c] · (q − ZeroPoints[c]).</summary>
public sealed class QuantizationInfo
{
    public QuantizationInfo(float[] scales, int[] zeroPoints, int axis)
    {
        Scales = scales;
        ZeroPoints = zeroPoints;
        Axis = axis;
    }

    public float[] Scales { get; }
    public int[] ZeroPoints { get; }

    /// <summary>The channel axis for per-channel parameters; −1 when one scale covers the whole tensor.</summary>
    public int Axis { get; }

    public bool IsPerChannel => Axis >= 0;
}

/// <summary>A tensor as the file describes it. Immutable once the reader has validated it.</summary>
public sealed class TensorInfo
{
    internal TensorInfo(int index, string name, DataType type, int[] shape, long elementCount, TensorStorage storage,
        long offset, long byteLength, QuantizationInfo? quantization, SparseLayout? sparse = null)
    {
        Sparse = sparse;
        Index = index;
        Name = name;
        DataType = type;
        ShapeArray = shape;
        ElementCount = elementCount;
        Storage = storage;
        Offset = offset;
        ByteLength = byteLength;
        Quantization = quantization;
    }

    public int Index { get; }
    public string Name { get; }
    public DataType DataType { get; }
    public ReadOnlySpan<int> Shape => ShapeArray;
    internal int[] ShapeArray { get; }
    public int Rank => ShapeArray.Length;
    public long ElementCount { get; }
    public TensorStorage Storage { get; }

    /// <summary>Arena offset for <see cref="TensorStorage.Arena"/>, offset inside WGHT for constants.</summary>
    public long Offset { get; }
    public long ByteLength { get; }
    public QuantizationInfo? Quantization { get; }

    /// <summary>
    /// The block-sparse layout of a constant stored sparse (its <see cref="ByteLength"/> bytes are then the blocks
    /// and their indices, see <see cref="SparseBlocks"/>); null for every other tensor.
    /// </summary>
    public SparseLayout? Sparse { get; }

    /// <summary>Bytes of the tensor as kernels see it: elements × element size, whether or not it is stored sparse.</summary>
    public long DenseByteLength => ElementCount * DataTypes.SizeOf(DataType);

    public bool IsConstant => Storage == TensorStorage.Constant;

    /// <summary>The dimension at <paramref name="axis"/>, counting from the end when negative.</summary>
    public int Dim(int axis) => ShapeArray[axis < 0 ? ShapeArray.Length + axis : axis];

    public string ShapeText => "[" + string.Join(",", ShapeArray) + "]";

    public override string ToString() => $"#{Index} '{Name}' {DataTypes.Name(DataType)}{ShapeText}";
}

/// <summary>A node: an operator, its tensor edges and its options record.</summary>
public sealed class NodeInfo
{
    internal NodeInfo(int index, OpCode op, string name, int[] inputs, int[] outputs, int optionsOffset, int optionsLength)
    {
        Index = index;
        OpCode = op;
        Name = name;
        InputArray = inputs;
        OutputArray = outputs;
        OptionsOffset = optionsOffset;
        OptionsLength = optionsLength;
    }

    public int Index { get; }
    public OpCode OpCode { get; }
    public string Name { get; }

    /// <summary>Tensor indices; −1 marks an absent optional input.</summary>
    public ReadOnlySpan<int> Inputs => InputArray;
    public ReadOnlySpan<int> Outputs => OutputArray;
    internal int[] InputArray { get; }
    internal int[] OutputArray { get; }

    /// <summary>Byte offset of the options record inside the OPTS section.</summary>
    public int OptionsOffset { get; }
    public int OptionsLength { get; }

    public override string ToString() => $"node {Index} ({OpCode} '{Name}')";
}

/// <summary>One entry of the section table.</summary>
public readonly record struct SectionInfo(SectionKind Kind, SectionFlags Flags, long Offset, long Length, ulong Hash)
{
    public string KindName => SectionKinds.Name((uint)Kind);
}

/// <summary>The validated description of a model: everything the interpreter needs except the bytes themselves.</summary>
public sealed class ModelGraph
{
    internal ModelGraph(ushort versionMinor, ModelFlags flags, SectionInfo[] sections, TensorInfo[] tensors, NodeInfo[] nodes,
        int[] inputs, int[] outputs, long arenaBytes, string name, KeyValuePair<string, string>[] metadata)
    {
        VersionMinor = versionMinor;
        Flags = flags;
        SectionArray = sections;
        TensorArray = tensors;
        NodeArray = nodes;
        InputArray = inputs;
        OutputArray = outputs;
        ArenaBytes = arenaBytes;
        Name = name;
        Metadata = metadata;
    }

    public ushort VersionMinor { get; }
    public ModelFlags Flags { get; }
    public IReadOnlyList<SectionInfo> Sections => SectionArray;
    public IReadOnlyList<TensorInfo> Tensors => TensorArray;
    public IReadOnlyList<NodeInfo> Nodes => NodeArray;
    public ReadOnlySpan<int> Inputs => InputArray;
    public ReadOnlySpan<int> Outputs => OutputArray;
    internal SectionInfo[] SectionArray { get; }
    internal TensorInfo[] TensorArray { get; }
    internal NodeInfo[] NodeArray { get; }
    internal int[] InputArray { get; }
    internal int[] OutputArray { get; }

    /// <summary>Bytes of the activation arena the converter planned.</summary>
    public long ArenaBytes { get; }
    public string Name { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; }

    public SectionInfo Section(SectionKind kind)
    {
        foreach (SectionInfo s in SectionArray)
        {
            if (s.Kind == kind)
            {
                return s;
            }
        }

        return default;
    }

    public string? GetMetadata(string key)
    {
        foreach (var kv in Metadata)
        {
            if (kv.Key == key)
            {
                return kv.Value;
            }
        }

        return null;
    }
}
