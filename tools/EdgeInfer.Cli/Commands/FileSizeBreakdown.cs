namespace EdgeInfer.Cli.Commands;

/// <summary>
/// Where a .eim file's bytes go: the constants by data type, the quantization parameters, the graph's records, its
/// strings and metadata, the signature, the header with its section table, and the zero padding that aligns sections and constants
/// to 64 bytes. The parts add up to the file length exactly. On a small model the parts other than the constants
/// decide the int8/float size ratio, and this shows by how much.
/// </summary>
internal sealed record FileSizeBreakdown(
    long FileBytes,
    IReadOnlyList<(string Type, long Bytes)> Constants,
    long Quantization,
    long GraphRecords,
    long Strings,
    long Metadata,
    long Signature,
    long HeaderAndTable,
    long Padding)
{
    public long ConstantBytes => Constants.Sum(c => c.Bytes);

    public static FileSizeBreakdown Of(Model model)
    {
        ModelGraph g = model.Graph;
        long Section(params SectionKind[] kinds) => g.Sections.Where(s => kinds.Contains(s.Kind)).Sum(s => s.Length);

        var constants = g.Tensors.Where(t => t.IsConstant)
            .GroupBy(t => t.DataType)
            .Select(k => (DataTypes.Name(k.Key), k.Sum(t => t.ByteLength)))
            .OrderByDescending(c => c.Item2)
            .ToList();
        long constantBytes = constants.Sum(c => c.Item2);
        long quantization = Section(SectionKind.Quantization);
        long records = Section(SectionKind.Graph, SectionKind.Tensors, SectionKind.Nodes, SectionKind.Edges, SectionKind.Options);
        long strings = Section(SectionKind.Strings);
        long metadata = Section(SectionKind.Metadata);
        long signature = Section(SectionKind.Signature);
        long header = FormatConstants.HeaderSize + (long)FormatConstants.SectionEntrySize * g.Sections.Count;
        // Everything else: the WGHT padding between constants, the padding between sections, and any section this
        // reader skips (none today).
        long accounted = constantBytes + quantization + records + strings + metadata + signature + header;
        return new FileSizeBreakdown(model.FileLength, constants, quantization, records, strings, metadata, signature, header,
            model.FileLength - accounted);
    }

    public override string ToString()
    {
        string types = string.Join(", ", Constants.Select(c => $"{c.Type} {c.Bytes:N0}"));
        return $"{FileBytes:N0} B = constants {ConstantBytes:N0} ({types}) + quantization {Quantization:N0}"
            + $" + graph records {GraphRecords:N0} + strings {Strings:N0} + metadata {Metadata:N0}"
            + (Signature > 0 ? $" + signature {Signature:N0}" : "") + $" + header and section table {HeaderAndTable:N0} + alignment padding {Padding:N0}";
    }
}
