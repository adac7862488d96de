using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Cli.Tests;

/// <summary>keygen → sign → verify (and convert --sign-key, inspect) through the command line, with exit codes.</summary>
public sealed class SignTests : IDisposable
{
    private readonly string _dir = CliRunner.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string In(string name) => Path.Combine(_dir, name);

    /// <summary>A key pair made by the test itself (the CLI's keygen has its own test).</summary>
    private (string Private, string Public, string KeyId) KeyPair(string name)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(In(name + ".pem"), ecdsa.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(In(name + ".pub.pem"), ecdsa.ExportSubjectPublicKeyInfoPem());
        return (In(name + ".pem"), In(name + ".pub.pem"), Convert.ToHexStringLower(SHA256.HashData(ecdsa.ExportSubjectPublicKeyInfo())));
    }

    private string Digits(string name = "digits.eim")
    {
        string path = In(name);
        File.Copy(CliRunner.Fixture("digits", "digits_cnn.eim"), path);
        return path;
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Keygen_WritesAPrivateKeyWithMode0600_AndRefusesToOverwriteUnlessForced()
    {
        var first = CliRunner.Run("keygen", "-o", In("edge"));
        Assert.True(first.Exit == 0, first.Err);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(In("edge.pem")));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(In("edge.pem")), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", File.ReadAllText(In("edge.pub.pem")), StringComparison.Ordinal);
        string keyId = ModelPublicKey.Load(In("edge.pub.pem")).KeyIdText;
        Assert.Contains($"key id {keyId}", first.Out, StringComparison.Ordinal);
        string before = File.ReadAllText(In("edge.pem"));

        var again = CliRunner.Run("keygen", "-o", In("edge"));
        Assert.Equal(ExitCodes.BadInput, again.Exit);
        Assert.Contains($"edgeinfer: {In("edge.pem")}: already exists", again.Err, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(In("edge.pem")));

        File.Delete(In("edge.pem"));
        var publicOnly = CliRunner.Run("keygen", "-o", In("edge"));
        Assert.Equal(ExitCodes.BadInput, publicOnly.Exit); // the public half alone is protected too
        Assert.False(File.Exists(In("edge.pem")));

        File.WriteAllText(In("edge.pem"), before);
        File.SetUnixFileMode(In("edge.pem"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var forced = CliRunner.Run("keygen", "-o", In("edge.pem"), "--force"); // "-o NAME.pem" names the same pair
        Assert.True(forced.Exit == 0, forced.Err);
        Assert.NotEqual(before, File.ReadAllText(In("edge.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(In("edge.pem")));
        Assert.False(File.Exists(In("edge.pem.pem")));
    }

    [Fact]
    public void KeygenSignVerify_EndToEnd()
    {
        Assert.Equal(0, CliRunner.Run("keygen", "-o", In("k")).Exit);
        string model = Digits();
        int unsignedLength = (int)new FileInfo(model).Length;

        var sign = CliRunner.Run("sign", model, "--key", In("k.pem"));
        Assert.True(sign.Exit == 0, sign.Err);
        string keyId = ModelPublicKey.Load(In("k.pub.pem")).KeyIdText;
        Assert.Contains($"signed {model} with key {keyId}", sign.Out, StringComparison.Ordinal);
        Assert.InRange(new FileInfo(model).Length, unsignedLength + 144, unsignedLength + 64 + 144 + 63);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));

        var verify = CliRunner.Run("verify", model, "--trusted-key", In("k.pub.pem"));
        Assert.True(verify.Exit == 0, verify.Err);
        Assert.Contains($"signed by {keyId}, signature OK", verify.Out, StringComparison.Ordinal);

        var plain = CliRunner.Run("verify", model);
        Assert.Equal(0, plain.Exit);
        Assert.Contains("signature not checked: no --trusted-key", plain.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_WithOutput_LeavesTheInputUnsigned()
    {
        var key = KeyPair("k");
        string model = Digits();
        byte[] original = File.ReadAllBytes(model);
        var sign = CliRunner.Run("sign", model, "--key", key.Private, "-o", In("signed.eim"));
        Assert.True(sign.Exit == 0, sign.Err);
        Assert.Equal(original, File.ReadAllBytes(model));
        Assert.Equal(0, CliRunner.Run("verify", In("signed.eim"), "--trusted-key", key.Public).Exit);
    }

    [Fact]
    public void Verify_RefusesWrongKeyUnsignedAndTampered_WithExitOneAndTheCode()
    {
        var key = KeyPair("k");
        var other = KeyPair("other");
        string model = Digits();
        Assert.Equal(0, CliRunner.Run("sign", model, "--key", key.Private, "-o", In("signed.eim")).Exit);

        var wrong = CliRunner.Run("verify", In("signed.eim"), "--trusted-key", other.Public);
        Assert.Equal(ExitCodes.ModelInvalid, wrong.Exit);
        Assert.Contains("SignatureUntrusted (EIM502)", wrong.Err, StringComparison.Ordinal);
        Assert.Contains($"signed by key {key.KeyId}", wrong.Err, StringComparison.Ordinal);
        Assert.Contains($"trusted: {other.KeyId}", wrong.Err, StringComparison.Ordinal);

        var both = CliRunner.Run("verify", In("signed.eim"), "--trusted-key", other.Public, "--trusted-key", key.Public);
        Assert.True(both.Exit == 0, both.Err);

        var unsigned = CliRunner.Run("verify", model, "--trusted-key", key.Public);
        Assert.Equal(ExitCodes.ModelInvalid, unsigned.Exit);
        Assert.Contains($"{model}: invalid model: SignatureMissing (EIM500): not signed", unsigned.Err, StringComparison.Ordinal);

        // An attacker edits a weight and recomputes every CRC: integrity passes, the signature does not.
        byte[] tampered = ModelPatcher.Patch(File.ReadAllBytes(In("signed.eim")), SectionKind.Weights, w => w[0] ^= 0x40);
        File.WriteAllBytes(In("tampered.eim"), tampered);
        Assert.Equal(0, CliRunner.Run("verify", In("tampered.eim")).Exit);
        var caught = CliRunner.Run("verify", In("tampered.eim"), "--trusted-key", key.Public);
        Assert.Equal(ExitCodes.ModelInvalid, caught.Exit);
        Assert.Contains("SignatureInvalid (EIM501): content changed after signing", caught.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void BadKeys_ExitTwo_NamingTheKeyFile()
    {
        var key = KeyPair("k");
        string model = Digits();
        byte[] original = File.ReadAllBytes(model);
        using (var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384))
        {
            File.WriteAllText(In("p384.pem"), p384.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(In("encrypted.pem"), p384.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000)));
        }

        File.WriteAllText(In("junk.pem"), "not a key");
        (string File, string Says)[] cases =
        [
            (In("missing.pem"), "file not found"),
            (key.Public, "is a public key; signing needs the private key"),
            (In("p384.pem"), "P-256 (prime256v1) only"),
            (In("encrypted.pem"), "is an encrypted private key"),
            (In("junk.pem"), "is not a PEM key file"),
        ];
        foreach ((string file, string says) in cases)
        {
            var sign = CliRunner.Run("sign", model, "--key", file);
            Assert.True(sign.Exit == ExitCodes.BadInput, $"{file}: exit {sign.Exit}: {sign.Err}");
            Assert.StartsWith($"edgeinfer: {file}: ", sign.Err, StringComparison.Ordinal);
            Assert.Contains(says, sign.Err, StringComparison.Ordinal);
        }

        Assert.Equal(original, File.ReadAllBytes(model));
        var trustPrivate = CliRunner.Run("verify", model, "--trusted-key", key.Private);
        Assert.Equal(ExitCodes.BadInput, trustPrivate.Exit);
        Assert.Contains($"edgeinfer: {key.Private}: is a private key", trustPrivate.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_DamagedModel_FailsAndLeavesTheFileAsItWas()
    {
        var key = KeyPair("k");
        string model = Digits();
        byte[] damaged = File.ReadAllBytes(model);
        damaged[damaged.Length / 2] ^= 1;
        File.WriteAllBytes(model, damaged);
        var sign = CliRunner.Run("sign", model, "--key", key.Private);
        Assert.Equal(ExitCodes.BadInput, sign.Exit);
        Assert.StartsWith($"edgeinfer: {model}: ", sign.Err, StringComparison.Ordinal);
        Assert.Contains("[EIM1", sign.Err, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllBytes(model));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void Convert_WithSignKey_WritesASignedModel_AndInspectShowsTheSigner()
    {
        var key = KeyPair("k");
        string eim = In("digits_signed.eim");
        var convert = CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_cnn.onnx"), "-o", eim, "--sign-key", key.Private);
        Assert.True(convert.Exit == 0, convert.Err);
        Assert.Contains($"signed {eim} with key {key.KeyId}", convert.Out, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("verify", eim, "--trusted-key", key.Public).Exit);

        var text = CliRunner.Run("inspect", eim);
        Assert.Contains($"signature: ECDSA P-256 SHA-256 by key {key.KeyId}", text.Out, StringComparison.Ordinal);
        Assert.Contains("  SIGN offset", text.Out, StringComparison.Ordinal);
        Assert.Contains("+ signature 144 +", text.Out, StringComparison.Ordinal);

        using JsonDocument doc = JsonDocument.Parse(CliRunner.Run("inspect", eim, "--json").Out);
        Assert.Equal(key.KeyId, doc.RootElement.GetProperty("signature").GetProperty("key_id").GetString());
        Assert.Equal("SIGN", doc.RootElement.GetProperty("sections").EnumerateArray().Last().GetProperty("kind").GetString());
        Assert.Equal(144, doc.RootElement.GetProperty("size").GetProperty("signature").GetInt64());

        var badKey = CliRunner.Run("convert", CliRunner.Fixture("digits", "digits_cnn.onnx"), "-o", In("never.eim"), "--sign-key", key.Public);
        Assert.Equal(ExitCodes.BadInput, badKey.Exit);
        Assert.False(File.Exists(In("never.eim")));
    }

    [Fact]
    public void ReSign_ReplacesTheSignature()
    {
        var first = KeyPair("first");
        var second = KeyPair("second");
        string model = Digits();
        Assert.Equal(0, CliRunner.Run("sign", model, "--key", first.Private).Exit);
        long once = new FileInfo(model).Length;
        var again = CliRunner.Run("sign", model, "--key", second.Private);
        Assert.Contains($"replacing the signature by key {first.KeyId}", again.Out, StringComparison.Ordinal);
        Assert.Equal(once, new FileInfo(model).Length);
        Assert.Equal(0, CliRunner.Run("verify", model, "--trusted-key", second.Public).Exit);
        Assert.Equal(ExitCodes.ModelInvalid, CliRunner.Run("verify", model, "--trusted-key", first.Public).Exit);
    }
}
