namespace EdgeInfer.Cli.Tests;

/// <summary>Runs the CLI in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = EdgeInferCli.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    public static string Fixture(params string[] parts)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate))
            {
                return Path.Combine([candidate, .. parts]);
            }
        }

        throw new DirectoryNotFoundException("tests/fixtures not found");
    }

    public static string TempDirectory() => Directory.CreateTempSubdirectory("edgeinfer-cli-tests-").FullName;

    public static float[][] ReadCsv(string path) => [.. File.ReadLines(path).Where(l => l.Length > 0)
        .Select(l => l.Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray())];
}
