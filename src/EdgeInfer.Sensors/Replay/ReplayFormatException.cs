namespace EdgeInfer.Sensors.Replay;

/// <summary>A recording could not be read. The message is one line: "file:line: problem".</summary>
public sealed class ReplayFormatException : Exception
{
    public ReplayFormatException(string path, int line, string problem, Exception? inner = null)
        : base(line > 0 ? $"{path}:{line}: {problem}" : $"{path}: {problem}", inner)
    {
        Path = path;
        Line = line;
        Problem = problem;
    }

    public string Path { get; }

    /// <summary>1-based line number; 0 when the problem is the file itself.</summary>
    public int Line { get; }

    public string Problem { get; }
}
