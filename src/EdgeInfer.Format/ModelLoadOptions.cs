namespace EdgeInfer.Format;

/// <summary>
/// What a loader demands beyond integrity and structure. With no trusted keys (the default) a model loads whether it
/// is signed or not. With trusted keys, it must be signed by one of them over exactly its bytes, checked after the
/// container and before the graph is parsed. There is no "require a signature" without keys: a signature checked
/// against no key proves nothing, since anyone can sign with a key of their own.
/// </summary>
public sealed class ModelLoadOptions
{
    public static ModelLoadOptions Default { get; } = new();

    public IReadOnlyList<ModelPublicKey> TrustedKeys { get; init; } = [];

    public bool RequiresSignature => TrustedKeys.Count > 0;
}
