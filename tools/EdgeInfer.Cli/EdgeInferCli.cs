using System.CommandLine;
using EdgeInfer.Cli.Commands;
using EdgeInfer.Converter;

namespace EdgeInfer.Cli;

/// <summary>
/// The <c>edgeinfer</c> command line. <see cref="Run"/> is the whole program, with its output streams passed in so
/// tests run it in-process. Every expected failure becomes one line on stderr — "edgeinfer: FILE: problem" — and an
/// exit code from <see cref="ExitCodes"/>; the stack trace only with --verbose.
/// </summary>
public static class EdgeInferCli
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var verbose = new Option<bool>("--verbose") { Description = "Print stack traces with errors", Recursive = true };
        var console = new CliConsole(stdout, stderr, interactive: ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected);
        var root = new RootCommand("EdgeInfer: convert, check, evaluate and benchmark models for small Linux boards.")
        {
            Options = { verbose },
            Subcommands =
            {
                ConvertCommand.Create(console),
                RunCommand.Create(console),
                InspectCommand.Create(console),
                VerifyCommand.Create(console),
                SignCommand.Create(console),
                KeygenCommand.Create(console),
                EvalCommand.Create(console),
                ReportCommand.Create(console),
                BenchCommand.Create(console),
                DemoCommand.Create(console),
            },
        };

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                stderr.WriteLine($"edgeinfer: {error.Message}");
            }

            stderr.WriteLine("Try 'edgeinfer --help'.");
            return ExitCodes.BadInput;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Describe(e) is { } message)
        {
            stderr.WriteLine($"edgeinfer: {message}");
            if (parsed.GetValue(verbose))
            {
                stderr.WriteLine(e.ToString());
            }

            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"edgeinfer: internal error: {e.GetType().Name}: {e.Message}");
            stderr.WriteLine(parsed.GetValue(verbose) ? e.ToString() : "Run again with --verbose for the stack trace, and please report it.");
            return ExitCodes.InternalError;
        }
    }

    /// <summary>The one-line message of an expected failure, or null for a bug.</summary>
    private static string? Describe(Exception e) => e switch
    {
        CliError or ConversionException or EdgeInferModelException => e.Message,
        FileNotFoundException f => $"{f.FileName}: file not found",
        DirectoryNotFoundException or UnauthorizedAccessException or IOException => e.Message,
        _ => null,
    };
}
