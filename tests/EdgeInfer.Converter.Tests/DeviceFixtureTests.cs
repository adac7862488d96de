using EdgeInfer.Converter.Tests.Support;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// The device tests (EdgeInfer.Sensors.Tests, and the arm64 runs under QEMU) load committed .eim files instead of
/// referencing the converter. These tests are the generator and the guard: each committed .eim must be exactly what
/// the converter makes of its ONNX source today. Set EDGEINFER_REGENERATE_FIXTURES=1 to rewrite them after a
/// deliberate change of the converter or the format.
/// </summary>
public sealed class DeviceFixtureTests
{
    public static TheoryData<string, string> Models => new()
    {
        { "accel/accel_conv1d.onnx", "accel/accel_conv1d.eim" },
        { "digits/digits_cnn.onnx", "digits/digits_cnn.eim" },
        { "digits/digits_mlp.onnx", "digits/digits_mlp.eim" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void CommittedEim_EqualsFreshConversion(string onnx, string eim)
    {
        byte[] converted = ModelConverter.Convert(Path.Combine(Fixtures.Directory, onnx), new ConvertOptions()).File;
        byte[] again = ModelConverter.Convert(Path.Combine(Fixtures.Directory, onnx), new ConvertOptions()).File;
        Assert.Equal(converted, again);

        string path = Path.Combine(Fixtures.Directory, eim);
        if (Environment.GetEnvironmentVariable("EDGEINFER_REGENERATE_FIXTURES") == "1")
        {
            File.WriteAllBytes(path, converted);
        }

        Assert.True(File.Exists(path), $"{path} is missing; run with EDGEINFER_REGENERATE_FIXTURES=1");
        Assert.True(converted.AsSpan().SequenceEqual(File.ReadAllBytes(path)), $"{path} differs from a fresh conversion of {onnx}; run with EDGEINFER_REGENERATE_FIXTURES=1 if the change is intended");
    }
}
