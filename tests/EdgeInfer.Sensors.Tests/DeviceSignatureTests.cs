using System.Security.Cryptography;
using System.Text;
using EdgeInfer.Device;
using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Sensors.Tests;

/// <summary>
/// A device given trusted keys (device.json "trusted_keys", --trusted-key) runs only models signed by one of them and
/// refuses the rest at start with the typed error and exit code 2; a key it cannot use is a config error (exit 1).
/// Keys are made here with ECDsa; the models are the committed fixtures, signed in the test.
/// </summary>
public sealed class DeviceSignatureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edgeinfer-device-sign-").FullName;
    private readonly ModelSigningKey _key;
    private readonly ModelSigningKey _other;

    public DeviceSignatureTests()
    {
        _key = NewKey("k");
        _other = NewKey("other");
    }

    public void Dispose()
    {
        _key.Dispose();
        _other.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A new key whose public half is written to keys/NAME.pub.pem in the test directory.</summary>
    private ModelSigningKey NewKey(string name)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Directory.CreateDirectory(In("keys"));
        File.WriteAllText(In($"keys/{name}.pub.pem"), ecdsa.ExportSubjectPublicKeyInfoPem());
        return ModelSigningKey.FromECDsa(ecdsa, name);
    }

    private string In(string relative) => Path.Combine(_dir, relative);

    private static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        int exit = Device.Program.Run(args, stdout, stderr, CancellationToken.None);
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), Encoding.UTF8.GetString(stderr.ToArray()));
    }

    private string Write(string name, byte[] bytes)
    {
        File.WriteAllBytes(In(name), bytes);
        return In(name);
    }

    private (int Exit, string Stdout, string Stderr) RunDigits(string model, params string[] keys)
        => Run([.. keys.SelectMany(k => new[] { "--trusted-key", In($"keys/{k}.pub.pem") }), "--model", model, "--input", Fixtures.Path("digits/digits_test.csv"), "--once"]);

    private byte[] SignedDigits(ModelSigningKey key) => ModelSigner.Sign(File.ReadAllBytes(Fixtures.Path("digits/digits_cnn.eim")), key, "digits_cnn.eim");

    [Fact]
    public void Input_SignedModel_WithTheTrustedKey_Runs_AndSaysWhoSigned()
    {
        string model = Write("signed.eim", SignedDigits(_key));
        var (exit, stdout, stderr) = RunDigits(model, "other", "k");
        Assert.True(exit == 0, stderr);
        Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{model}: signed by {_key.PublicKey.KeyIdText}", stderr, StringComparison.Ordinal);
        Assert.Contains("signature OK", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TamperedModel_CrcsRecomputed_IsRefusedWithExitTwo()
    {
        byte[] tampered = ModelPatcher.Patch(SignedDigits(_key), SectionKind.Weights, w => w[100] ^= 0x10);
        string model = Write("tampered.eim", tampered);
        Assert.Equal(0, RunDigits(model).Exit); // without keys, only integrity: the CRCs are right

        var (exit, stdout, stderr) = RunDigits(model, "k");
        Assert.Equal(Device.Program.ExitModel, exit);
        Assert.Empty(stdout);
        Assert.StartsWith($"edgeinfer-device: model refused: {model}: content changed after signing", stderr, StringComparison.Ordinal);
        Assert.Contains("[EIM501]", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsignedModel_AndAnotherKeysModel_AreRefused()
    {
        var unsigned = RunDigits(Fixtures.Path("digits/digits_cnn.eim"), "k");
        Assert.Equal(Device.Program.ExitModel, unsigned.Exit);
        Assert.Contains($"not signed; this device requires a model signed by key {_key.PublicKey.KeyIdText} [EIM500]", unsigned.Stderr, StringComparison.Ordinal);

        var wrong = RunDigits(Write("by-other.eim", SignedDigits(_other)), "k");
        Assert.Equal(Device.Program.ExitModel, wrong.Exit);
        Assert.Contains($"signed by key {_other.PublicKey.KeyIdText}, which is not trusted here (trusted: {_key.PublicKey.KeyIdText}) [EIM502]", wrong.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigTrustedKeys_AreRelativeToTheConfig_AndRequireASignature()
    {
        string config = File.ReadAllText(Fixtures.Path("accel/device.json"))
            .Replace("\"status_interval_s\": 0", "\"status_interval_s\": 0, \"trusted_keys\": [\"keys/k.pub.pem\"]", StringComparison.Ordinal);
        Assert.Contains("trusted_keys", config, StringComparison.Ordinal);
        File.WriteAllText(In("device.json"), config);
        byte[] model = File.ReadAllBytes(Fixtures.Path("accel/accel_conv1d.eim"));
        string[] args = ["--config", In("device.json"), "--replay", Fixtures.Path("accel/accel_recording.csv"), "--once"];

        Write("accel_conv1d.eim", model);
        var unsigned = Run(args);
        Assert.Equal(Device.Program.ExitModel, unsigned.Exit);
        Assert.Contains("[EIM500]", unsigned.Stderr, StringComparison.Ordinal);

        Write("accel_conv1d.eim", ModelSigner.Sign(model, _key, "accel_conv1d.eim"));
        var signed = Run(args);
        Assert.True(signed.Exit == 0, signed.Stderr);
        Assert.Single(signed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void UnusableTrustedKey_IsAConfigError_NamingTheFile()
    {
        File.WriteAllText(In("keys/private.pem"), _key.ExportPem());
        var (exit, _, stderr) = Run("--trusted-key", In("keys/private.pem"), "--model", Fixtures.Path("digits/digits_cnn.eim"), "--input", Fixtures.Path("digits/digits_test.csv"));
        Assert.Equal(Device.Program.ExitConfig, exit);
        Assert.StartsWith($"edgeinfer-device: trusted key {In("keys/private.pem")}: is a private key", stderr, StringComparison.Ordinal);

        var missing = Run("--trusted-key", In("keys/none.pub.pem"), "--model", Fixtures.Path("digits/digits_cnn.eim"), "--input", Fixtures.Path("digits/digits_test.csv"));
        Assert.Equal(Device.Program.ExitConfig, missing.Exit);
        Assert.Contains("cannot read the key file", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyTrustedKeys_IsRefused_ListIsRead()
    {
        const string Base = "{ \"model\": \"m.eim\", \"sensor\": { \"type\": \"mpu6050\" }, \"sample_rate_hz\": 50, \"window\": 64, \"hop\": 32";
        var e = Assert.Throws<ConfigException>(() => DeviceConfigLoader.Parse(Base + ", \"trusted_keys\": [] }", "device.json"));
        Assert.StartsWith("device.json: trusted_keys is empty", e.Message, StringComparison.Ordinal);
        Assert.Equal(["a.pem", "b.pem"], DeviceConfigLoader.Parse(Base + ", \"trusted_keys\": [\"a.pem\", \"b.pem\"] }", "device.json").TrustedKeys!);
    }
}
