namespace EdgeInfer.Format;

/// <summary>
/// Why a model was refused. Grouped by range: 1xx the container, 2xx the graph, 3xx the memory plan,
/// 4xx operators and kernels, 5xx signatures, 9xx the file system. Numbers are stable; append only.
/// </summary>
public enum ModelError
{
    None = 0,

    // 1xx container
    Truncated = 100,
    BadMagic = 101,
    UnsupportedVersion = 102,
    HeaderInvalid = 103,
    HeaderHashMismatch = 104,
    FileLengthMismatch = 105,
    SectionTableInvalid = 106,
    SectionOutOfRange = 107,
    SectionMisaligned = 108,
    SectionOverlap = 109,
    SectionHashMismatch = 110,
    NonZeroPadding = 111,
    UnknownCriticalSection = 112,
    DuplicateSection = 113,
    MissingSection = 114,
    UnsupportedFlags = 115,

    // 2xx graph
    CountOutOfRange = 200,
    StringInvalid = 201,
    UnknownDataType = 202,
    RankTooLarge = 203,
    InvalidDimension = 204,
    ShapeOverflow = 205,
    ByteLengthMismatch = 206,
    TensorReferenceInvalid = 207,
    ConstantOutOfRange = 208,
    QuantizationInvalid = 209,
    NotTopological = 210,
    TensorProducedTwice = 211,
    GraphIoInvalid = 212,
    RecordInvalid = 213,
    SparseInvalid = 214,

    // 3xx memory plan
    ArenaTooLarge = 300,
    ArenaOffsetOutOfRange = 301,
    ArenaOverlap = 302,
    Misaligned = 303,

    // 4xx operators
    UnknownOpCode = 400,
    OptionsInvalid = 401,
    InvalidNode = 402,
    KernelNotRegistered = 403,

    // 5xx signatures
    SignatureMissing = 500,
    SignatureInvalid = 501,
    /// <summary>Signed, and the signature may be good, but by a key the loader was not told to trust.</summary>
    SignatureUntrusted = 502,
    /// <summary>A key file (not a model) is unusable: not PEM, encrypted, not EC, not P-256, the wrong half.</summary>
    KeyInvalid = 503,

    // 9xx file system
    FileUnreadable = 900,
}

/// <summary>
/// A model was refused. <see cref="Exception.Message"/> is one line: the source, the problem, the location.
/// </summary>
public sealed class EdgeInferModelException : Exception
{
    public EdgeInferModelException(ModelError error, string source, string problem, Exception? inner = null)
        : base($"{source}: {problem} [EIM{(int)error}]", inner)
    {
        Error = error;
        ModelSource = source;
        Problem = problem;
    }

    public ModelError Error { get; }

    /// <summary>The file path, or a caller-given name for a model loaded from memory.</summary>
    public string ModelSource { get; }

    /// <summary>The problem without the source prefix.</summary>
    public string Problem { get; }
}
