using System.Security.Cryptography;

namespace EdgeInfer.Format.Tests;

/// <summary>Reading signing and trusted keys from PEM, and refusing every key that is not usable, by name.</summary>
public sealed class ModelKeyTests
{
    private static EdgeInferModelException KeyRefused(Action read, string contains)
    {
        var e = Assert.Throws<EdgeInferModelException>(read);
        Assert.Equal(ModelError.KeyInvalid, e.Error);
        Assert.StartsWith("k.pem: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(contains, e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void PemRoundTrip_KeepsTheKeyAndItsId()
    {
        using ModelSigningKey key = ModelSigningKey.Generate();
        string privatePem = key.ExportPem();
        string publicPem = key.PublicKey.ExportPem();
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", privatePem, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", publicPem, StringComparison.Ordinal);

        using ModelSigningKey reread = ModelSigningKey.FromPem(privatePem, "k.pem");
        ModelPublicKey trusted = ModelPublicKey.FromPem(publicPem, "k.pub.pem");
        Assert.Equal(key.PublicKey.KeyIdText, reread.PublicKey.KeyIdText);
        Assert.Equal(key.PublicKey.KeyIdText, trusted.KeyIdText);
        Assert.Equal(64, trusted.KeyIdText.Length);
        Assert.Equal(SHA256.HashData(trusted.SubjectPublicKeyInfo), trusted.KeyId);
    }

    [Fact]
    public void Sec1EcPrivateKey_AndAParametersBlockBeforeIt_AreAccepted()
    {
        // openssl ecparam -name prime256v1 -genkey writes "EC PARAMETERS" then "EC PRIVATE KEY".
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string pem = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + ecdsa.ExportECPrivateKeyPem();
        using ModelSigningKey key = ModelSigningKey.FromPem(pem, "k.pem");
        Assert.Equal(SHA256.HashData(ecdsa.ExportSubjectPublicKeyInfo()), key.PublicKey.KeyId);
    }

    [Fact]
    public void P384Key_IsRefusedNamingTheCurve()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        KeyRefused(() => ModelSigningKey.FromPem(ecdsa.ExportPkcs8PrivateKeyPem(), "k.pem"), "P-256 (prime256v1) only");
        KeyRefused(() => ModelPublicKey.FromPem(ecdsa.ExportSubjectPublicKeyInfoPem(), "k.pem"), "P-256 (prime256v1) only");
        KeyRefused(() => ModelSigningKey.FromECDsa(ecdsa, "k.pem"), "P-256");
    }

    [Fact]
    public void RsaKey_IsRefused()
    {
        using var rsa = RSA.Create(2048);
        KeyRefused(() => ModelSigningKey.FromPem(rsa.ExportPkcs8PrivateKeyPem(), "k.pem"), "is not an EC private key");
        KeyRefused(() => ModelPublicKey.FromPem(rsa.ExportSubjectPublicKeyInfoPem(), "k.pem"), "is not an EC public key");
    }

    [Fact]
    public void CompressedPoint_AndAPointOffTheCurve_AreRefused()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] spki = ecdsa.ExportSubjectPublicKeyInfo();
        Assert.Equal(91, spki.Length);
        byte[] compressed = [0x30, 0x39, .. spki[2..23], 0x03, 0x22, 0x00, (byte)(2 + (spki[^1] & 1)), .. spki[27..59]];
        KeyRefused(() => ModelPublicKey.FromPem(PemEncoding.WriteString("PUBLIC KEY", compressed), "k.pem"), "other than an uncompressed point");

        byte[] offCurve = (byte[])spki.Clone();
        offCurve[^1] ^= 1;
        KeyRefused(() => ModelPublicKey.FromPem(PemEncoding.WriteString("PUBLIC KEY", offCurve), "k.pem"), "not on the curve");
    }

    [Fact]
    public void EncryptedPrivateKey_IsRefusedWithTheWayOut()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string pem = ecdsa.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));
        KeyRefused(() => ModelSigningKey.FromPem(pem, "k.pem"), "is an encrypted private key; decrypt it");
    }

    [Fact]
    public void TheWrongHalf_IsRefused()
    {
        using ModelSigningKey key = ModelSigningKey.Generate();
        KeyRefused(() => ModelSigningKey.FromPem(key.PublicKey.ExportPem(), "k.pem"), "is a public key; signing needs the private key");
        KeyRefused(() => ModelPublicKey.FromPem(key.ExportPem(), "k.pem"), "is a private key; trust the public half");
    }

    [Theory]
    [InlineData("", "is not a PEM key file")]
    [InlineData("hello", "is not a PEM key file")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "holds a PEM \"CERTIFICATE\"")]
    public void NotAKey_IsRefused(string pem, string contains)
    {
        KeyRefused(() => ModelSigningKey.FromPem(pem, "k.pem"), contains);
        KeyRefused(() => ModelPublicKey.FromPem(pem, "k.pem"), contains);
    }

    [Fact]
    public void MissingOrHugeKeyFile_IsRefusedNamingIt()
    {
        var missing = Assert.Throws<EdgeInferModelException>(() => ModelPublicKey.Load("/nonexistent/k.pub.pem"));
        Assert.Equal(ModelError.FileUnreadable, missing.Error);
        Assert.StartsWith("/nonexistent/k.pub.pem: cannot read the key file", missing.Message, StringComparison.Ordinal);

        string huge = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(huge, new byte[100_000]);
            var e = Assert.Throws<EdgeInferModelException>(() => ModelSigningKey.Load(huge));
            Assert.Equal(ModelError.KeyInvalid, e.Error);
            Assert.Contains("too large for a PEM key file", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(huge);
        }
    }
}
