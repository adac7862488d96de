namespace EdgeInfer.Conformance.Tests;

/// <summary>
/// The ONNX backend cases shipped by Debian's libonnx-testdata, and their results, computed once per test run and
/// shared by the per-case tests and the summary.
/// </summary>
public static class ConformanceSuite
{
    public const string DataRoot = "/usr/share/libonnx-testdata/data";

    public static readonly string[] Suites = ["pytorch-converted", "pytorch-operator"];

    private static readonly Lazy<IReadOnlyList<CaseResult>> LazyResults = new(() => [.. Cases().Select(ConformanceRunner.Run)]);
    private static readonly Lazy<IReadOnlyList<CaseResult>> LazyReferenceResults = new(() => [.. Cases().Select(ConformanceRunner.RunReference)]);

    /// <summary>Results through EdgeInfer's Interpreter.</summary>
    public static IReadOnlyList<CaseResult> Results => LazyResults.Value;

    /// <summary>Results of the lowered graphs through the reference evaluator (the conversion alone).</summary>
    public static IReadOnlyList<CaseResult> ReferenceResults => LazyReferenceResults.Value;

    /// <summary>The data directory for a suite, or an explanation of why it is missing.</summary>
    public static string SuiteDirectory(string suite) => Path.Combine(DataRoot, suite);

    public static string? MissingDataMessage()
    {
        string[] missing = [.. Suites.Where(s => !Directory.Exists(SuiteDirectory(s)))];
        return missing.Length == 0 ? null
            : $"ONNX conformance data is missing ({string.Join(", ", missing.Select(SuiteDirectory))}); install the Debian package libonnx-testdata (apt-get install libonnx-testdata)";
    }

    public static IEnumerable<ConformanceCase> Cases()
    {
        foreach (string suite in Suites)
        {
            string dir = SuiteDirectory(suite);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (string caseDir in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
            {
                if (File.Exists(Path.Combine(caseDir, "model.onnx")))
                {
                    yield return new ConformanceCase(suite, Path.GetFileName(caseDir), caseDir);
                }
            }
        }
    }
}
