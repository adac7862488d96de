using EdgeInfer.Converter.Tests.Support;

namespace EdgeInfer.Cli.Tests;

/// <summary>
/// A small converted model (Gemm 8→6, Relu, Gemm 6→3, Softmax) damaged in every way a copy to a board can damage it:
/// each single-bit flip at every bit position, and each truncation. `edgeinfer verify` exits 1 naming the error code,
/// and the loader throws <see cref="EdgeInferModelException"/>, for every one of them.
/// </summary>
public sealed class VerifyTests : IDisposable
{
    private readonly string _dir = CliRunner.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private byte[] ConvertSmallModel()
    {
        var rng = new Random(3);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5))];
        string onnx = Path.Combine(_dir, "small.onnx");
        File.WriteAllBytes(onnx, new OnnxBuilder().Input("x", 1, 8)
            .Initializer("w1", [6, 8], Values(48)).Initializer("b1", [6], Values(6))
            .Initializer("w2", [3, 6], Values(18)).Initializer("b2", [3], Values(3))
            .Node("Gemm", ["x", "w1", "b1"], ["h"], ("transB", 1L)).Node("Relu", ["h"], ["r"])
            .Node("Gemm", ["r", "w2", "b2"], ["z"], ("transB", 1L)).Node("Softmax", ["z"], ["y"], ("axis", 1L))
            .Output("y", 1, 3).ToBytes());
        string eim = Path.Combine(_dir, "small.eim");
        var convert = CliRunner.Run("convert", onnx, "-o", eim);
        Assert.True(convert.Exit == 0, convert.Err);
        return File.ReadAllBytes(eim);
    }

    [Fact]
    public void Verify_IntactModel_ExitsZero()
    {
        byte[] file = ConvertSmallModel();
        var verify = CliRunner.Run("verify", Path.Combine(_dir, "small.eim"));
        Assert.True(verify.Exit == 0, verify.Err);
        Assert.Contains(": OK:", verify.Out, StringComparison.Ordinal);
        Assert.True(file.Length < 4096, $"{file.Length} bytes");
    }

    [Fact]
    public void EveryBitFlip_IsRejectedByVerifyAndLoader()
    {
        byte[] file = ConvertSmallModel();
        string path = Path.Combine(_dir, "flipped.eim");
        for (int bit = 0; bit < file.Length * 8; bit++)
        {
            byte[] damaged = (byte[])file.Clone();
            damaged[bit >> 3] ^= (byte)(1 << (bit & 7));
            AssertRejected(damaged, path, $"bit {bit} (byte {bit >> 3})");
        }
    }

    [Fact]
    public void EveryTruncation_IsRejectedByVerifyAndLoader()
    {
        byte[] file = ConvertSmallModel();
        string path = Path.Combine(_dir, "truncated.eim");
        for (int length = 0; length < file.Length; length++)
        {
            AssertRejected(file[..length], path, $"truncated to {length} bytes");
        }
    }

    private static void AssertRejected(byte[] damaged, string path, string what)
    {
        var e = Assert.Throws<EdgeInferModelException>(() => Model.FromBytes(damaged, what).Dispose());
        Assert.NotEqual(ModelError.None, e.Error);

        File.WriteAllBytes(path, damaged);
        var verify = CliRunner.Run("verify", path);
        if (verify.Exit != ExitCodes.ModelInvalid || !verify.Err.Contains("(EIM", StringComparison.Ordinal))
        {
            Assert.Fail($"{what}: verify exited {verify.Exit}: {verify.Out}{verify.Err}");
        }
    }
}
