using Spectre.Console;

namespace EdgeInfer.Cli;

/// <summary>
/// Where commands write. Progress bars only on an interactive terminal; elsewhere (CI logs, tests, pipes) long work
/// reports nothing until it ends, so output stays plain and stable.
/// </summary>
public sealed class CliConsole(TextWriter stdout, TextWriter stderr, bool interactive)
{
    public TextWriter Out { get; } = stdout;
    public TextWriter Error { get; } = stderr;

    /// <summary>Runs <paramref name="work"/>, which reports (done, total) through its callback, under a progress bar.</summary>
    public T WithProgress<T>(string description, Func<Action<int, int>, T> work)
    {
        if (!interactive)
        {
            return work((_, _) => { });
        }

        return AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(description, maxValue: 1);
                return work((done, total) =>
                {
                    task.MaxValue = Math.Max(1, total);
                    task.Value = done;
                });
            });
    }
}
