namespace EdgeInfer.Converter;

/// <summary>
/// A model could not be converted. The message is one line naming the source file and, where there is one,
/// the node and its operator.
/// </summary>
public class ConversionException : Exception
{
    public ConversionException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>For a node: "<paramref name="source"/>: node 'name' (OpType): problem".</summary>
    public static ConversionException ForNode(string source, string nodeName, string opType, string problem)
        => new($"{source}: node '{nodeName}' ({opType}): {problem}");
}

/// <summary>
/// The model uses an operator, or a form of one (3-D convolution, reflect padding, a non-constant weight), that
/// EdgeInfer cannot express. Distinct from other conversion failures so tools and the conformance suite can tell
/// "not supported" from "broken".
/// </summary>
public sealed class UnsupportedOperatorException : ConversionException
{
    public UnsupportedOperatorException(string message, string opType, string reason)
        : base(message)
    {
        OpType = opType;
        Reason = reason;
    }

    /// <summary>The source operator, e.g. "Resize".</summary>
    public string OpType { get; }

    /// <summary>What is unsupported, without file or node: "operator not supported", "3-D convolution".</summary>
    public string Reason { get; }
}
