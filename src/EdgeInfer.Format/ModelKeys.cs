using System.Numerics;
using System.Security.Cryptography;

namespace EdgeInfer.Format;

/// <summary>
/// A public key a loader trusts to sign models: ECDSA P-256, read from a PEM "PUBLIC KEY" (SubjectPublicKeyInfo,
/// what <c>edgeinfer keygen</c> writes as NAME.pub.pem and <c>openssl pkey -pubout</c> prints). Its id is the SHA-256
/// of that DER. Immutable; holds no native handle (an <see cref="ECDsa"/> is made per verification).
/// <para>The DER of a P-256 key with an uncompressed point is always the same 27 bytes and then the point, so the
/// device reads it by comparing that prefix instead of through the BCL's ASN.1 and key-import code, which would add
/// about 185 KB to the NativeAOT binary. Any other key (another curve, RSA, a compressed point) fails the comparison
/// and is named in the error.</para>
/// </summary>
public sealed class ModelPublicKey
{
    /// <summary>SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 (uncompressed) X Y } }, up to X.</summary>
    private static ReadOnlySpan<byte> SpkiPrefix =>
    [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
        0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
    ];

    private static ReadOnlySpan<byte> EcPublicKeyOid => [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];

    private static ReadOnlySpan<byte> P256Oid => [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

    private const int CoordinateSize = 32;

    private readonly byte[] _x;
    private readonly byte[] _y;

    private ModelPublicKey(byte[] subjectPublicKeyInfo, string source)
    {
        Source = source;
        SubjectPublicKeyInfo = subjectPublicKeyInfo;
        _x = subjectPublicKeyInfo.AsSpan(SpkiPrefix.Length, CoordinateSize).ToArray();
        _y = subjectPublicKeyInfo.AsSpan(SpkiPrefix.Length + CoordinateSize, CoordinateSize).ToArray();
        KeyId = SHA256.HashData(SubjectPublicKeyInfo);
    }

    /// <summary>The file (or caller-given name) the key came from; key errors start with it.</summary>
    public string Source { get; }

    public byte[] SubjectPublicKeyInfo { get; }

    /// <summary>SHA-256 of <see cref="SubjectPublicKeyInfo"/>: what a SIGN section names.</summary>
    public byte[] KeyId { get; }

    public string KeyIdText => Convert.ToHexStringLower(KeyId);

    /// <summary>Reads a PEM public key file (at most 64 KiB: a key file is a few hundred bytes).</summary>
    public static ModelPublicKey Load(string path) => FromPem(KeyFiles.Read(path), path);

    public static ModelPublicKey FromPem(string pem, string source)
    {
        (string label, byte[] der) = KeyFiles.FindKey(pem, source);
        if (label != "PUBLIC KEY")
        {
            throw KeyFiles.Error(source, label.Contains("PRIVATE", StringComparison.Ordinal)
                ? "is a private key; trust the public half instead (the NAME.pub.pem keygen wrote, or openssl pkey -in KEY -pubout)"
                : $"holds a PEM \"{label}\", not a \"PUBLIC KEY\"");
        }

        if (der.Length != SpkiPrefix.Length + 2 * CoordinateSize || !der.AsSpan().StartsWith(SpkiPrefix))
        {
            ReadOnlySpan<byte> d = der;
            throw KeyFiles.Error(source, d.IndexOf(EcPublicKeyOid) < 0 ? "is not an EC public key (EdgeInfer signs with ECDSA P-256)"
                : d.IndexOf(P256Oid) < 0 ? "is an EC key on another curve; EdgeInfer signs with P-256 (prime256v1) only"
                : "is a P-256 key in a form other than an uncompressed point; re-export it with openssl pkey -pubin -in KEY -pubout");
        }

        var key = new ModelPublicKey(der, source);
        try
        {
            using ECDsa check = key.Create(); // refuses a point that is not on the curve
        }
        catch (CryptographicException e)
        {
            throw KeyFiles.Error(source, "is not a valid P-256 public key (the point is not on the curve)", e);
        }

        return key;
    }

    /// <summary>The public key of <paramref name="key"/>, a P-256 key (checked by the caller).</summary>
    internal static ModelPublicKey FromKey(ECDsa key, string source)
    {
        ECPoint q = key.ExportParameters(includePrivateParameters: false).Q;
        return new ModelPublicKey([.. SpkiPrefix, .. q.X!, .. q.Y!], source);
    }

    public string ExportPem() => PemEncoding.WriteString("PUBLIC KEY", SubjectPublicKeyInfo);

    internal bool VerifyDigest(ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature)
    {
        using ECDsa key = Create();
        return key.VerifyHash(digest, signature, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    private ECDsa Create() => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = _x, Y = _y },
    });
}

/// <summary>
/// A private ECDSA P-256 key that signs models. Reads PEM "PRIVATE KEY" (PKCS#8, what <c>edgeinfer keygen</c> and
/// <c>openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256</c> write) or "EC PRIVATE KEY" (SEC 1,
/// <c>openssl ecparam -genkey</c>). Encrypted keys are refused: decrypt to a 0600 file first. Owns its native key;
/// dispose it.
/// </summary>
public sealed class ModelSigningKey : IDisposable
{
    private readonly ECDsa _key;

    private ModelSigningKey(ECDsa key, string source)
    {
        _key = key;
        Source = source;
        PublicKey = ModelPublicKey.FromKey(key, source);
    }

    public string Source { get; }

    public ModelPublicKey PublicKey { get; }

    /// <summary>A new random P-256 key.</summary>
    public static ModelSigningKey Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), "<new key>");

    /// <summary>A copy of <paramref name="key"/>'s private key (the caller keeps ownership of its object).</summary>
    public static ModelSigningKey FromECDsa(ECDsa key, string source = "<key>")
    {
        ArgumentNullException.ThrowIfNull(key);
        EcdsaP256.RequireCurve(key, source);
        return new ModelSigningKey(ECDsa.Create(key.ExportParameters(includePrivateParameters: true)), source);
    }

    public static ModelSigningKey Load(string path) => FromPem(KeyFiles.Read(path), path);

    public static ModelSigningKey FromPem(string pem, string source)
    {
        (string label, byte[] der) = KeyFiles.FindKey(pem, source);
        var key = ECDsa.Create();
        try
        {
            switch (label)
            {
                case "PRIVATE KEY":
                    key.ImportPkcs8PrivateKey(der, out _);
                    break;
                case "EC PRIVATE KEY":
                    key.ImportECPrivateKey(der, out _);
                    break;
                case "ENCRYPTED PRIVATE KEY":
                    throw KeyFiles.Error(source, "is an encrypted private key; decrypt it to a file only you can read (openssl pkey -in KEY -out PLAIN.pem) and sign with that");
                case "PUBLIC KEY":
                    throw KeyFiles.Error(source, "is a public key; signing needs the private key (NAME.pem, not NAME.pub.pem)");
                default:
                    throw KeyFiles.Error(source, $"holds a PEM \"{label}\", not a \"PRIVATE KEY\"");
            }

            EcdsaP256.RequireCurve(key, source);
            return new ModelSigningKey(key, source);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw KeyFiles.Error(source, "is not an EC private key (EdgeInfer signs with ECDSA P-256)", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>PKCS#8 PEM ("PRIVATE KEY"), unencrypted: store it with mode 0600.</summary>
    public string ExportPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>Signs a SHA-256 digest: r‖s, with s reduced to the low half (the form readers require).</summary>
    internal byte[] SignDigest(ReadOnlySpan<byte> digest)
    {
        byte[] signature = _key.SignHash(digest.ToArray(), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        EcdsaP256.NormalizeLowS(signature);
        return signature;
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>Facts of the one curve EdgeInfer signs with.</summary>
internal static class EcdsaP256
{
    private const string CurveOid = "1.2.840.10045.3.1.7"; // prime256v1 / secp256r1 / NIST P-256

    /// <summary>The group order n, big-endian.</summary>
    private static ReadOnlySpan<byte> Order =>
    [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ];

    /// <summary>⌊n / 2⌋, big-endian: a low s is at most this.</summary>
    private static ReadOnlySpan<byte> HalfOrder =>
    [
        0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xDE, 0x73, 0x7D, 0x56, 0xD3, 0x8B, 0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31, 0x92, 0xA8,
    ];

    public static void RequireCurve(ECDsa key, string source)
    {
        ECCurve curve = key.ExportParameters(includePrivateParameters: false).Curve;
        if (!curve.IsNamed)
        {
            throw KeyFiles.Error(source, "is an EC key with explicit curve parameters; EdgeInfer signs with the named curve P-256 (prime256v1)");
        }

        if (curve.Oid.Value != CurveOid)
        {
            throw KeyFiles.Error(source, $"is an EC key on curve {curve.Oid.FriendlyName ?? curve.Oid.Value}; EdgeInfer signs with P-256 (prime256v1) only");
        }
    }

    /// <summary>s (the second 32 bytes of r‖s) is at most n / 2.</summary>
    public static bool IsLowS(ReadOnlySpan<byte> signature) => signature[32..].SequenceCompareTo(HalfOrder) <= 0;

    /// <summary>Replaces s by n − s when s is in the high half; (r, n − s) is the same signature to ECDSA.</summary>
    public static void NormalizeLowS(Span<byte> signature)
    {
        if (IsLowS(signature))
        {
            return;
        }

        var n = new BigInteger(Order, isUnsigned: true, isBigEndian: true);
        var s = new BigInteger(signature[32..], isUnsigned: true, isBigEndian: true);
        BigInteger low = n - s;
        Span<byte> field = signature[32..];
        field.Clear();
        int length = low.GetByteCount(isUnsigned: true);
        low.TryWriteBytes(field[(32 - length)..], out _, isUnsigned: true, isBigEndian: true);
    }
}

/// <summary>Reading PEM key files, and their one error type.</summary>
internal static class KeyFiles
{
    private const int MaxKeyFileBytes = 64 * 1024;

    public static string Read(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long size = RandomAccess.GetLength(handle);
            if (size > MaxKeyFileBytes)
            {
                throw Error(path, $"is {size} bytes, too large for a PEM key file");
            }

            var bytes = new byte[size];
            int read = 0;
            while (read < bytes.Length && RandomAccess.Read(handle, bytes.AsSpan(read), read) is int n and > 0)
            {
                read += n;
            }

            return System.Text.Encoding.UTF8.GetString(bytes, 0, read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new EdgeInferModelException(ModelError.FileUnreadable, path, $"cannot read the key file: {e.Message}", e);
        }
    }

    /// <summary>The first PEM block that is not EC parameters (openssl ecparam -genkey writes those first).</summary>
    public static (string Label, byte[] Der) FindKey(string pem, string source)
    {
        ReadOnlySpan<char> rest = pem;
        while (PemEncoding.TryFind(rest, out PemFields fields))
        {
            string label = rest[fields.Label].ToString();
            if (label != "EC PARAMETERS")
            {
                return (label, Convert.FromBase64String(rest[fields.Base64Data].ToString()));
            }

            rest = rest[fields.Location.End..];
        }

        throw Error(source, "is not a PEM key file (no -----BEGIN ...----- block)");
    }

    public static EdgeInferModelException Error(string source, string problem, Exception? inner = null)
        => new(ModelError.KeyInvalid, source, problem, inner);
}
