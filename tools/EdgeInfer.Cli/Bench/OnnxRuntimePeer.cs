using Microsoft.ML.OnnxRuntime;

namespace EdgeInfer.Cli.Bench;

/// <summary>
/// ONNX Runtime on the original model, set up the way a careful .NET user would for a single-sample device loop:
/// one intra-op thread, sequential execution, every graph optimization, and input and output buffers bound once
/// (OrtValues over pinned managed arrays), so a Run allocates as little as ONNX Runtime's C# API allows.
/// </summary>
internal sealed class OnnxRuntimePeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _input;
    private readonly OrtValue[] _inputs;
    private readonly OrtValue[] _outputs;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    public OnnxRuntimePeer(string path, int inputElements)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        try
        {
            _session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CliError($"{path}: ONNX Runtime cannot load it: {e.Message.Split('\n')[0]}");
        }

        if (_session.InputMetadata.Count != 1)
        {
            throw new CliError($"{path}: --compare needs a single-input model; this one has {_session.InputMetadata.Count}");
        }

        (string inputName, NodeMetadata inputMeta) = _session.InputMetadata.First();
        long[] inputShape = Fixed(inputMeta.Dimensions);
        if (inputShape.Aggregate(1L, (a, d) => a * d) != inputElements)
        {
            throw new CliError($"{path}: input '{inputName}' [{string.Join(",", inputShape)}] does not match the .eim input's {inputElements} values");
        }

        _input = new float[inputElements];
        _inputNames = [inputName];
        _inputs = [OrtValue.CreateTensorValueFromMemory(_input, inputShape)];
        _outputNames = [.. _session.OutputMetadata.Keys];
        _outputs = [.. _session.OutputMetadata.Values.Select(m =>
        {
            long[] shape = Fixed(m.Dimensions);
            return OrtValue.CreateTensorValueFromMemory(new float[shape.Aggregate(1L, (a, d) => a * d)], shape);
        })];
    }

    public Span<float> Input => _input;

    /// <summary>The first output of the last <see cref="Run"/>.</summary>
    public ReadOnlySpan<float> Output => _outputs[0].GetTensorDataAsSpan<float>();

    public void Run() => _session.Run(_runOptions, _inputNames, _inputs, _outputNames, _outputs);

    public void Dispose()
    {
        foreach (OrtValue v in _inputs.Concat(_outputs))
        {
            v.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
    }

    /// <summary>Dynamic dimensions (batch) become 1, as the converter fixes them.</summary>
    private static long[] Fixed(int[] dims) => [.. dims.Select(d => d <= 0 ? 1L : d)];
}
