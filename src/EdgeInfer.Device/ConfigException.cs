namespace EdgeInfer.Device;

/// <summary>device.json or the command line is wrong. The message is one line naming the file and the problem.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
