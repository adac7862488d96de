using EdgeInfer.Runtime;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

/// <summary>
/// TensorFlow Lite Micro's person detector (int8 MobileNet v1 0.25, 96×96), as the TFLite importer converts it
/// (tests/fixtures/tflm/person_detect.eim; the converter tests keep it current), on TFLM's two test images. Every
/// layer's bytes must equal those of tools/tflite-reference, an independent implementation of TFLite's integer
/// kernels, on every kernel path this CPU has: on x64 here, and as Cortex-A53, A72 and A76 (SDOT) under QEMU.
/// </summary>
public class TflmPersonDetectTests
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "tflm");

    public static TheoryData<KernelPath> Paths => [.. KernelPaths.Supported];

    [Theory]
    [MemberData(nameof(Paths))]
    public void PersonDetect_EveryLayerMatchesTheTfLiteReference(KernelPath path)
    {
        var reference = TfLiteReference.Read(Path.Combine(Dir, "person_detect_expected.txt"));
        List<sbyte[]> images = TfLiteReference.RawSamples(96 * 96, Path.Combine(Dir, "person_96x96_int8.raw"), Path.Combine(Dir, "no_person_96x96_int8.raw"));

        IReadOnlyList<string> problems = reference.Compare(File.ReadAllBytes(Path.Combine(Dir, "person_detect.eim")), images, path);

        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(10)));
        Assert.Equal(31, reference.Layers[0].Count);
        // TFLM's own test: the person image scores higher as a person, the other one as not a person.
        Assert.True(reference.Outputs[0][1] > reference.Outputs[0][0] && reference.Outputs[1][0] > reference.Outputs[1][1]);
    }
}
