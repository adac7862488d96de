namespace EdgeInfer.Converter.Tests.Support;

/// <summary>Locates tests/fixtures from the test binary's directory.</summary>
internal static class Fixtures
{
    public static string Directory { get; } = Find();

    private static string Find()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "tests", "fixtures");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/fixtures not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Rows of comma-separated floats.</summary>
    public static float[][] ReadCsv(string path) => [.. File.ReadLines(path).Where(l => l.Length > 0)
        .Select(l => l.Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray())];
}
