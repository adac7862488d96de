using EdgeInfer.Converter.Tests.Support;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// Truncated and byte-damaged ONNX files: the converter either converts what is still a valid model or throws
/// <see cref="ConversionException"/> naming the file — never a protobuf, index or null-reference exception.
/// </summary>
public class CorruptOnnxTests
{
    [Fact]
    public void Convert_TruncatedOrDamagedOnnx_ThrowsConversionExceptionNamingTheFile()
    {
        byte[] onnx = File.ReadAllBytes(Path.Combine(Fixtures.Directory, "digits", "digits_cnn.onnx"));
        string dir = Directory.CreateTempSubdirectory("edgeinfer-corrupt-").FullName;
        var rng = new Random(5);
        int refused = 0, converted = 0;
        try
        {
            var cases = new List<byte[]>();
            for (int length = 0; length < onnx.Length; length += 1 + length / 8)
            {
                cases.Add(onnx[..length]);
            }

            for (int i = 0; i < 300; i++)
            {
                byte[] damaged = (byte[])onnx.Clone();
                for (int e = 0; e < 1 + rng.Next(4); e++)
                {
                    damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
                }

                cases.Add(damaged);
            }

            for (int i = 0; i < cases.Count; i++)
            {
                string path = Path.Combine(dir, $"case{i}.onnx");
                File.WriteAllBytes(path, cases[i]);
                try
                {
                    _ = ModelConverter.Convert(path, new ConvertOptions());
                    converted++;
                }
                catch (ConversionException e)
                {
                    Assert.Contains($"case{i}.onnx", e.Message, StringComparison.Ordinal);
                    Assert.DoesNotContain('\n', e.Message);
                    refused++;
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Assert.True(refused > 0 && refused + converted > 300);
    }
}
