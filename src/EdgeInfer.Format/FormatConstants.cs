namespace EdgeInfer.Format;

/// <summary>Fixed facts of the .eim container; docs/format.md is their prose form.</summary>
public static class FormatConstants
{
    /// <summary>
    /// 0x89 'E' 'I' 'M' '\r' '\n' 0x1A '\n'. As in PNG, the high first byte catches 7-bit transfers and the
    /// CR-LF / Ctrl-Z / LF tail catches text-mode newline conversion, before any hash is even computed.
    /// </summary>
    public static ReadOnlySpan<byte> Magic => [0x89, (byte)'E', (byte)'I', (byte)'M', 0x0D, 0x0A, 0x1A, 0x0A];

    public const ushort VersionMajor = 1;
    public const ushort VersionMinor = 0;

    /// <summary>
    /// The minor version of files with sparse constants (1.1). A 1.0 reader refuses them by their tensor records'
    /// auxiliary field; dense files keep writing 1.0, byte for byte as before.
    /// </summary>
    public const ushort SparseVersionMinor = 1;

    public const int HeaderSize = 64;
    public const int SectionEntrySize = 32;
    public const int TensorRecordSize = 64;
    public const int NodeRecordSize = 32;
    public const int QuantRecordSize = 16;
    public const int GraphHeaderSize = 32;

    /// <summary>Every section, every constant inside WGHT and every arena offset is a multiple of this.</summary>
    public const int Alignment = 64;

    public const int MaxRank = 8;
    public const int MaxSections = 64;

    /// <summary>Upper bounds that keep a hostile file from making the loader allocate or loop without end.</summary>
    public const int MaxTensors = 1 << 20;
    public const int MaxNodes = 1 << 20;
    public const int MaxNodeEdges = 1 << 16;
    public const long MaxArenaBytes = 1L << 31;
    public const long MaxTensorElements = int.MaxValue;

    /// <summary>Marks an absent optional input (e.g. a convolution without bias) or an absent reference.</summary>
    public const uint NoIndex = uint.MaxValue;

    public static long AlignUp(long value) => (value + (Alignment - 1)) & ~(long)(Alignment - 1);
}

/// <summary>Section kinds: four ASCII characters read as a little-endian uint32.</summary>
public enum SectionKind : uint
{
    /// <summary>Graph header: counts, arena size, graph inputs and outputs.</summary>
    Graph = 'G' | ('R' << 8) | ('P' << 16) | ('H' << 24),
    Tensors = 'T' | ('E' << 8) | ('N' << 16) | ('S' << 24),
    Nodes = 'N' | ('O' << 8) | ('D' << 16) | ('E' << 24),
    /// <summary>uint32 tensor indices: each node's inputs then outputs.</summary>
    Edges = 'E' | ('D' << 8) | ('G' << 16) | ('E' << 24),
    Options = 'O' | ('P' << 8) | ('T' << 16) | ('S' << 24),
    Strings = 'S' | ('T' << 8) | ('R' << 16) | ('S' << 24),
    Quantization = 'Q' | ('N' << 8) | ('T' << 16) | ('Z' << 24),
    Weights = 'W' | ('G' << 8) | ('H' << 16) | ('T' << 24),
    /// <summary>Key/value strings about the model (producer, source, labels). Not needed to run.</summary>
    Metadata = 'M' | ('E' << 8) | ('T' << 16) | ('A' << 24),
    /// <summary>The signature of a signed model (<see cref="ModelSignature"/>): always the last section.</summary>
    Signature = 'S' | ('I' << 8) | ('G' << 16) | ('N' << 24),
}

[Flags]
public enum SectionFlags : uint
{
    None = 0,
    /// <summary>A reader that does not know this section's kind must refuse the file.</summary>
    Critical = 1,
}

/// <summary>Header flags. Bits 0-15 describe; bits 16-31 are requirements a reader must understand.</summary>
[Flags]
public enum ModelFlags : uint
{
    None = 0,
    HasQuantizedTensors = 1 << 0,
    HasSparseTensors = 1 << 1,
    Signed = 1 << 2,
    /// <summary>Mask of requirement bits; any set bit this reader does not know rejects the file.</summary>
    RequiredMask = 0xFFFF_0000,
}

/// <summary>Where a tensor's bytes live.</summary>
public enum TensorStorage : byte
{
    /// <summary>In the interpreter's arena at the recorded offset (activations, graph inputs and outputs).</summary>
    Arena = 0,
    /// <summary>In the WGHT section at the recorded offset, used in place.</summary>
    Constant = 1,
    /// <summary>
    /// Computed once, when the interpreter is built, by the node that produces it from constants (for example the
    /// float weights of a weight-only int8 model); kept outside the arena; offset 0.
    /// </summary>
    Derived = 2,
}

public static class SectionKinds
{
    public static string Name(uint kind)
    {
        Span<char> c = stackalloc char[4];
        for (int i = 0; i < 4; i++)
        {
            char ch = (char)((kind >> (8 * i)) & 0xFF);
            c[i] = ch is >= ' ' and <= '~' ? ch : '?';
        }

        return new string(c);
    }
}
