using Microsoft.ML.OnnxRuntime;

namespace EdgeInfer.Converter.Tests.Support;

/// <summary>ONNX Runtime as the oracle: runs a model on one thread and returns every output as floats.</summary>
internal static class OrtOracle
{
    public static float[][] Run(byte[] model, params (string Name, int[] Shape, float[] Data)[] inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model, options);
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, [.. i.Shape.Select(d => (long)d)])).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, [.. inputs.Select(i => i.Name)], values, session.OutputNames);
            return [.. results.Select(r => r.GetTensorDataAsSpan<float>().ToArray())];
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }
}
