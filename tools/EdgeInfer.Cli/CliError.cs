namespace EdgeInfer.Cli;

/// <summary>
/// Bad input the user can fix: a missing file, a malformed CSV, options that contradict each other. The message is
/// one line that starts with the file it is about; the CLI prints it and exits with <see cref="ExitCodes.BadInput"/>.
/// </summary>
public sealed class CliError(string message) : Exception(message);

/// <summary>Process exit codes, the same for every command (docs/cli.md).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary><c>verify</c> found the model invalid.</summary>
    public const int ModelInvalid = 1;

    /// <summary>Bad input or usage: missing or unreadable file, malformed data, a model that cannot be loaded or converted.</summary>
    public const int BadInput = 2;

    /// <summary>A bug in EdgeInfer (an exception nobody expected); the message asks for a report.</summary>
    public const int InternalError = 3;
}
