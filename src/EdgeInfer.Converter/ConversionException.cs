namespace EdgeInfer.Converter;

/// <summary>
/// A model could not be converted. The message is one line naming the source file and, where there is one,
/// the node and its operator.
/// </summary>
public sealed class ConversionException : Exception
{
    public ConversionException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>For a node: "<paramref name="source"/>: node 'name' (OpType): problem".</summary>
    public static ConversionException ForNode(string source, string nodeName, string opType, string problem)
        => new($"{source}: node '{nodeName}' ({opType}): {problem}");
}
