using System.Reflection;

namespace EdgeInfer.Sensors.Tests;

/// <summary>The device side stays small and trimmable: no converter, no reflection-heavy or unit libraries.</summary>
public sealed class DependencyGuardTests
{
    private static readonly string[] s_forbidden =
        ["EdgeInfer.Converter", "EdgeInfer.Cli", "Google.Protobuf", "Google.FlatBuffers", "PureHDF", "Microsoft.ML.OnnxRuntime", "UnitsNet", "Newtonsoft.Json"];

    [Theory]
    [InlineData("EdgeInfer.Sensors")]
    [InlineData("edgeinfer-device")]
    public void Assembly_ReferencesNothingForbidden(string name)
    {
        Assembly assembly = name == "EdgeInfer.Sensors" ? typeof(ISampleSource).Assembly : typeof(Device.Program).Assembly;
        Assert.Equal(name, assembly.GetName().Name);
        string[] references = [.. assembly.GetReferencedAssemblies().Select(a => a.Name!)];
        Assert.Empty(references.Intersect(s_forbidden));
    }
}
