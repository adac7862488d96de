using System.Buffers.Binary;
using System.IO.Hashing;
using EdgeInfer.Format;

namespace EdgeInfer.TestSupport;

/// <summary>
/// Edits the inside of a valid .eim and rewrites every hash, so tests can present the reader with files that pass
/// the integrity checks but lie about their contents (what a hostile file looks like).
/// </summary>
public static class ModelPatcher
{
    /// <summary>Offset and length of a section in a well-formed file.</summary>
    public static (int Offset, int Length) Locate(byte[] file, SectionKind kind)
    {
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20));
        for (int i = 0; i < count; i++)
        {
            Span<byte> e = file.AsSpan(FormatConstants.HeaderSize + i * FormatConstants.SectionEntrySize, FormatConstants.SectionEntrySize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(e) == (uint)kind)
            {
                return ((int)BinaryPrimitives.ReadUInt64LittleEndian(e[8..]), (int)BinaryPrimitives.ReadUInt64LittleEndian(e[16..]));
            }
        }

        throw new ArgumentException($"no {SectionKinds.Name((uint)kind)} section");
    }

    /// <summary>Copies <paramref name="file"/>, lets <paramref name="edit"/> change one section's bytes, and rehashes.</summary>
    public static byte[] Patch(byte[] file, SectionKind kind, Action<Span<byte>> edit)
    {
        byte[] copy = (byte[])file.Clone();
        (int offset, int length) = Locate(copy, kind);
        edit(copy.AsSpan(offset, length));
        return Rehash(copy);
    }

    /// <summary>Copies the file, lets <paramref name="edit"/> change the header or section table, and rehashes.</summary>
    public static byte[] PatchHeader(byte[] file, Action<Span<byte>> edit)
    {
        byte[] copy = (byte[])file.Clone();
        edit(copy);
        return Rehash(copy);
    }

    /// <summary>The sections of a well-formed file in table order, as raw kind, flags and bytes.</summary>
    public static List<RawSection> Sections(byte[] file)
    {
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20));
        var list = new List<RawSection>();
        for (int i = 0; i < count; i++)
        {
            Span<byte> e = file.AsSpan(FormatConstants.HeaderSize + i * FormatConstants.SectionEntrySize, FormatConstants.SectionEntrySize);
            int offset = (int)BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
            int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            list.Add(new RawSection(BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]), file.AsSpan(offset, length).ToArray()));
        }

        return list;
    }

    /// <summary>
    /// A file with <paramref name="file"/>'s first 64 header bytes (flags edited by <paramref name="flags"/>) and these
    /// sections, packed 64-aligned in the order given; counts, lengths and every hash rewritten. Written here from the
    /// spec, apart from the code under test, so tests can build shapes the writer and signer never produce.
    /// </summary>
    public static byte[] Assemble(byte[] file, IReadOnlyList<RawSection> sections, Func<ModelFlags, ModelFlags>? flags = null)
    {
        int headerLength = FormatConstants.HeaderSize + sections.Count * FormatConstants.SectionEntrySize;
        var offsets = new long[sections.Count];
        long position = FormatConstants.AlignUp(headerLength);
        for (int i = 0; i < sections.Count; i++)
        {
            offsets[i] = position;
            position = i == sections.Count - 1 ? position + sections[i].Data.Length : FormatConstants.AlignUp(position + sections[i].Data.Length);
        }

        var result = new byte[position];
        file.AsSpan(0, FormatConstants.HeaderSize).CopyTo(result);
        var header = (ModelFlags)BinaryPrimitives.ReadUInt32LittleEndian(result.AsSpan(16));
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(12), (uint)headerLength);
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(16), (uint)(flags?.Invoke(header) ?? header));
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(20), (uint)sections.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(result.AsSpan(24), (ulong)position);
        for (int i = 0; i < sections.Count; i++)
        {
            Span<byte> e = result.AsSpan(FormatConstants.HeaderSize + i * FormatConstants.SectionEntrySize, FormatConstants.SectionEntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, sections[i].Kind);
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], sections[i].Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], (ulong)offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(e[16..], (ulong)sections[i].Data.Length);
            sections[i].Data.CopyTo(result.AsSpan((int)offsets[i]));
        }

        return Rehash(result);
    }

    /// <summary>Recomputes every section hash and the header hash in place (as far as the table is readable).</summary>
    public static byte[] Rehash(byte[] file)
    {
        int count = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20)), (uint)((file.Length - FormatConstants.HeaderSize) / FormatConstants.SectionEntrySize));
        for (int i = 0; i < count; i++)
        {
            Span<byte> e = file.AsSpan(FormatConstants.HeaderSize + i * FormatConstants.SectionEntrySize, FormatConstants.SectionEntrySize);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            if (offset <= (ulong)file.Length && length <= (ulong)file.Length - offset)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(e[24..], Crc64.HashToUInt64(file.AsSpan((int)offset, (int)length)));
            }
        }

        int headerLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12)), (uint)file.Length);
        if (headerLength >= FormatConstants.HeaderSize)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(56), ModelReader.HeaderHash(file.AsSpan(0, headerLength)));
        }

        return file;
    }
}

/// <summary>One section as its table entry's kind and flags, and its bytes.</summary>
public sealed record RawSection(uint Kind, uint Flags, byte[] Data)
{
    public bool Is(SectionKind kind) => Kind == (uint)kind;
}
