using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.Hashing;
using System.Text;

namespace EdgeInfer.Format;

/// <summary>
/// Reads and validates a .eim file held in a span. Nothing is trusted before it is checked, in this order:
/// <list type="number">
/// <item>the header: length, magic, version, requirement flags, header length, section count, file length;</item>
/// <item>the header hash (CRC-64 over the header and section table);</item>
/// <item>the section table: alignment, bounds, order, no overlap, known critical kinds, one of each kind;</item>
/// <item>every section's hash, and that every byte outside the sections (padding) is zero; a SIGN section's
/// placement and fields (<see cref="ModelSignature"/>), and, when the caller trusts keys, the signature;</item>
/// <item>the graph: counts against section lengths before anything is allocated, strings, tensor records
/// (type, rank, dimensions, overflow-checked element counts, byte lengths, storage ranges), quantization,
/// nodes (opcodes, edges, options ranges), topological order, single producers, graph inputs and outputs;</item>
/// <item>the memory plan: every arena tensor inside the arena and aligned, and no two tensors that are alive at
/// the same time sharing bytes.</item>
/// </list>
/// Every refusal is an <see cref="EdgeInferModelException"/>; the reader never indexes, allocates or loops on a
/// size it has not bounded first, so hostile input cannot crash it or make it hang.
/// </summary>
public ref struct ModelReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _source;

    public ModelReader(ReadOnlySpan<byte> data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>Validates the container (steps 1-4) and returns the section table.</summary>
    public readonly SectionInfo[] ReadContainer(out ushort versionMinor, out ModelFlags flags)
    {
        ReadOnlySpan<byte> d = _data;
        if (d.Length < FormatConstants.HeaderSize)
        {
            Fail(ModelError.Truncated, $"file is {d.Length} bytes, shorter than the {FormatConstants.HeaderSize}-byte header");
        }

        if (!d[..8].SequenceEqual(FormatConstants.Magic))
        {
            Fail(ModelError.BadMagic, "not an EdgeInfer model (bad magic bytes)");
        }

        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(d[8..]);
        versionMinor = BinaryPrimitives.ReadUInt16LittleEndian(d[10..]);
        if (major != FormatConstants.VersionMajor)
        {
            Fail(ModelError.UnsupportedVersion, $"format version {major}.{versionMinor} is not supported (this reader knows {FormatConstants.VersionMajor}.x)");
        }

        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(d[12..]);
        flags = (ModelFlags)BinaryPrimitives.ReadUInt32LittleEndian(d[16..]);
        uint sectionCount = BinaryPrimitives.ReadUInt32LittleEndian(d[20..]);
        ulong fileLength = BinaryPrimitives.ReadUInt64LittleEndian(d[24..]);

        if (sectionCount == 0 || sectionCount > FormatConstants.MaxSections)
        {
            Fail(ModelError.HeaderInvalid, $"section count {sectionCount} is outside 1..{FormatConstants.MaxSections}");
        }

        long expectedHeader = FormatConstants.HeaderSize + (long)sectionCount * FormatConstants.SectionEntrySize;
        if (headerLength != expectedHeader)
        {
            Fail(ModelError.HeaderInvalid, $"header length {headerLength} does not match {sectionCount} sections ({expectedHeader})");
        }

        if ((ulong)d.Length < fileLength)
        {
            Fail(ModelError.Truncated, $"file is {d.Length} bytes but its header says {fileLength}");
        }

        if ((ulong)d.Length != fileLength)
        {
            Fail(ModelError.FileLengthMismatch, $"file is {d.Length} bytes but its header says {fileLength}");
        }

        if (headerLength > (ulong)d.Length)
        {
            Fail(ModelError.Truncated, $"section table ends at {headerLength}, past the end of the {d.Length}-byte file");
        }

        ulong storedHeaderHash = BinaryPrimitives.ReadUInt64LittleEndian(d[56..]);
        ulong actualHeaderHash = HeaderHash(d[..(int)headerLength]);
        if (storedHeaderHash != actualHeaderHash)
        {
            Fail(ModelError.HeaderHashMismatch, $"header hash mismatch (stored {storedHeaderHash:x16}, computed {actualHeaderHash:x16}): the file is corrupt or was modified");
        }

        // The hash is good, so the header was written by a writer; still reject fields this reader cannot honour.
        if (((uint)flags & (uint)ModelFlags.RequiredMask) != 0)
        {
            Fail(ModelError.UnsupportedFlags, $"header requires features this reader does not have (flags 0x{(uint)flags:x8})");
        }

        for (int i = 32; i < 56; i++)
        {
            if (d[i] != 0)
            {
                Fail(ModelError.HeaderInvalid, $"reserved header byte {i} is not zero");
            }
        }

        var sections = new SectionInfo[sectionCount];
        long previousEnd = FormatConstants.AlignUp(headerLength);
        ZeroCheck(d, (int)headerLength, (int)Math.Min(previousEnd, d.Length), "after the section table");
        for (int i = 0; i < sectionCount; i++)
        {
            ReadOnlySpan<byte> e = d.Slice(FormatConstants.HeaderSize + i * FormatConstants.SectionEntrySize, FormatConstants.SectionEntrySize);
            uint kind = BinaryPrimitives.ReadUInt32LittleEndian(e);
            var sflags = (SectionFlags)BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            ulong hash = BinaryPrimitives.ReadUInt64LittleEndian(e[24..]);
            string name = SectionKinds.Name(kind);

            if (offset % FormatConstants.Alignment != 0)
            {
                Fail(ModelError.SectionMisaligned, $"section {name} starts at {offset}, not a multiple of {FormatConstants.Alignment}");
            }

            if (offset > fileLength || length > fileLength - offset)
            {
                Fail(ModelError.SectionOutOfRange, $"section {name} [{offset}, +{length}) runs past the end of the {fileLength}-byte file");
            }

            if ((long)offset < previousEnd)
            {
                Fail(ModelError.SectionOverlap, $"section {name} at {offset} overlaps the header or the section before it (sections must be in file order)");
            }

            ZeroCheck(d, (int)previousEnd, (int)offset, $"before section {name}");

            for (int j = 0; j < i; j++)
            {
                if ((uint)sections[j].Kind == kind)
                {
                    Fail(ModelError.DuplicateSection, $"section {name} appears twice");
                }
            }

            if (!IsKnownSection(kind) && (sflags & SectionFlags.Critical) != 0)
            {
                Fail(ModelError.UnknownCriticalSection, $"section {name} is marked critical but this reader does not know it");
            }

            if (((uint)sflags & ~(uint)SectionFlags.Critical) != 0)
            {
                Fail(ModelError.SectionTableInvalid, $"section {name} has unknown flags 0x{(uint)sflags:x}");
            }

            ulong actual = Crc64.HashToUInt64(d.Slice((int)offset, (int)length));
            if (actual != hash)
            {
                Fail(ModelError.SectionHashMismatch, $"section {name} hash mismatch (stored {hash:x16}, computed {actual:x16}): the file is corrupt or was modified");
            }

            sections[i] = new SectionInfo((SectionKind)kind, sflags, (long)offset, (long)length, hash);
            previousEnd = (long)(offset + length);
        }

        ZeroCheck(d, (int)previousEnd, d.Length, "after the last section");
        ModelSignature.CheckPlacement(d, sections, flags, _source);
        return sections;
    }

    /// <summary>
    /// Validates everything (steps 1-6) and returns the graph. With trusted keys in <paramref name="options"/>, the
    /// signature is checked between the container and the graph, so no graph byte is parsed before it is trusted.
    /// </summary>
    public readonly ModelGraph ReadGraph(ModelLoadOptions? options = null)
    {
        SectionInfo[] sections = ReadContainer(out ushort minor, out ModelFlags flags);
        if (options is { RequiresSignature: true })
        {
            ModelSignature.Verify(_data, sections, options.TrustedKeys, _source);
        }

        ReadOnlySpan<byte> grph = Required(sections, SectionKind.Graph);
        ReadOnlySpan<byte> tens = Required(sections, SectionKind.Tensors);
        ReadOnlySpan<byte> node = Required(sections, SectionKind.Nodes);
        ReadOnlySpan<byte> edge = Required(sections, SectionKind.Edges);
        ReadOnlySpan<byte> opts = Required(sections, SectionKind.Options);
        ReadOnlySpan<byte> strs = Required(sections, SectionKind.Strings);
        ReadOnlySpan<byte> wght = Required(sections, SectionKind.Weights);
        ReadOnlySpan<byte> qntz = Optional(sections, SectionKind.Quantization);
        ReadOnlySpan<byte> meta = Optional(sections, SectionKind.Metadata);

        if (grph.Length < FormatConstants.GraphHeaderSize)
        {
            Fail(ModelError.RecordInvalid, $"GRPH section is {grph.Length} bytes, shorter than its {FormatConstants.GraphHeaderSize}-byte header");
        }

        uint tensorCount = U32(grph, 0);
        uint nodeCount = U32(grph, 4);
        uint inputCount = U32(grph, 8);
        uint outputCount = U32(grph, 12);
        ulong arenaBytes = BinaryPrimitives.ReadUInt64LittleEndian(grph[16..]);
        uint nameRef = U32(grph, 24);
        if (U32(grph, 28) != 0)
        {
            Fail(ModelError.RecordInvalid, "GRPH reserved field is not zero");
        }

        if (tensorCount > FormatConstants.MaxTensors || (ulong)tens.Length != (ulong)tensorCount * FormatConstants.TensorRecordSize)
        {
            Fail(ModelError.CountOutOfRange, $"tensor count {tensorCount} does not match the TENS section ({tens.Length} bytes)");
        }

        if (nodeCount > FormatConstants.MaxNodes || (ulong)node.Length != (ulong)nodeCount * FormatConstants.NodeRecordSize)
        {
            Fail(ModelError.CountOutOfRange, $"node count {nodeCount} does not match the NODE section ({node.Length} bytes)");
        }

        if (inputCount == 0 || outputCount == 0 || inputCount > tensorCount || outputCount > tensorCount
            || (ulong)grph.Length != FormatConstants.GraphHeaderSize + 4UL * (inputCount + outputCount))
        {
            Fail(ModelError.CountOutOfRange, $"graph declares {inputCount} inputs and {outputCount} outputs, which does not fit the GRPH section ({grph.Length} bytes) or the {tensorCount} tensors");
        }

        if (arenaBytes > FormatConstants.MaxArenaBytes)
        {
            Fail(ModelError.ArenaTooLarge, $"arena of {arenaBytes} bytes exceeds the {FormatConstants.MaxArenaBytes}-byte limit");
        }

        if (edge.Length % 4 != 0)
        {
            Fail(ModelError.RecordInvalid, $"EDGE section length {edge.Length} is not a multiple of 4");
        }

        string modelName = ReadString(strs, nameRef, "model name");
        QuantizationInfo?[] quant = ReadQuantization(qntz);

        // Tensors.
        var tensors = new TensorInfo[tensorCount];
        Span<int> dims = stackalloc int[FormatConstants.MaxRank];
        bool anyQuantized = false;
        bool anySparse = false;
        for (int i = 0; i < tensorCount; i++)
        {
            ReadOnlySpan<byte> r = tens.Slice(i * FormatConstants.TensorRecordSize, FormatConstants.TensorRecordSize);
            string name = ReadString(strs, U32(r, 0), $"tensor {i} name");
            var type = (DataType)r[4];
            int rank = r[5];
            var storage = (TensorStorage)r[6];
            string where = $"tensor {i} '{name}'";
            if (!DataTypes.IsKnown(type))
            {
                Fail(ModelError.UnknownDataType, $"{where} has unknown data type {(byte)type}");
            }

            if (rank > FormatConstants.MaxRank)
            {
                Fail(ModelError.RankTooLarge, $"{where} has rank {rank}, above {FormatConstants.MaxRank}");
            }

            if (storage is not (TensorStorage.Arena or TensorStorage.Constant or TensorStorage.Derived) || r[7] != 0)
            {
                Fail(ModelError.RecordInvalid, $"{where} has unknown storage {(byte)storage} or flags {r[7]}");
            }

            long elements = 1;
            for (int k = 0; k < FormatConstants.MaxRank; k++)
            {
                int dim = BinaryPrimitives.ReadInt32LittleEndian(r[(8 + 4 * k)..]);
                if (k >= rank)
                {
                    if (dim != 0)
                    {
                        Fail(ModelError.RecordInvalid, $"{where} has a non-zero dimension slot beyond its rank");
                    }

                    continue;
                }

                if (dim <= 0)
                {
                    Fail(ModelError.InvalidDimension, $"{where} has dimension {k} = {dim}; dimensions must be positive");
                }

                dims[k] = dim;
                elements *= dim; // both factors are below 2^31 and the product so far is checked below: no overflow
                if (elements > FormatConstants.MaxTensorElements)
                {
                    Fail(ModelError.ShapeOverflow, $"{where} has more than {FormatConstants.MaxTensorElements} elements");
                }
            }

            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(r[40..]);
            ulong byteLength = BinaryPrimitives.ReadUInt64LittleEndian(r[48..]);
            uint quantRef = U32(r, 56);
            uint auxRef = U32(r, 60);
            long expectedBytes = elements * DataTypes.SizeOf(type);
            bool sparse = auxRef != FormatConstants.NoIndex;
            if (sparse && (storage != TensorStorage.Constant || type is not (DataType.Float32 or DataType.Int8)))
            {
                Fail(ModelError.RecordInvalid, $"{where} is stored sparse but only float32 and int8 constants may be");
            }

            if (!sparse && byteLength != (ulong)expectedBytes)
            {
                Fail(ModelError.ByteLengthMismatch, $"{where} records {byteLength} bytes but its shape and type need {expectedBytes}");
            }

            if (offset % FormatConstants.Alignment != 0)
            {
                Fail(ModelError.Misaligned, $"{where} offset {offset} is not a multiple of {FormatConstants.Alignment}");
            }

            if (storage == TensorStorage.Constant)
            {
                if (offset > (ulong)wght.Length || byteLength > (ulong)wght.Length - offset)
                {
                    Fail(ModelError.ConstantOutOfRange, $"{where} data [{offset}, +{byteLength}) lies outside the {wght.Length}-byte WGHT section");
                }
            }
            else if (storage == TensorStorage.Derived)
            {
                if (offset != 0)
                {
                    Fail(ModelError.RecordInvalid, $"{where} is derived at load time and must have offset 0, not {offset}");
                }
            }
            else if (offset > arenaBytes || byteLength > arenaBytes - offset)
            {
                Fail(ModelError.ArenaOffsetOutOfRange, $"{where} arena range [{offset}, +{byteLength}) lies outside the {arenaBytes}-byte arena");
            }

            SparseLayout? layout = null;
            if (sparse)
            {
                // In WGHT (checked above): the stored blocks, validated index by index before anyone reads them.
                layout = SparseBlocks.Validate(auxRef, dims[..rank], elements, DataTypes.SizeOf(type),
                    wght.Slice((int)offset, (int)byteLength), out string? problem);
                if (layout is null)
                {
                    Fail(ModelError.SparseInvalid, $"{where}: {problem}");
                }

                anySparse = true;
            }

            QuantizationInfo? q = null;
            if (quantRef != FormatConstants.NoIndex)
            {
                if (quantRef >= (uint)quant.Length)
                {
                    Fail(ModelError.QuantizationInvalid, $"{where} refers to quantization record {quantRef} of {quant.Length}");
                }

                q = quant[quantRef]!;
                ValidateQuantization(where, type, dims[..rank], q);
                anyQuantized = true;
            }

            tensors[i] = new TensorInfo(i, name, type, dims[..rank].ToArray(), elements, storage, (long)offset, (long)byteLength, q, layout);
        }

        if (anyQuantized != ((flags & ModelFlags.HasQuantizedTensors) != 0))
        {
            Fail(ModelError.HeaderInvalid, "the header's quantized flag does not match the tensors");
        }

        if (anySparse != ((flags & ModelFlags.HasSparseTensors) != 0))
        {
            Fail(ModelError.HeaderInvalid, "the header's sparse flag does not match the tensors");
        }

        // Graph inputs and outputs.
        int[] inputs = ReadIndexList(grph, FormatConstants.GraphHeaderSize, (int)inputCount, (int)tensorCount, "graph input");
        int[] outputs = ReadIndexList(grph, FormatConstants.GraphHeaderSize + 4 * (int)inputCount, (int)outputCount, (int)tensorCount, "graph output");
        foreach (int t in inputs)
        {
            if (tensors[t].Storage != TensorStorage.Arena)
            {
                Fail(ModelError.GraphIoInvalid, $"graph input {tensors[t]} is not an arena tensor");
            }
        }

        // Nodes, in file order, which must be an execution order: every input already exists when a node runs.
        var producer = new int[tensorCount];
        producer.AsSpan().Fill(-2); // -2: nothing produces it yet
        foreach (int t in inputs)
        {
            if (producer[t] == -1)
            {
                Fail(ModelError.GraphIoInvalid, $"graph input {tensors[t]} is listed twice");
            }

            producer[t] = -1; // -1: a graph input
        }

        var nodes = new NodeInfo[nodeCount];
        int edgeCount = edge.Length / 4;
        for (int n = 0; n < nodeCount; n++)
        {
            ReadOnlySpan<byte> r = node.Slice(n * FormatConstants.NodeRecordSize, FormatConstants.NodeRecordSize);
            var op = (OpCode)BinaryPrimitives.ReadUInt16LittleEndian(r);
            ushort nflags = BinaryPrimitives.ReadUInt16LittleEndian(r[2..]);
            int inCount = BinaryPrimitives.ReadUInt16LittleEndian(r[4..]);
            int outCount = BinaryPrimitives.ReadUInt16LittleEndian(r[6..]);
            uint firstEdge = U32(r, 8);
            uint optOffset = U32(r, 12);
            uint optLength = U32(r, 16);
            string name = ReadString(strs, U32(r, 20), $"node {n} name");
            string where = $"node {n} ({op} '{name}')";
            if (!OpCodes.IsKnown(op))
            {
                Fail(ModelError.UnknownOpCode, $"node {n} '{name}' has operator code {(ushort)op}, unknown to this runtime");
            }

            if (nflags != 0 || U32(r, 24) != 0 || U32(r, 28) != 0)
            {
                Fail(ModelError.RecordInvalid, $"{where} has non-zero reserved fields");
            }

            if (outCount == 0 || firstEdge > (uint)edgeCount || (uint)(inCount + outCount) > (uint)edgeCount - firstEdge)
            {
                Fail(ModelError.RecordInvalid, $"{where} edges [{firstEdge}, +{inCount + outCount}) lie outside the {edgeCount} recorded edges (or it has no outputs)");
            }

            if (optLength != (uint)OpCodes.OptionsSize(op) || optOffset % 4 != 0 || optOffset > (uint)opts.Length || optLength > (uint)opts.Length - optOffset)
            {
                Fail(ModelError.OptionsInvalid, $"{where} options [{optOffset}, +{optLength}) are misplaced or not the {OpCodes.OptionsSize(op)} bytes {op} takes");
            }

            var ins = new int[inCount];
            for (int k = 0; k < inCount; k++)
            {
                uint t = U32(edge, (int)(firstEdge + k) * 4);
                if (t == FormatConstants.NoIndex)
                {
                    ins[k] = -1;
                    continue;
                }

                if (t >= tensorCount)
                {
                    Fail(ModelError.TensorReferenceInvalid, $"{where} input {k} refers to tensor {t}, but there are {tensorCount}");
                }

                if (tensors[t].Storage != TensorStorage.Constant && producer[t] == -2)
                {
                    Fail(ModelError.NotTopological, $"{where} input {k} {tensors[t]} is not produced by an earlier node nor a graph input");
                }

                ins[k] = (int)t;
            }

            var outs = new int[outCount];
            for (int k = 0; k < outCount; k++)
            {
                uint t = U32(edge, (int)(firstEdge + inCount + k) * 4);
                if (t >= tensorCount)
                {
                    Fail(ModelError.TensorReferenceInvalid, $"{where} output {k} refers to tensor {t}, but there are {tensorCount}");
                }

                if (tensors[t].Storage == TensorStorage.Constant)
                {
                    Fail(ModelError.TensorReferenceInvalid, $"{where} writes into constant {tensors[t]}");
                }

                if (tensors[t].Storage == TensorStorage.Derived && !ReadsOnlyConstants(ins, tensors))
                {
                    Fail(ModelError.TensorReferenceInvalid, $"{where} produces load-time tensor {tensors[t]} from values that are not constant");
                }

                if (k > 0 && (tensors[t].Storage == TensorStorage.Derived) != (tensors[outs[0]].Storage == TensorStorage.Derived))
                {
                    Fail(ModelError.TensorReferenceInvalid, $"{where} mixes load-time and arena outputs");
                }

                if (producer[t] != -2)
                {
                    Fail(ModelError.TensorProducedTwice, $"{where} output {tensors[t]} is already produced by {(producer[t] == -1 ? "the graph input" : $"node {producer[t]}")}");
                }

                producer[t] = n;
                outs[k] = (int)t;
            }

            nodes[n] = new NodeInfo(n, op, name, ins, outs, (int)optOffset, (int)optLength);
        }

        foreach (int t in outputs)
        {
            if (tensors[t].Storage != TensorStorage.Arena)
            {
                Fail(ModelError.GraphIoInvalid, $"graph output {tensors[t]} is not an arena tensor");
            }

            if (producer[t] == -2)
            {
                Fail(ModelError.GraphIoInvalid, $"graph output {tensors[t]} is produced by no node");
            }
        }

        CheckArenaPlan(tensors, nodes, inputs, outputs);
        KeyValuePair<string, string>[] metadata = ReadMetadata(meta, strs);
        return new ModelGraph(minor, flags, sections, tensors, nodes, inputs, outputs, (long)arenaBytes, modelName, metadata);
    }

    /// <summary>CRC-64 of the header and section table with the stored hash field (bytes 56-63) read as zero.</summary>
    public static ulong HeaderHash(ReadOnlySpan<byte> headerAndTable)
    {
        var crc = new Crc64();
        crc.Append(headerAndTable[..56]);
        crc.Append([0, 0, 0, 0, 0, 0, 0, 0]);
        crc.Append(headerAndTable[64..]);
        return crc.GetCurrentHashAsUInt64();
    }

    private static bool ReadsOnlyConstants(int[] inputs, TensorInfo[] tensors)
    {
        foreach (int t in inputs)
        {
            if (t >= 0 && tensors[t].Storage == TensorStorage.Arena)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsKnownSection(uint kind) => (SectionKind)kind is SectionKind.Graph or SectionKind.Tensors
        or SectionKind.Nodes or SectionKind.Edges or SectionKind.Options or SectionKind.Strings or SectionKind.Quantization
        or SectionKind.Weights or SectionKind.Metadata or SectionKind.Signature;

    /// <summary>
    /// Tensors whose lifetimes intersect must not share arena bytes. Lifetimes run from the producing step to the
    /// last consuming step; graph inputs live from before the first node and graph outputs to after the last.
    /// Sweeps the steps in order, keeping the live ranges in an offset-ordered set; because live ranges are disjoint,
    /// a new range overlaps one of them exactly when it overlaps its neighbour on either side: O(n log n).
    /// </summary>
    private readonly void CheckArenaPlan(TensorInfo[] tensors, NodeInfo[] nodes, int[] inputs, int[] outputs)
    {
        int n = tensors.Length;
        var first = new int[n];
        var last = new int[n];
        first.AsSpan().Fill(int.MaxValue);
        last.AsSpan().Fill(-1);
        int end = nodes.Length + 1;
        foreach (int t in inputs)
        {
            first[t] = 0;
            last[t] = end; // inputs are never overwritten during Invoke
        }

        for (int s = 0; s < nodes.Length; s++)
        {
            foreach (int t in nodes[s].InputArray)
            {
                if (t >= 0 && tensors[t].Storage == TensorStorage.Arena)
                {
                    last[t] = Math.Max(last[t], s + 1);
                }
            }

            foreach (int t in nodes[s].OutputArray)
            {
                first[t] = s + 1;
                last[t] = Math.Max(last[t], s + 1);
            }
        }

        foreach (int t in outputs)
        {
            last[t] = end;
        }

        // A Reshape whose output occupies exactly its input's bytes is a view (the kernel copies nothing): the pair
        // is one buffer, alive for the union of both lifetimes, and only that buffer takes part in the sweep. Any
        // other sharing, or a view of a different size, is still an overlap.
        var viewOf = new int[n];
        for (int t = 0; t < n; t++)
        {
            viewOf[t] = t;
        }

        foreach (NodeInfo node in nodes)
        {
            if (node.OpCode != OpCode.Reshape || node.InputArray.Length == 0 || node.OutputArray.Length != 1 || node.InputArray[0] < 0)
            {
                continue;
            }

            int source = node.InputArray[0], view = node.OutputArray[0];
            if (tensors[source].Storage == TensorStorage.Arena && tensors[view].Storage == TensorStorage.Arena
                && tensors[source].Offset == tensors[view].Offset && tensors[source].ByteLength == tensors[view].ByteLength)
            {
                int root = viewOf[source];
                viewOf[view] = root;
                first[root] = Math.Min(first[root], first[view]);
                last[root] = Math.Max(last[root], last[view]);
            }
        }

        // Events: at each step, retire ranges that ended before it, then admit ranges born at it.
        var bornAt = new List<int>[end + 1];
        var diesAfter = new List<int>[end + 1];
        for (int t = 0; t < n; t++)
        {
            if (tensors[t].Storage != TensorStorage.Arena || first[t] == int.MaxValue || tensors[t].ByteLength == 0 || viewOf[t] != t)
            {
                continue;
            }

            (bornAt[first[t]] ??= []).Add(t);
            (diesAfter[last[t]] ??= []).Add(t);
        }

        // Two sentinels keep every neighbour query non-empty (an empty view's Min/Max is a default value).
        var live = new SortedSet<(long Start, long End, int Tensor)>
        {
            (long.MinValue, long.MinValue, -1),
            (long.MaxValue, long.MaxValue, -1),
        };
        for (int s = 0; s <= end; s++)
        {
            if (s > 0 && diesAfter[s - 1] is { } dying)
            {
                foreach (int t in dying)
                {
                    live.Remove((tensors[t].Offset, tensors[t].Offset + tensors[t].ByteLength, t));
                }
            }

            if (bornAt[s] is not { } born)
            {
                continue;
            }

            foreach (int t in born)
            {
                long start = tensors[t].Offset;
                long stop = start + tensors[t].ByteLength;
                var below = live.GetViewBetween((long.MinValue, long.MinValue, int.MinValue), (start, long.MaxValue, int.MaxValue));
                if (below.Max.End > start)
                {
                    Fail(ModelError.ArenaOverlap, $"{tensors[t]} shares arena bytes with {tensors[below.Max.Tensor]} while both are alive");
                }

                var above = live.GetViewBetween((start, long.MinValue, int.MinValue), (long.MaxValue, long.MaxValue, int.MaxValue));
                if (above.Min.Start < stop)
                {
                    Fail(ModelError.ArenaOverlap, $"{tensors[t]} shares arena bytes with {tensors[above.Min.Tensor]} while both are alive");
                }

                live.Add((start, stop, t));
            }
        }
    }

    private readonly QuantizationInfo?[] ReadQuantization(ReadOnlySpan<byte> q)
    {
        if (q.Length == 0)
        {
            return [];
        }

        if (q.Length < 8)
        {
            Fail(ModelError.QuantizationInvalid, $"QNTZ section is {q.Length} bytes, too short for its count");
        }

        uint count = U32(q, 0);
        if (U32(q, 4) != 0 || count > (uint)(q.Length - 8) / FormatConstants.QuantRecordSize)
        {
            Fail(ModelError.QuantizationInvalid, $"QNTZ declares {count} records, more than its {q.Length} bytes hold");
        }

        var result = new QuantizationInfo?[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> r = q.Slice(8 + i * FormatConstants.QuantRecordSize, FormatConstants.QuantRecordSize);
            uint channels = U32(r, 0);
            int axis = BinaryPrimitives.ReadInt32LittleEndian(r[4..]);
            uint scalesAt = U32(r, 8);
            uint zerosAt = U32(r, 12);
            if (channels == 0 || channels > (uint)q.Length / 4 || axis < -1 || axis >= FormatConstants.MaxRank || (axis == -1 && channels != 1)
                || scalesAt % 4 != 0 || zerosAt % 4 != 0
                || scalesAt > (uint)q.Length || channels * 4 > (uint)q.Length - scalesAt
                || zerosAt > (uint)q.Length || channels * 4 > (uint)q.Length - zerosAt)
            {
                Fail(ModelError.QuantizationInvalid, $"quantization record {i} ({channels} channels, axis {axis}) is malformed or out of range");
            }

            var scales = new float[channels];
            var zeros = new int[channels];
            for (int c = 0; c < channels; c++)
            {
                scales[c] = BinaryPrimitives.ReadSingleLittleEndian(q[(int)(scalesAt + c * 4)..]);
                zeros[c] = BinaryPrimitives.ReadInt32LittleEndian(q[(int)(zerosAt + c * 4)..]);
                if (!float.IsFinite(scales[c]) || scales[c] <= 0)
                {
                    Fail(ModelError.QuantizationInvalid, $"quantization record {i} channel {c} has scale {scales[c]}; scales must be finite and positive");
                }
            }

            result[i] = new QuantizationInfo(scales, zeros, axis);
        }

        return result;
    }

    private readonly void ValidateQuantization(string where, DataType type, ReadOnlySpan<int> shape, QuantizationInfo q)
    {
        if (q.Axis >= shape.Length || (q.Axis >= 0 && shape[q.Axis] != q.Scales.Length))
        {
            Fail(ModelError.QuantizationInvalid, $"{where} has {q.Scales.Length} quantization channels on axis {q.Axis}, which does not match its shape");
        }

        (int lo, int hi) = type switch
        {
            DataType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
            DataType.UInt8 => (byte.MinValue, byte.MaxValue),
            DataType.Int16 => (short.MinValue, short.MaxValue),
            DataType.Int32 => (0, 0), // biases: zero point 0 by definition
            _ => (1, 0), // any zero point is refused: float tensors carry no quantization
        };
        foreach (int z in q.ZeroPoints)
        {
            if (z < lo || z > hi)
            {
                Fail(ModelError.QuantizationInvalid, $"{where} ({DataTypes.Name(type)}) has zero point {z}, outside [{lo}, {hi}]");
            }
        }
    }

    private readonly int[] ReadIndexList(ReadOnlySpan<byte> s, int at, int count, int tensorCount, string what)
    {
        var list = new int[count];
        for (int i = 0; i < count; i++)
        {
            uint t = U32(s, at + 4 * i);
            if (t >= (uint)tensorCount)
            {
                Fail(ModelError.TensorReferenceInvalid, $"{what} {i} refers to tensor {t}, but there are {tensorCount}");
            }

            list[i] = (int)t;
        }

        return list;
    }

    private readonly KeyValuePair<string, string>[] ReadMetadata(ReadOnlySpan<byte> meta, ReadOnlySpan<byte> strs)
    {
        if (meta.Length == 0)
        {
            return [];
        }

        if (meta.Length < 4 || (meta.Length - 4) % 8 != 0 || U32(meta, 0) != (uint)(meta.Length - 4) / 8)
        {
            Fail(ModelError.RecordInvalid, $"META section of {meta.Length} bytes does not hold the pairs it declares");
        }

        int count = (meta.Length - 4) / 8;
        var result = new KeyValuePair<string, string>[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = new(ReadString(strs, U32(meta, 4 + 8 * i), "metadata key"), ReadString(strs, U32(meta, 8 + 8 * i), "metadata value"));
        }

        return result;
    }

    /// <summary>A string is a uint32 byte length then UTF-8 bytes, starting at a 4-aligned offset in STRS.</summary>
    private readonly string ReadString(ReadOnlySpan<byte> strs, uint at, string what)
    {
        if (at == FormatConstants.NoIndex)
        {
            return "";
        }

        if (at % 4 != 0 || at > (uint)strs.Length || (uint)strs.Length - at < 4)
        {
            Fail(ModelError.StringInvalid, $"{what} refers to string offset {at}, outside the {strs.Length}-byte STRS section");
        }

        uint length = U32(strs, (int)at);
        if (length > (uint)strs.Length - at - 4)
        {
            Fail(ModelError.StringInvalid, $"{what} at {at} claims {length} bytes, past the end of STRS");
        }

        try
        {
            return StrictUtf8.GetString(strs.Slice((int)at + 4, (int)length));
        }
        catch (DecoderFallbackException)
        {
            Fail(ModelError.StringInvalid, $"{what} at {at} is not valid UTF-8");
            return "";
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly ReadOnlySpan<byte> Required(SectionInfo[] sections, SectionKind kind)
    {
        foreach (SectionInfo s in sections)
        {
            if (s.Kind == kind)
            {
                return _data.Slice((int)s.Offset, (int)s.Length);
            }
        }

        Fail(ModelError.MissingSection, $"required section {SectionKinds.Name((uint)kind)} is missing");
        return default;
    }

    private readonly ReadOnlySpan<byte> Optional(SectionInfo[] sections, SectionKind kind)
    {
        foreach (SectionInfo s in sections)
        {
            if (s.Kind == kind)
            {
                return _data.Slice((int)s.Offset, (int)s.Length);
            }
        }

        return default;
    }

    private readonly void ZeroCheck(ReadOnlySpan<byte> d, int from, int to, string where)
    {
        if (to > from && d[from..to].IndexOfAnyExcept((byte)0) is int at and >= 0)
        {
            Fail(ModelError.NonZeroPadding, $"padding byte at {from + at} {where} is not zero");
        }
    }

    private static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);

    [DoesNotReturn]
    private readonly void Fail(ModelError error, string problem) => throw new EdgeInferModelException(error, _source, problem);
}
