using System.CommandLine;
using EdgeInfer.Cli.Data;
using EdgeInfer.Converter;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

/// <summary>Options and loading shared by several commands.</summary>
internal static class CommandSupport
{
    public static Option<string> KernelsOption() => new("--kernels")
    {
        Description = "Kernel path: auto, scalar, vector128, avx2, avx512, dotproduct (default: auto, or EDGEINFER_KERNELS)",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<string> LabelsOption(string name = "--labels") => new(name)
    {
        Description = "Where the labels are: last-column (the CSV's last column) or none",
        DefaultValueFactory = _ => "none",
    };

    public static KernelPath ParseKernels(string text)
    {
        if (!KernelPaths.TryParse(text, out KernelPath path))
        {
            throw new CliError($"--kernels: '{text}' is not a kernel path (auto, scalar, vector128, avx2, avx512, dotproduct)");
        }

        if (!KernelPaths.IsSupported(path))
        {
            throw new CliError($"--kernels: this CPU cannot run the {path} path (supported: {string.Join(", ", KernelPaths.Supported)})");
        }

        return path;
    }

    public static LabelColumn ParseLabels(string text) => text switch
    {
        "last-column" => LabelColumn.LastColumn,
        "none" or "" => LabelColumn.None,
        _ => throw new CliError($"--labels: '{text}' is not understood (last-column or none)"),
    };

    public static void RequireFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliError($"{path}: file not found");
        }
    }

    /// <summary>Loads an .eim, or converts a source model (.onnx, .tflite, .h5) in memory as `convert` would without options (for eval and reference comparisons).</summary>
    public static Model LoadModel(string path)
    {
        RequireFile(path);
        return Path.GetExtension(path).Equals(".eim", StringComparison.OrdinalIgnoreCase)
            ? Model.Load(path)
            : Model.FromBytes(ModelConverter.Convert(path, new ConvertOptions()).File, path);
    }

    /// <summary>The element count of the model's single input.</summary>
    public static int InputWidth(Model model)
    {
        if (model.Graph.Inputs.Length != 1)
        {
            throw new CliError($"{model.Source}: this command feeds single-input models; this one has {model.Graph.Inputs.Length} inputs");
        }

        return checked((int)model.Graph.Tensors[model.Graph.Inputs[0]].ElementCount);
    }

    /// <summary>
    /// Writes a file so that a failure part-way leaves any earlier file of that name intact. <paramref name="mode"/>
    /// is the Unix mode the file is created with (never widened afterwards: a private key is 0600 from its first
    /// byte); without <paramref name="overwrite"/> an existing file is an error and is left alone.
    /// </summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes, UnixFileMode? mode = null, bool overwrite = true)
    {
        string full = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(full);
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new CliError($"{path}: the directory {directory} does not exist");
        }

        string temp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            File.Delete(temp); // a leftover of a crashed run must not lend its mode to this file
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (mode is { } m && !OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = m;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(bytes);
            }

            File.Move(temp, full, overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp); // no-op when it was never created
            throw !overwrite && File.Exists(full)
                ? new CliError($"{path}: already exists; not overwritten")
                : new CliError($"{path}: cannot write it: {e.Message.Replace(temp, full, StringComparison.Ordinal)}");
        }
    }

    /// <summary>The trusted public keys named by --trusted-key, as load options (none: integrity and structure only).</summary>
    public static ModelLoadOptions TrustedKeys(string[]? paths)
    {
        if (paths is null || paths.Length == 0)
        {
            return ModelLoadOptions.Default;
        }

        foreach (string path in paths)
        {
            RequireFile(path);
        }

        return new ModelLoadOptions { TrustedKeys = [.. paths.Select(ModelPublicKey.Load)] };
    }

    /// <summary>Loads the private key named by --key or --sign-key (the caller disposes it).</summary>
    public static ModelSigningKey SigningKey(string path)
    {
        RequireFile(path);
        return ModelSigningKey.Load(path);
    }

    public static string Bytes(long n) => n < 10_000 ? $"{n:N0} B" : n < 10_000_000 ? $"{n / 1024.0:F1} KiB" : $"{n / (1024.0 * 1024):F2} MiB";
}
