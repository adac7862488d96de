using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Format.Tests;

/// <summary>
/// Signed models: the SIGN layout, what a trusted-key load accepts and refuses, and the claim that no byte of a signed
/// file can be changed (with every CRC recomputed, as an attacker would) without a trusted-key load refusing it.
/// </summary>
public sealed class SignatureTests : IDisposable
{
    private static readonly byte[] Unsigned = SampleModels.TwoNodeMlp();
    private readonly ModelSigningKey _key = NewKey("signer.pem");
    private readonly ModelSigningKey _other = NewKey("other.pem");

    public void Dispose()
    {
        _key.Dispose();
        _other.Dispose();
    }

    internal static ModelSigningKey NewKey(string name)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return ModelSigningKey.FromECDsa(ecdsa, name);
    }

    private static ModelLoadOptions Trust(params ModelSigningKey[] keys) => new() { TrustedKeys = [.. keys.Select(k => k.PublicKey)] };

    private byte[] Signed() => ModelSigner.Sign(Unsigned, _key, "test.eim");

    private static EdgeInferModelException Refused(byte[] file, ModelLoadOptions? options, ModelError expected)
    {
        var e = Assert.Throws<EdgeInferModelException>(() => Model.Verify(file, "test.eim", options));
        Assert.True(expected == e.Error, e.Message);
        Assert.StartsWith("test.eim: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static (int Offset, int Length) SignSection(byte[] file) => ModelPatcher.Locate(file, SectionKind.Signature);

    [Fact]
    public void Sign_ThenLoadWithTheTrustedKey_VerifiesAndNamesTheSigner()
    {
        byte[] signed = Signed();
        using Model model = Model.FromBytes(signed, "test.eim", Trust(_other, _key));

        Assert.True(model.Graph.Flags.HasFlag(ModelFlags.Signed));
        Assert.Equal(SectionKind.Signature, model.Graph.Sections[^1].Kind);
        Assert.Equal(ModelSignature.SectionSize, model.Graph.Sections[^1].Length);
        Assert.Equal(signed.Length, model.Graph.Sections[^1].Offset + ModelSignature.SectionSize);
        Assert.Equal(_key.PublicKey.KeyIdText, model.Signature!.KeyIdText);
        Assert.Equal(SHA256.HashData(_key.PublicKey.SubjectPublicKeyInfo), model.Signature.KeyId.ToArray());
        Assert.Same(_key.PublicKey, model.TrustedSigner);
        Assert.Equal(SignatureAlgorithm.EcdsaP256Sha256, model.Signature.Algorithm);
    }

    [Fact]
    public void SignLayout_IsTheDocumentedOne()
    {
        byte[] signed = Signed();
        (int at, int length) = SignSection(signed);
        ReadOnlySpan<byte> s = signed.AsSpan(at, length);
        Assert.Equal(144, length);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(s));
        Assert.Equal(64u, BinaryPrimitives.ReadUInt32LittleEndian(s[4..]));
        Assert.Equal(new byte[8], s[8..16].ToArray());
        Assert.Equal(_key.PublicKey.KeyId, s[16..48].ToArray());
        Assert.Equal(0, at % FormatConstants.Alignment);

        // The digest is SHA-256 of everything before SIGN, header hash and SIGN entry hash read as zero: computed
        // here from the spec, not by the code under test.
        byte[] covered = Covered(signed);
        byte[] digest = SHA256.HashData(covered);
        Assert.Equal(digest, s[48..80].ToArray());

        // The signature is plain ECDSA P-256 over that digest, r‖s: any ECDSA implementation verifies it.
        using var verifier = ECDsa.Create();
        verifier.ImportSubjectPublicKeyInfo(_key.PublicKey.SubjectPublicKeyInfo, out _);
        Assert.True(verifier.VerifyData(covered, s[80..144], HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void Sign_CopiesEverySectionUnchanged_MovingItAtMost64Bytes()
    {
        byte[] signed = Signed();
        List<RawSection> before = ModelPatcher.Sections(Unsigned);
        List<RawSection> after = ModelPatcher.Sections(signed);
        Assert.Equal(before.Count + 1, after.Count);
        for (int i = 0; i < before.Count; i++)
        {
            Assert.Equal((before[i].Kind, before[i].Flags), (after[i].Kind, after[i].Flags));
            Assert.Equal(before[i].Data, after[i].Data);
            (int from, _) = ModelPatcher.Locate(Unsigned, (SectionKind)before[i].Kind);
            (int to, _) = ModelPatcher.Locate(signed, (SectionKind)after[i].Kind);
            Assert.InRange(to - from, 0, 64);
            Assert.Equal(0, to % FormatConstants.Alignment);
        }

        Assert.True(after[^1].Is(SectionKind.Signature));
        Assert.Equal(0u, after[^1].Flags); // not critical: a reader predating SIGN skips it and runs the same model
    }

    [Fact]
    public void Signing_DoesNotChangeWhatTheModelComputes()
    {
        foreach (string fixture in new[] { "digits/digits_cnn.eim", "tflm/person_detect.eim" })
        {
            byte[] original = File.ReadAllBytes(FixturePath(fixture));
            byte[] signed = ModelSigner.Sign(original, _key, fixture);
            using Model a = Model.FromBytes(original, fixture);
            using Model b = Model.FromBytes(signed, fixture, Trust(_key));
            var ia = new Interpreter(a);
            var ib = new Interpreter(b);
            var rng = new Random(7);
            Span<byte> input = ia.Input(0).Bytes;
            rng.NextBytes(input);
            if (ia.Input(0).DataType == DataType.Float32)
            {
                ia.Input(0).WriteFloats([.. Enumerable.Range(0, ia.Input(0).ElementCount).Select(_ => (float)rng.NextDouble())]);
            }

            ia.Input(0).Bytes.CopyTo(ib.Input(0).Bytes);
            ia.Invoke();
            ib.Invoke();
            Assert.Equal(ia.Output(0).Bytes.ToArray(), ib.Output(0).Bytes.ToArray());
        }
    }

    [Fact]
    public void SignedModel_LoadsWithoutTrustedKeys_FromFileAndMapped()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eim-signed-{Guid.NewGuid():N}.eim");
        File.WriteAllBytes(path, Signed());
        try
        {
            using Model loaded = Model.Load(path);
            using Model mapped = Model.MapFile(path, Trust(_key));
            Assert.Equal(_key.PublicKey.KeyIdText, loaded.Signature!.KeyIdText);
            Assert.Null(loaded.TrustedSigner);
            Assert.Same(_key.PublicKey, mapped.TrustedSigner);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnsignedModel_WithTrustedKeys_IsSignatureMissing_NamingTheKey()
    {
        Model.Verify(Unsigned, "test.eim"); // still fine without keys
        var e = Refused(Unsigned, Trust(_key), ModelError.SignatureMissing);
        Assert.Contains($"not signed; this device requires a model signed by key {_key.PublicKey.KeyIdText}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongKey_IsUntrusted_NamingTheFilesKeyAndTheTrustedOnes()
    {
        var e = Refused(Signed(), Trust(_other), ModelError.SignatureUntrusted);
        Assert.Contains($"signed by key {_key.PublicKey.KeyIdText}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"(trusted: {_other.PublicKey.KeyIdText})", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryByteChange_WithCrcsRecomputed_IsRefusedByATrustedKeyLoad()
    {
        byte[] signed = Signed();
        Model.Verify(signed, "test.eim", Trust(_key));
        int changed = 0, caughtBySignature = 0;
        foreach (byte mask in new byte[] { 0x01, 0x80, 0xFF })
        {
            for (int i = 0; i < signed.Length; i++)
            {
                byte[] file = (byte[])signed.Clone();
                file[i] ^= mask;
                ModelPatcher.Rehash(file);
                if (file.AsSpan().SequenceEqual(signed))
                {
                    continue; // a hash field: the rehash put it back, nothing changed
                }

                changed++;
                bool structurallyValid = Accepts(file, null);
                try
                {
                    Model.Verify(file, "test.eim", Trust(_key));
                    Assert.Fail($"byte {i} ^ 0x{mask:x2} was accepted under the trusted key");
                }
                catch (EdgeInferModelException e) when (structurallyValid)
                {
                    // Only the signature stands between this file and the device: it must be the one to refuse it.
                    Assert.True((int)e.Error is >= 500 and < 600, $"byte {i} ^ 0x{mask:x2}: {e.Message}");
                    caughtBySignature++;
                }
                catch (EdgeInferModelException)
                {
                }
            }
        }

        // Header hash and SIGN entry hash (16 bytes) are restored by the rehash; so are the other sections' hashes.
        Assert.True(changed > 3 * (signed.Length - 16 - 8 * ModelPatcher.Sections(signed).Count), $"{changed} changed files");
        // Most other changes break the structure (padding, counts, strings) and never get that far; the weights, the
        // name, the metadata values and the SIGN fields do (about a fifth of the changes here).
        Assert.True(caughtBySignature > signed.Length / 2, $"only {caughtBySignature} of {changed} changes reached the signature check");
    }

    [Fact]
    public void GraphChangedAfterSigning_IsRefusedBeforeTheGraphIsParsed()
    {
        byte[] file = ModelPatcher.Patch(Signed(), SectionKind.Graph, g => BinaryPrimitives.WriteUInt32LittleEndian(g, 1u << 30));
        Refused(file, null, ModelError.CountOutOfRange);
        var e = Refused(file, Trust(_key), ModelError.SignatureInvalid);
        Assert.Contains("content changed after signing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StrippedSignature_FlagClearedAndCrcsFixed_IsSignatureMissing()
    {
        List<RawSection> sections = ModelPatcher.Sections(Signed());
        sections.RemoveAt(sections.Count - 1);
        byte[] stripped = ModelPatcher.Assemble(Signed(), sections, f => f & ~ModelFlags.Signed);
        Model.Verify(stripped, "test.eim"); // a well-formed unsigned model
        Refused(stripped, Trust(_key), ModelError.SignatureMissing);
    }

    [Fact]
    public void StrippedSignature_FlagLeftSet_IsRefusedEvenWithoutKeys()
    {
        List<RawSection> sections = ModelPatcher.Sections(Signed());
        sections.RemoveAt(sections.Count - 1);
        var e = Refused(ModelPatcher.Assemble(Signed(), sections), null, ModelError.SignatureInvalid);
        Assert.Contains("'signed' is set but there is no SIGN section", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignedFlag_OnAnUnsignedModel_IsRefused()
        => Refused(ModelPatcher.PatchHeader(Unsigned, f => f[16] |= (byte)ModelFlags.Signed), null, ModelError.SignatureInvalid);

    [Fact]
    public void SignSection_WithoutTheSignedFlag_IsRefused()
    {
        var e = Refused(ModelPatcher.PatchHeader(Signed(), f => f[16] &= unchecked((byte)~ModelFlags.Signed)), null, ModelError.SignatureInvalid);
        Assert.Contains("flag 'signed' is clear", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignSection_NotLast_IsRefused()
    {
        List<RawSection> sections = ModelPatcher.Sections(Signed());
        (sections[^1], sections[^2]) = (sections[^2], sections[^1]);
        var e = Refused(ModelPatcher.Assemble(Signed(), sections), null, ModelError.SignatureInvalid);
        Assert.Contains("it must be the last", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BytesAppendedAfterSign_AreRefused()
    {
        byte[] signed = Signed();
        Refused([.. signed, 0], null, ModelError.FileLengthMismatch);

        // With the file length updated and the hashes fixed, zeros after the last section are padding to an unsigned
        // reader, but nothing may follow a signature.
        byte[] longer = ModelPatcher.PatchHeader([.. signed, .. new byte[64]], f => BinaryPrimitives.WriteUInt64LittleEndian(f[24..], (ulong)f.Length));
        var e = Refused(longer, null, ModelError.SignatureInvalid);
        Assert.Contains("nothing may follow the signature", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 2u, "algorithm 2")]
    [InlineData(0, 0u, "algorithm 0")]
    [InlineData(4, 63u, "63-byte signature")]
    [InlineData(8, 1u, "reserved byte 8")]
    [InlineData(12, 1u << 24, "reserved byte 15")]
    public void MalformedSignFields_AreRefusedEvenWithoutKeys(int at, uint value, string named)
    {
        byte[] file = ModelPatcher.Patch(Signed(), SectionKind.Signature, s => BinaryPrimitives.WriteUInt32LittleEndian(s[at..], value));
        var e = Refused(file, null, ModelError.SignatureInvalid);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(143)]
    [InlineData(145)]
    [InlineData(208)]
    public void SignSectionOfTheWrongSize_IsRefused(int length)
    {
        List<RawSection> sections = ModelPatcher.Sections(Signed());
        byte[] data = new byte[length];
        sections[^1].Data.AsSpan(0, Math.Min(length, 144)).CopyTo(data);
        sections[^1] = sections[^1] with { Data = data };
        var e = Refused(ModelPatcher.Assemble(Signed(), sections), null, ModelError.SignatureInvalid);
        Assert.Contains($"SIGN section is {length} bytes, not 144", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReSigning_ReplacesTheSignature()
    {
        byte[] once = Signed();
        byte[] twice = ModelSigner.Sign(once, _other, "test.eim");
        Assert.Equal(once.Length, twice.Length);
        Assert.Single(ModelPatcher.Sections(twice), s => s.Is(SectionKind.Signature));
        Assert.Equal(Covered(once), Covered(twice)); // the signed bytes are the same; only SIGN differs
        Model.Verify(twice, "test.eim", Trust(_other));
        Refused(twice, Trust(_key), ModelError.SignatureUntrusted);
    }

    [Fact]
    public void HighS_TheOtherValidEcdsaForm_IsRefused()
    {
        byte[] signed = Signed();
        (int at, _) = SignSection(signed);
        byte[] signature = signed.AsSpan(at + 80, 64).ToArray();
        var n = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);
        var s = new BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        byte[] high = (n - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        Assert.Equal(32, high.Length); // s was low, so n − s is above n/2 and needs all 32 bytes
        high.CopyTo(signature, 32);

        using var verifier = ECDsa.Create();
        verifier.ImportSubjectPublicKeyInfo(_key.PublicKey.SubjectPublicKeyInfo, out _);
        Assert.True(verifier.VerifyHash(signed.AsSpan(at + 48, 32), signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

        byte[] file = ModelPatcher.Patch(signed, SectionKind.Signature, sign => signature.CopyTo(sign[80..]));
        var e = Refused(file, Trust(_key), ModelError.SignatureInvalid);
        Assert.Contains("low-s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignatureByAnotherKey_UnderTheTrustedKeysId_DoesNotVerify()
    {
        byte[] byOther = ModelSigner.Sign(Unsigned, _other, "test.eim");
        byte[] file = ModelPatcher.Patch(byOther, SectionKind.Signature, s => _key.PublicKey.KeyId.CopyTo(s[16..]));
        var e = Refused(file, Trust(_key), ModelError.SignatureInvalid);
        Assert.Contains("signature does not verify", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StoredDigestEdited_IsContentChanged()
    {
        byte[] file = ModelPatcher.Patch(Signed(), SectionKind.Signature, s => s[50] ^= 1);
        var e = Refused(file, Trust(_key), ModelError.SignatureInvalid);
        Assert.Contains("content changed after signing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signing_ADamagedModel_IsRefused()
    {
        byte[] damaged = (byte[])Unsigned.Clone();
        damaged[^1] ^= 1;
        Assert.Throws<EdgeInferModelException>(() => ModelSigner.Sign(damaged, _key, "test.eim"));
    }

    private static bool Accepts(byte[] file, ModelLoadOptions? options)
    {
        try
        {
            Model.Verify(file, "test.eim", options);
            return true;
        }
        catch (EdgeInferModelException)
        {
            return false;
        }
    }

    /// <summary>The signed bytes as docs/format.md defines them: [0, SIGN) with the two dependent hashes zeroed.</summary>
    private static byte[] Covered(byte[] signed)
    {
        byte[] covered = signed[..SignSection(signed).Offset];
        covered.AsSpan(56, 8).Clear();
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(signed.AsSpan(20));
        covered.AsSpan(FormatConstants.HeaderSize + (count - 1) * FormatConstants.SectionEntrySize + 24, 8).Clear();
        return covered;
    }

    internal static string FixturePath(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "tests", "fixtures", relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("fixture not found", relative);
    }
}
