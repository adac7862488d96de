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
