using System.CommandLine;
using System.Text;

namespace EdgeInfer.Cli.Commands;

/// <summary>
/// <c>edgeinfer keygen -o NAME</c>: a new ECDSA P-256 key pair for signing models. NAME.pem is the private key
/// (PKCS#8 PEM, created with mode 0600), NAME.pub.pem the public key the devices trust (SubjectPublicKeyInfo PEM).
/// Existing files are never replaced without --force: overwriting a signing key by accident orphans every device
/// that trusts it.
/// </summary>
internal static class KeygenCommand
{
    private const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PublicMode = PrivateMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static Command Create(CliConsole console)
    {
        var output = new Option<string>("--output", "-o") { Description = "Key name: writes NAME.pem (private) and NAME.pub.pem (public)", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace existing key files" };
        var command = new Command("keygen", "Create an ECDSA P-256 key pair for signing models") { output, force };
        command.SetAction(r =>
        {
            string name = r.GetValue(output)!;
            if (name.EndsWith(".pem", StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^4]; // -o k.pem means the pair k.pem / k.pub.pem, not k.pem.pem
            }

            string privatePath = name + ".pem";
            string publicPath = name + ".pub.pem";
            bool overwrite = r.GetValue(force);
            foreach (string path in new[] { privatePath, publicPath })
            {
                if (!overwrite && File.Exists(path))
                {
                    throw new CliError($"{path}: already exists; keygen does not replace keys (--force does)");
                }
            }

            using ModelSigningKey key = ModelSigningKey.Generate();
            CommandSupport.WriteAtomically(privatePath, Encoding.ASCII.GetBytes(key.ExportPem() + "\n"), PrivateMode, overwrite);
            CommandSupport.WriteAtomically(publicPath, Encoding.ASCII.GetBytes(key.PublicKey.ExportPem() + "\n"), PublicMode, overwrite);
            console.Out.WriteLine($"wrote {privatePath} (private key, mode 0600: keep it off the devices) and {publicPath} (public key: give it to the devices)");
            console.Out.WriteLine($"key id {key.PublicKey.KeyIdText}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
