using System.CommandLine;

namespace EdgeInfer.Cli.Commands;

/// <summary>
/// <c>edgeinfer sign model.eim --key NAME.pem [-o out.eim]</c>: appends (or replaces) the model's signature. The model
/// is fully verified first and the signed file is checked against the key before it is written; it replaces the
/// target in one rename, so a failure at any point leaves the original as it was.
/// </summary>
internal static class SignCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .eim model" };
        var key = new Option<string>("--key") { Description = "The private key (PEM, e.g. NAME.pem from edgeinfer keygen)", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the signed model (default: sign in place)" };
        var command = new Command("sign", "Sign a model with an ECDSA P-256 key (replacing any earlier signature)") { model, key, output };
        command.SetAction(r =>
        {
            string path = r.GetValue(model)!;
            string target = r.GetValue(output) ?? path;
            CommandSupport.RequireFile(path);
            using ModelSigningKey signingKey = CommandSupport.SigningKey(r.GetValue(key)!);
            byte[] original = File.ReadAllBytes(path);
            string? previous;
            using (Model m = Model.FromBytes(original, path))
            {
                previous = m.Signature?.KeyIdText;
            }

            byte[] signed = ModelSigner.Sign(original, signingKey, path);
            CommandSupport.WriteAtomically(target, signed);
            string replaced = previous is null ? "" : $", replacing the signature by key {previous}";
            console.Out.WriteLine($"signed {target} with key {signingKey.PublicKey.KeyIdText}: {CommandSupport.Bytes(signed.Length)} (was {CommandSupport.Bytes(original.Length)}){replaced}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
