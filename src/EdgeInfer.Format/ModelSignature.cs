using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace EdgeInfer.Format;

/// <summary>Signature algorithms a SIGN section may name. Append only.</summary>
public enum SignatureAlgorithm : uint
{
    /// <summary>ECDSA over NIST P-256 of a SHA-256 digest; the signature is r‖s, 32 bytes each, big-endian, low s.</summary>
    EcdsaP256Sha256 = 1,
}

/// <summary>
/// The SIGN section of a signed model, and the two checks on it.
/// <para>Layout (144 bytes, docs/format.md): uint32 algorithm (1), uint32 signature length (64), 8 reserved zero
/// bytes, the 32-byte key id (SHA-256 of the signer's SubjectPublicKeyInfo DER), the 32-byte SHA-256 digest of the
/// signed bytes, the 64-byte signature of that digest.</para>
/// <para>The signed bytes are the file from its start to the SIGN section, with the header hash (bytes 56-63) and
/// the SIGN table entry's hash taken as zero: those two depend on the signature itself. Everything else before SIGN
/// is covered, including the file length, the flags and the SIGN entry's kind, offset and length; since SIGN must be
/// the last section and end the file, no byte of a signed file lies outside both the digest and the SIGN checks.</para>
/// <para><see cref="CheckPlacement"/> is structural and runs on every load; <see cref="Verify"/> runs when the loader
/// was given trusted keys, after the container checks and before the graph is parsed.</para>
/// </summary>
public sealed class ModelSignature
{
    public const int SectionSize = 144;
    public const int KeyIdSize = 32;
    public const int DigestSize = 32;
    public const int EcdsaP256SignatureSize = 64;

    private const int AlgorithmAt = 0;
    private const int SignatureLengthAt = 4;
    private const int ReservedAt = 8;
    private const int KeyIdAt = 16;
    private const int DigestAt = 48;
    private const int SignatureAt = 80;
    private const int EntryHashAt = 24;

    private ModelSignature(SignatureAlgorithm algorithm, byte[] keyId, byte[] digest, byte[] value)
    {
        Algorithm = algorithm;
        KeyIdBytes = keyId;
        DigestBytes = digest;
        ValueBytes = value;
    }

    public SignatureAlgorithm Algorithm { get; }

    /// <summary>SHA-256 of the signer's public key (SubjectPublicKeyInfo DER).</summary>
    public ReadOnlySpan<byte> KeyId => KeyIdBytes;

    /// <summary>The digest the signer signed, as stored; <see cref="Verify"/> recomputes it.</summary>
    public ReadOnlySpan<byte> Digest => DigestBytes;

    public ReadOnlySpan<byte> Value => ValueBytes;

    /// <summary>The key id in lowercase hex, as the CLI and error messages print it.</summary>
    public string KeyIdText => Convert.ToHexStringLower(KeyIdBytes);

    public string DigestText => Convert.ToHexStringLower(DigestBytes);

    internal byte[] KeyIdBytes { get; }
    internal byte[] DigestBytes { get; }
    internal byte[] ValueBytes { get; }

    /// <summary>The parsed SIGN section of a file the reader has accepted, or null when it is not signed.</summary>
    public static ModelSignature? Find(ReadOnlySpan<byte> file, IReadOnlyList<SectionInfo> sections, string source)
    {
        foreach (SectionInfo s in sections)
        {
            if (s.Kind == SectionKind.Signature)
            {
                return Parse(file.Slice((int)s.Offset, (int)s.Length), source);
            }
        }

        return null;
    }

    /// <summary>
    /// Called by the reader once the section table is valid: the signed flag and a SIGN section go together, SIGN is
    /// the last section, ends the file, has the fixed size and well-formed fields.
    /// </summary>
    internal static void CheckPlacement(ReadOnlySpan<byte> file, SectionInfo[] sections, ModelFlags flags, string source)
    {
        int at = -1;
        for (int i = 0; i < sections.Length; i++)
        {
            at = sections[i].Kind == SectionKind.Signature ? i : at;
        }

        bool flagged = (flags & ModelFlags.Signed) != 0;
        if (at < 0)
        {
            if (flagged)
            {
                Fail(ModelError.SignatureInvalid, source, "header flag 'signed' is set but there is no SIGN section (the signature was removed)");
            }

            return;
        }

        if (!flagged)
        {
            Fail(ModelError.SignatureInvalid, source, "has a SIGN section but header flag 'signed' is clear");
        }

        SectionInfo sign = sections[at];
        if (at != sections.Length - 1)
        {
            Fail(ModelError.SignatureInvalid, source, $"SIGN is section {at + 1} of {sections.Length}; it must be the last");
        }

        if (sign.Length != SectionSize)
        {
            Fail(ModelError.SignatureInvalid, source, $"SIGN section is {sign.Length} bytes, not {SectionSize}");
        }

        if (sign.Offset + sign.Length != file.Length)
        {
            Fail(ModelError.SignatureInvalid, source, $"SIGN section ends at {sign.Offset + sign.Length} but the file at {file.Length}: nothing may follow the signature");
        }

        Parse(file.Slice((int)sign.Offset, SectionSize), source);
    }

    /// <summary>
    /// Requires a signature by one of <paramref name="trusted"/> over exactly these bytes. The container has been
    /// validated (<see cref="CheckPlacement"/> included), so every offset used here is in range.
    /// </summary>
    /// <returns>The key that signed the file.</returns>
    internal static ModelPublicKey Verify(ReadOnlySpan<byte> file, SectionInfo[] sections, IReadOnlyList<ModelPublicKey> trusted, string source)
    {
        ModelSignature? signature = Find(file, sections, source);
        if (signature is null)
        {
            Fail(ModelError.SignatureMissing, source, $"not signed; this device requires a model signed by {KeyList(trusted)}");
        }

        ModelPublicKey? key = TrustedKey(trusted, signature.KeyId);
        if (key is null)
        {
            Fail(ModelError.SignatureUntrusted, source, $"signed by key {signature.KeyIdText}, which is not trusted here (trusted: {KeyIds(trusted)})");
        }

        SectionInfo sign = sections[^1];
        byte[] digest = ComputeDigest(file, sections.Length - 1, sign.Offset);
        if (!digest.AsSpan().SequenceEqual(signature.Digest))
        {
            Fail(ModelError.SignatureInvalid, source, $"content changed after signing: the signed bytes hash to {Convert.ToHexStringLower(digest)}, the signature covers {signature.DigestText}");
        }

        // ECDSA accepts (r, s) and (r, n − s) alike; requiring the low s makes the signature bytes unique too, so no
        // byte of a signed file can change and still verify.
        if (!EcdsaP256.IsLowS(signature.Value))
        {
            Fail(ModelError.SignatureInvalid, source, $"signature by key {signature.KeyIdText} is not in low-s form (the SIGN section was altered)");
        }

        if (!key.VerifyDigest(digest, signature.Value))
        {
            Fail(ModelError.SignatureInvalid, source, $"signature does not verify with key {signature.KeyIdText}: the SIGN section was altered or forged");
        }

        return key;
    }

    /// <summary>
    /// SHA-256 of file[0, <paramref name="signOffset"/>) with the header hash and the hash field of table entry
    /// <paramref name="signEntry"/> read as zero (both depend on the signature).
    /// </summary>
    internal static byte[] ComputeDigest(ReadOnlySpan<byte> file, int signEntry, long signOffset)
    {
        ReadOnlySpan<byte> zero = [0, 0, 0, 0, 0, 0, 0, 0];
        int entryHash = FormatConstants.HeaderSize + signEntry * FormatConstants.SectionEntrySize + EntryHashAt;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(file[..56]);
        sha.AppendData(zero);
        sha.AppendData(file[64..entryHash]);
        sha.AppendData(zero);
        sha.AppendData(file[(entryHash + 8)..(int)signOffset]);
        return sha.GetHashAndReset();
    }

    /// <summary>Writes a SIGN section's fields (the signature last, once the digest is known).</summary>
    internal static void Write(Span<byte> section, ReadOnlySpan<byte> keyId, ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature)
    {
        section[..SectionSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(section[AlgorithmAt..], (uint)SignatureAlgorithm.EcdsaP256Sha256);
        BinaryPrimitives.WriteUInt32LittleEndian(section[SignatureLengthAt..], EcdsaP256SignatureSize);
        keyId.CopyTo(section[KeyIdAt..]);
        digest.CopyTo(section[DigestAt..]);
        signature.CopyTo(section[SignatureAt..]);
    }

    private static ModelSignature Parse(ReadOnlySpan<byte> s, string source)
    {
        var algorithm = (SignatureAlgorithm)BinaryPrimitives.ReadUInt32LittleEndian(s[AlgorithmAt..]);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(s[SignatureLengthAt..]);
        if (algorithm != SignatureAlgorithm.EcdsaP256Sha256)
        {
            Fail(ModelError.SignatureInvalid, source, $"SIGN names signature algorithm {(uint)algorithm}; this reader knows 1 (ECDSA P-256 SHA-256)");
        }

        if (length != EcdsaP256SignatureSize)
        {
            Fail(ModelError.SignatureInvalid, source, $"SIGN declares a {length}-byte signature; ECDSA P-256 signatures are {EcdsaP256SignatureSize}");
        }

        if (s[ReservedAt..KeyIdAt].IndexOfAnyExcept((byte)0) is int r and >= 0)
        {
            Fail(ModelError.SignatureInvalid, source, $"SIGN reserved byte {ReservedAt + r} is not zero");
        }

        return new ModelSignature(algorithm, s.Slice(KeyIdAt, KeyIdSize).ToArray(), s.Slice(DigestAt, DigestSize).ToArray(),
            s.Slice(SignatureAt, EcdsaP256SignatureSize).ToArray());
    }

    /// <summary>The key among <paramref name="trusted"/> with this id, or null.</summary>
    internal static ModelPublicKey? TrustedKey(IReadOnlyList<ModelPublicKey> trusted, ReadOnlySpan<byte> keyId)
    {
        foreach (ModelPublicKey k in trusted)
        {
            if (keyId.SequenceEqual(k.KeyId))
            {
                return k;
            }
        }

        return null;
    }

    private static string KeyList(IReadOnlyList<ModelPublicKey> keys)
        => keys.Count == 1 ? $"key {keys[0].KeyIdText}" : $"one of the keys {KeyIds(keys)}";

    // No LINQ here: this code is in the device binary, and every generic instantiation costs bytes there.
    private static string KeyIds(IReadOnlyList<ModelPublicKey> keys)
    {
        var ids = new string[keys.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = keys[i].KeyIdText;
        }

        return string.Join(", ", ids);
    }

    [DoesNotReturn]
    private static void Fail(ModelError error, string source, string problem) => throw new EdgeInferModelException(error, source, problem);
}
