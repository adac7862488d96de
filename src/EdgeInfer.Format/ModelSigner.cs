using System.Buffers.Binary;
using System.IO.Hashing;

namespace EdgeInfer.Format;

/// <summary>
/// Signs a .eim file: the same sections in the same order, one more table entry, and a SIGN section at the end.
/// The table growing by 32 bytes moves the sections by at most 64 (every section stays 64-aligned); section contents
/// hold no file offsets, so they are copied unchanged and the model computes exactly what it did. A file that is
/// already signed loses its old SIGN first, so signing again replaces the signature.
/// </summary>
public static class ModelSigner
{
    /// <summary>Validates <paramref name="file"/> completely, then returns a signed copy; the input is not changed.</summary>
    public static byte[] Sign(ReadOnlySpan<byte> file, ModelSigningKey key, string source)
    {
        ArgumentNullException.ThrowIfNull(key);
        ModelGraph graph = new ModelReader(file, source).ReadGraph(); // never sign what a device would refuse
        SectionInfo[] kept = [.. graph.Sections.Where(s => s.Kind != SectionKind.Signature)];
        int count = kept.Length + 1;
        if (count > FormatConstants.MaxSections)
        {
            throw new EdgeInferModelException(ModelError.SectionTableInvalid, source, $"has {kept.Length} sections; a signature would make {count}, above {FormatConstants.MaxSections}");
        }

        int headerLength = FormatConstants.HeaderSize + count * FormatConstants.SectionEntrySize;
        var offsets = new long[count];
        long position = FormatConstants.AlignUp(headerLength);
        for (int i = 0; i < kept.Length; i++)
        {
            offsets[i] = position;
            position = FormatConstants.AlignUp(position + kept[i].Length);
        }

        long signOffset = offsets[^1] = position;
        long fileLength = signOffset + ModelSignature.SectionSize;
        if (fileLength > int.MaxValue)
        {
            throw new EdgeInferModelException(ModelError.SectionTableInvalid, source, $"signed, the model would be {fileLength} bytes, above the 2 GiB format limit");
        }

        var signed = new byte[fileLength];
        Span<byte> f = signed;
        file[..FormatConstants.HeaderSize].CopyTo(f); // magic, version, reserved bytes; the rest is rewritten
        BinaryPrimitives.WriteUInt32LittleEndian(f[12..], (uint)headerLength);
        BinaryPrimitives.WriteUInt32LittleEndian(f[16..], (uint)(graph.Flags | ModelFlags.Signed));
        BinaryPrimitives.WriteUInt32LittleEndian(f[20..], (uint)count);
        BinaryPrimitives.WriteUInt64LittleEndian(f[24..], (ulong)fileLength);
        for (int i = 0; i < kept.Length; i++)
        {
            file.Slice((int)kept[i].Offset, (int)kept[i].Length).CopyTo(f[(int)offsets[i]..]);
            WriteEntry(f, i, kept[i] with { Offset = offsets[i] });
        }

        // The SIGN entry's kind, offset and length are signed; its hash is filled in after. Not critical: a reader
        // that predates SIGN may skip it and run the same model (it just cannot check who made it).
        WriteEntry(f, count - 1, new SectionInfo(SectionKind.Signature, SectionFlags.None, signOffset, ModelSignature.SectionSize, 0));
        byte[] digest = ModelSignature.ComputeDigest(f, count - 1, signOffset);
        Span<byte> sign = f.Slice((int)signOffset, ModelSignature.SectionSize);
        ModelSignature.Write(sign, key.PublicKey.KeyId, digest, key.SignDigest(digest));
        BinaryPrimitives.WriteUInt64LittleEndian(f[(FormatConstants.HeaderSize + (count - 1) * FormatConstants.SectionEntrySize + 24)..], Crc64.HashToUInt64(sign));
        BinaryPrimitives.WriteUInt64LittleEndian(f[56..], ModelReader.HeaderHash(f[..headerLength]));
        new ModelReader(signed, source).ReadGraph(new ModelLoadOptions { TrustedKeys = [key.PublicKey] }); // what a device will check
        return signed;
    }

    private static void WriteEntry(Span<byte> file, int index, SectionInfo s)
    {
        Span<byte> e = file.Slice(FormatConstants.HeaderSize + index * FormatConstants.SectionEntrySize, FormatConstants.SectionEntrySize);
        BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)s.Kind);
        BinaryPrimitives.WriteUInt32LittleEndian(e[4..], (uint)s.Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(e[8..], (ulong)s.Offset);
        BinaryPrimitives.WriteUInt64LittleEndian(e[16..], (ulong)s.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(e[24..], s.Hash);
    }
}
