using System.Text;

namespace EdgeInfer.Conformance.Tests;

/// <summary>
/// Runs the ONNX backend test cases (PyTorch-converted modules and operators) end to end: ONNX → .eim → Interpreter,
/// compared with the expected outputs. Supported-operator cases must pass; unsupported ones are reported as skipped
/// with the reason.
/// </summary>
public class ConformanceTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> CaseNames()
    {
        var data = new TheoryData<string, string>();
        foreach (ConformanceCase c in ConformanceSuite.Cases())
        {
            data.Add(c.Suite, c.Name);
        }

        if (data.Count == 0)
        {
            data.Add("(missing)", "(no cases)"); // so the data problem surfaces as a failing test, not as nothing
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Case_MatchesExpectedOutputs(string suite, string name)
    {
        if (ConformanceSuite.MissingDataMessage() is { } missing)
        {
            Assert.Fail(missing);
        }

        CaseResult result = ConformanceSuite.Results.Single(r => r.Case.Suite == suite && r.Case.Name == name);
        output.WriteLine(result.Line);
        switch (result.Status)
        {
            case CaseStatus.Skipped:
                Assert.Skip(result.Detail);
                break;
            case CaseStatus.Failed:
                Assert.Fail(result.Detail);
                break;
        }
    }

    /// <summary>The conversion alone: the lowered graph through the reference evaluator, whatever kernels exist.</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Case_LoweredGraph_MatchesExpectedOutputs(string suite, string name)
    {
        if (ConformanceSuite.MissingDataMessage() is { } missing)
        {
            Assert.Fail(missing);
        }

        CaseResult result = ConformanceSuite.ReferenceResults.Single(r => r.Case.Suite == suite && r.Case.Name == name);
        output.WriteLine(result.Line);
        switch (result.Status)
        {
            case CaseStatus.Skipped:
                Assert.Skip(result.Detail);
                break;
            case CaseStatus.Failed:
                Assert.Fail(result.Detail);
                break;
        }
    }

    [Fact]
    public void Summary_AllSuites_NoFailures()
    {
        if (ConformanceSuite.MissingDataMessage() is { } missing)
        {
            Assert.Fail(missing);
        }

        var text = new StringBuilder();
        Report(text, "EdgeInfer Interpreter", ConformanceSuite.Results);
        Report(text, "reference evaluator (conversion only)", ConformanceSuite.ReferenceResults);
        output.WriteLine(text.ToString());
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "conformance-summary.txt"), text.ToString());
        Assert.Empty(ConformanceSuite.Results.Concat(ConformanceSuite.ReferenceResults).Where(r => r.Status == CaseStatus.Failed).Select(r => r.Line));
    }

    private static void Report(StringBuilder text, string title, IReadOnlyList<CaseResult> results)
    {
        text.AppendLine($"## {title}");
        foreach (CaseResult r in results)
        {
            text.AppendLine(r.Line);
        }

        text.AppendLine();
        text.AppendLine("| directory | passed | failed | skipped |");
        text.AppendLine("|---|---:|---:|---:|");
        foreach (string suite in ConformanceSuite.Suites)
        {
            CaseResult[] rs = [.. results.Where(r => r.Case.Suite == suite)];
            text.AppendLine($"| {suite} | {rs.Count(r => r.Status == CaseStatus.Passed)} | {rs.Count(r => r.Status == CaseStatus.Failed)} | {rs.Count(r => r.Status == CaseStatus.Skipped)} |");
        }

        text.AppendLine();
        text.AppendLine("Skip reasons:");
        foreach (IGrouping<string, CaseResult> g in results.Where(r => r.Status == CaseStatus.Skipped).GroupBy(r => r.Detail).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
        {
            text.AppendLine($"  {g.Count(),3} × {g.Key}");
        }

        text.AppendLine();
    }
}
