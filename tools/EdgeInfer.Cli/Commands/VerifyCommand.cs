using System.CommandLine;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

/// <summary>
/// <c>edgeinfer verify model.eim</c>: everything the device checks before it runs a model — the container, every
/// hash, the graph, the memory plan — and then every kernel's preparation. Exit 0 when the model would run, 1 when
/// it would be refused (with the error code), 2 when the file cannot be read at all. With <c>--trusted-key</c> it also
/// demands what a device with those keys demands: a signature by one of them (an unreadable key file is exit 2).
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .eim model" };
        var trusted = new Option<string[]>("--trusted-key") { Description = "A public key (PEM) the model must be signed by; repeat for several", AllowMultipleArgumentsPerToken = false };
        var command = new Command("verify", "Check a model's integrity, structure and signature, and that this runtime can run it") { model, trusted };
        command.SetAction(r =>
        {
            string path = r.GetValue(model)!;
            CommandSupport.RequireFile(path);
            ModelLoadOptions options = CommandSupport.TrustedKeys(r.GetValue(trusted));
            try
            {
                using Model m = Model.Load(path, options);
                var interpreter = new Interpreter(m);
                console.Out.WriteLine($"{path}: OK: {CommandSupport.Bytes(m.FileLength)}, {m.Graph.Sections.Count} sections hashed, {m.Graph.Nodes.Count} operators prepared, arena {CommandSupport.Bytes(m.Graph.ArenaBytes)}, scratch {CommandSupport.Bytes(interpreter.ScratchBytes)}, {Signature(m)}");
                return ExitCodes.Ok;
            }
            catch (EdgeInferModelException e)
            {
                console.Error.WriteLine($"edgeinfer: {e.ModelSource}: invalid model: {e.Error} (EIM{(int)e.Error}): {e.Problem}");
                return ExitCodes.ModelInvalid;
            }
        });
        return command;
    }

    private static string Signature(Model m) => (m.TrustedSigner, m.Signature) switch
    {
        ({ } key, _) => $"signed by {key.KeyIdText}, signature OK",
        (null, { } sig) => $"signed by {sig.KeyIdText} (signature not checked: no --trusted-key)",
        _ => "not signed",
    };
}
