using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace EdgeInfer.Format;

/// <summary>
/// Builds a .eim file. Tensors and nodes are added in execution order; the caller (the converter's emitter)
/// has already planned the arena and passes each activation's offset. <see cref="ToArray"/> lays the sections out
/// 64-byte aligned with zero padding and writes every hash, so the result always passes <see cref="ModelReader"/>
/// when the graph itself is well formed.
/// </summary>
public sealed class ModelWriter
{
    private readonly List<byte[]> _tensorRecords = [];
    private readonly List<byte[]> _nodeRecords = [];
    private readonly List<uint> _edges = [];
    private readonly MemoryStream _options = new();
    private readonly MemoryStream _strings = new();
    private readonly Dictionary<string, uint> _stringOffsets = new(StringComparer.Ordinal);
    private readonly MemoryStream _weights = new();
    private readonly List<QuantizationInfo> _quant = [];
    private readonly List<(uint Key, uint Value)> _metadata = [];
    private readonly List<uint> _inputs = [];
    private readonly List<uint> _outputs = [];
    private readonly uint _name;
    private bool _anyQuantized;
    private bool _anySparse;

    public ModelWriter(string modelName)
    {
        _name = AddString(modelName);
    }

    /// <summary>Bytes of the activation arena; every arena tensor must fit inside it.</summary>
    public long ArenaBytes { get; set; }

    public int TensorCount => _tensorRecords.Count;

    public int AddArenaTensor(string name, DataType type, ReadOnlySpan<int> shape, long arenaOffset, QuantizationInfo? quantization = null)
        => AddTensor(name, type, shape, TensorStorage.Arena, arenaOffset, quantization);

    /// <summary>Adds a tensor its producing node computes once at load time from constants (kept outside the arena).</summary>
    public int AddDerivedTensor(string name, DataType type, ReadOnlySpan<int> shape, QuantizationInfo? quantization = null)
        => AddTensor(name, type, shape, TensorStorage.Derived, 0, quantization);

    /// <summary>Adds a constant; <paramref name="data"/> is copied into WGHT at the next 64-byte boundary.</summary>
    public int AddConstant(string name, DataType type, ReadOnlySpan<int> shape, ReadOnlySpan<byte> data, QuantizationInfo? quantization = null)
    {
        long expected = ElementCount(shape) * DataTypes.SizeOf(type);
        if (data.Length != expected)
        {
            throw new ArgumentException($"constant '{name}' has {data.Length} bytes, its shape and type need {expected}", nameof(data));
        }

        Pad(_weights, FormatConstants.Alignment);
        long offset = _weights.Length;
        _weights.Write(data);
        return AddTensor(name, type, shape, TensorStorage.Constant, offset, quantization);
    }

    /// <summary>
    /// Adds a constant stored block-sparse: <paramref name="dense"/> (the whole tensor) is encoded in
    /// <paramref name="layout"/> (from <see cref="SparseBlocks.Measure"/> on the same bytes) into WGHT at the next
    /// 64-byte boundary. Readers and kernels see the same tensor as <see cref="AddConstant"/> would give.
    /// </summary>
    public int AddSparseConstant(string name, DataType type, ReadOnlySpan<int> shape, ReadOnlySpan<byte> dense, SparseLayout layout,
        QuantizationInfo? quantization = null)
    {
        if (type is not (DataType.Float32 or DataType.Int8))
        {
            throw new ArgumentException($"constant '{name}': only float32 and int8 constants may be stored sparse", nameof(type));
        }

        byte[] stored = SparseBlocks.Encode(dense, layout, DataTypes.SizeOf(type));
        Pad(_weights, FormatConstants.Alignment);
        long offset = _weights.Length;
        _weights.Write(stored);
        _anySparse = true;
        return AddTensor(name, type, shape, TensorStorage.Constant, offset, quantization, stored.Length, layout.AuxiliaryField);
    }

    /// <summary>Adds a node; a negative input index marks an absent optional input.</summary>
    public int AddNode(OpCode op, string name, ReadOnlySpan<int> inputs, ReadOnlySpan<int> outputs, IOpOptions? options = null)
    {
        int size = options?.ByteSize ?? 0;
        if (size != OpCodes.OptionsSize(op))
        {
            throw new ArgumentException($"{op} takes {OpCodes.OptionsSize(op)} bytes of options, got {size}", nameof(options));
        }

        Pad(_options, 4);
        uint optionsOffset = (uint)_options.Length;
        if (options is not null)
        {
            var buffer = new byte[size];
            options.Write(buffer);
            _options.Write(buffer);
        }

        var r = new byte[FormatConstants.NodeRecordSize];
        BinaryPrimitives.WriteUInt16LittleEndian(r, (ushort)op);
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(4), checked((ushort)inputs.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(6), checked((ushort)outputs.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), (uint)_edges.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(12), optionsOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(16), (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(20), AddString(name));
        foreach (int t in inputs)
        {
            _edges.Add(t < 0 ? FormatConstants.NoIndex : (uint)t);
        }

        foreach (int t in outputs)
        {
            _edges.Add((uint)t);
        }

        _nodeRecords.Add(r);
        return _nodeRecords.Count - 1;
    }

    public void AddInput(int tensor) => _inputs.Add((uint)tensor);

    public void AddOutput(int tensor) => _outputs.Add((uint)tensor);

    public void AddMetadata(string key, string value) => _metadata.Add((AddString(key), AddString(value)));

    /// <summary>Lays out and hashes the whole file.</summary>
    public byte[] ToArray()
    {
        var sections = new List<(SectionKind Kind, byte[] Data)>
        {
            (SectionKind.Graph, GraphSection()),
            (SectionKind.Tensors, Concat(_tensorRecords)),
            (SectionKind.Nodes, Concat(_nodeRecords)),
            (SectionKind.Edges, U32Array(_edges)),
            (SectionKind.Options, _options.ToArray()),
            (SectionKind.Strings, _strings.ToArray()),
        };
        if (_quant.Count > 0)
        {
            sections.Add((SectionKind.Quantization, QuantSection()));
        }

        if (_metadata.Count > 0)
        {
            var meta = new byte[4 + 8 * _metadata.Count];
            BinaryPrimitives.WriteUInt32LittleEndian(meta, (uint)_metadata.Count);
            for (int i = 0; i < _metadata.Count; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(meta.AsSpan(4 + 8 * i), _metadata[i].Key);
                BinaryPrimitives.WriteUInt32LittleEndian(meta.AsSpan(8 + 8 * i), _metadata[i].Value);
            }

            sections.Add((SectionKind.Metadata, meta));
        }

        sections.Add((SectionKind.Weights, _weights.ToArray()));

        int headerLength = FormatConstants.HeaderSize + sections.Count * FormatConstants.SectionEntrySize;
        long position = FormatConstants.AlignUp(headerLength);
        var offsets = new long[sections.Count];
        for (int i = 0; i < sections.Count; i++)
        {
            offsets[i] = position;
            position = FormatConstants.AlignUp(position + sections[i].Data.Length);
        }

        // The file ends where the last section ends; only the gaps between sections are padded.
        long fileLength = offsets[^1] + sections[^1].Data.Length;
        if (fileLength > int.MaxValue)
        {
            throw new InvalidOperationException($"model of {fileLength} bytes exceeds the 2 GiB format limit");
        }

        var file = new byte[fileLength];
        Span<byte> f = file;
        FormatConstants.Magic.CopyTo(f);
        BinaryPrimitives.WriteUInt16LittleEndian(f[8..], FormatConstants.VersionMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(f[10..], _anySparse ? FormatConstants.SparseVersionMinor : FormatConstants.VersionMinor);
        BinaryPrimitives.WriteUInt32LittleEndian(f[12..], (uint)headerLength);
        ModelFlags flags = (_anyQuantized ? ModelFlags.HasQuantizedTensors : ModelFlags.None)
            | (_anySparse ? ModelFlags.HasSparseTensors : ModelFlags.None);
        BinaryPrimitives.WriteUInt32LittleEndian(f[16..], (uint)flags);
        BinaryPrimitives.WriteUInt32LittleEndian(f[20..], (uint)sections.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(f[24..], (ulong)fileLength);
        for (int i = 0; i < sections.Count; i++)
        {
            byte[] data = sections[i].Data;
            data.CopyTo(f[(int)offsets[i]..]);
            Span<byte> e = f.Slice(FormatConstants.HeaderSize + i * FormatConstants.SectionEntrySize, FormatConstants.SectionEntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)sections[i].Kind);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)SectionFlags.Critical);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], (ulong)offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], (ulong)data.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(e[24..], Crc64.HashToUInt64(data));
        }

        BinaryPrimitives.WriteUInt64LittleEndian(f[56..], ModelReader.HeaderHash(f[..headerLength]));
        return file;
    }

    private int AddTensor(string name, DataType type, ReadOnlySpan<int> shape, TensorStorage storage, long offset, QuantizationInfo? q,
        long storedBytes = -1, uint auxiliary = FormatConstants.NoIndex)
    {
        if (shape.Length > FormatConstants.MaxRank)
        {
            throw new ArgumentException($"tensor '{name}' has rank {shape.Length}, above {FormatConstants.MaxRank}", nameof(shape));
        }

        var r = new byte[FormatConstants.TensorRecordSize];
        BinaryPrimitives.WriteUInt32LittleEndian(r, AddString(name));
        r[4] = (byte)type;
        r[5] = (byte)shape.Length;
        r[6] = (byte)storage;
        for (int i = 0; i < shape.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(8 + 4 * i), shape[i]);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(40), (ulong)offset);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(48), (ulong)(storedBytes >= 0 ? storedBytes : ElementCount(shape) * DataTypes.SizeOf(type)));
        uint quantIndex = FormatConstants.NoIndex;
        if (q is not null)
        {
            _quant.Add(q);
            quantIndex = (uint)(_quant.Count - 1);
            _anyQuantized = true;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(56), quantIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(60), auxiliary);
        _tensorRecords.Add(r);
        return _tensorRecords.Count - 1;
    }

    private byte[] GraphSection()
    {
        var g = new byte[FormatConstants.GraphHeaderSize + 4 * (_inputs.Count + _outputs.Count)];
        BinaryPrimitives.WriteUInt32LittleEndian(g, (uint)_tensorRecords.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(4), (uint)_nodeRecords.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(8), (uint)_inputs.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(12), (uint)_outputs.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(g.AsSpan(16), (ulong)ArenaBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(24), _name);
        int at = FormatConstants.GraphHeaderSize;
        foreach (uint t in _inputs.Concat(_outputs))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(at), t);
            at += 4;
        }

        return g;
    }

    /// <summary>
    /// The records, then the runs they point at. A run is stored once however many records use it: symmetric int8
    /// weights and int32 biases all have zero points of 0, so their records share one block of zeros (as long as the
    /// widest of them), and tensors that share a quantization (a Reshape's input and output) share their scales.
    /// </summary>
    private byte[] QuantSection()
    {
        int records = 8 + _quant.Count * FormatConstants.QuantRecordSize;
        var data = new List<byte>();
        var runs = new Dictionary<string, int>(StringComparer.Ordinal);
        int zeros = _quant.Where(q => q.ZeroPoints.All(z => z == 0)).Select(q => q.ZeroPoints.Length).DefaultIfEmpty(0).Max();
        int zerosAt = records;
        data.AddRange(new byte[4 * zeros]);

        int Run(ReadOnlySpan<byte> bytes)
        {
            string key = Convert.ToHexString(bytes);
            if (!runs.TryGetValue(key, out int at))
            {
                at = records + data.Count;
                data.AddRange(bytes);
                runs.Add(key, at);
            }

            return at;
        }

        var header = new byte[records];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)_quant.Count);
        for (int i = 0; i < _quant.Count; i++)
        {
            QuantizationInfo q = _quant[i];
            var scales = new byte[4 * q.Scales.Length];
            var zeroPoints = new byte[4 * q.Scales.Length];
            for (int c = 0; c < q.Scales.Length; c++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(scales.AsSpan(4 * c), q.Scales[c]);
                BinaryPrimitives.WriteInt32LittleEndian(zeroPoints.AsSpan(4 * c), q.ZeroPoints[c]);
            }

            Span<byte> r = header.AsSpan(8 + i * FormatConstants.QuantRecordSize);
            BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)q.Scales.Length);
            BinaryPrimitives.WriteInt32LittleEndian(r[4..], q.Axis);
            BinaryPrimitives.WriteUInt32LittleEndian(r[8..], (uint)Run(scales));
            BinaryPrimitives.WriteUInt32LittleEndian(r[12..], (uint)(q.ZeroPoints.All(z => z == 0) ? zerosAt : Run(zeroPoints)));
        }

        return [.. header, .. data];
    }

    private uint AddString(string value)
    {
        if (_stringOffsets.TryGetValue(value, out uint at))
        {
            return at;
        }

        at = (uint)_strings.Length;
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)utf8.Length);
        _strings.Write(length);
        _strings.Write(utf8);
        Pad(_strings, 4);
        _stringOffsets[value] = at;
        return at;
    }

    private static long ElementCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            n = checked(n * d);
        }

        return n;
    }

    private static void Pad(MemoryStream s, int alignment)
    {
        while (s.Length % alignment != 0)
        {
            s.WriteByte(0);
        }
    }

    private static byte[] Concat(List<byte[]> records)
    {
        var all = new byte[records.Sum(r => r.Length)];
        int at = 0;
        foreach (byte[] r in records)
        {
            r.CopyTo(all, at);
            at += r.Length;
        }

        return all;
    }

    private static byte[] U32Array(List<uint> values)
    {
        var a = new byte[values.Count * 4];
        for (int i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(a.AsSpan(4 * i), values[i]);
        }

        return a;
    }
}
