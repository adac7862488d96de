using EdgeInfer.Converter.Emit;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Runtime;

namespace EdgeInfer.Converter.Quantization;

/// <summary>
/// Runs the float model through the same runtime the board uses, on representative samples, and records every
/// activation's statistics by tensor name: one pass for the extremes, a second for the histograms the clipping
/// methods need (min/max needs only the first).
/// </summary>
public static class CalibrationRunner
{
    public static Dictionary<string, ActivationStatistics> Collect(Graph floatGraph, IReadOnlyList<float[]> samples, bool needHistograms, Action<int, int>? progress)
    {
        if (samples.Count == 0)
        {
            throw new ConversionException($"{floatGraph.Source}: calibration needs at least one sample");
        }

        byte[] file = ModelEmitter.Emit(floatGraph).File;
        using Model model = Model.FromBytes(file, floatGraph.Name + " (float, calibration)");
        var interpreter = new Interpreter(model);
        TensorView input = interpreter.Input(0);
        if (interpreter.InputCount != 1)
        {
            throw new ConversionException($"{floatGraph.Source}: calibration supports single-input models; this one has {interpreter.InputCount}");
        }

        var stats = new Dictionary<string, ActivationStatistics>(StringComparer.Ordinal);
        foreach (TensorInfo t in model.Graph.Tensors)
        {
            if (!t.IsConstant && t.DataType == DataType.Float32)
            {
                stats[t.Name] = new ActivationStatistics();
            }
        }

        int passes = needHistograms ? 2 : 1;
        int total = samples.Count * passes;
        for (int pass = 0; pass < passes; pass++)
        {
            var observer = new Observer(stats, histogram: pass == 1);
            for (int i = 0; i < samples.Count; i++)
            {
                if (samples[i].Length != input.ElementCount)
                {
                    throw new ConversionException($"{floatGraph.Source}: calibration sample {i + 1} has {samples[i].Length} values; the input '{input.Name}' takes {input.ElementCount}");
                }

                input.WriteFloats(samples[i]);
                observer.Record(input.Info.Name, input.AsSpan<float>());
                interpreter.Invoke(observer);
                progress?.Invoke(pass * samples.Count + i + 1, total);
            }
        }

        return stats;
    }

    private sealed class Observer(Dictionary<string, ActivationStatistics> stats, bool histogram) : INodeObserver
    {
        public void OnNodeInvoked(Interpreter interpreter, NodeInfo node)
        {
            foreach (int o in node.Outputs)
            {
                TensorView view = interpreter.Tensor(o);
                if (view.DataType == DataType.Float32)
                {
                    Record(view.Name, view.AsSpan<float>());
                }
            }
        }

        public void Record(string name, ReadOnlySpan<float> values)
        {
            if (stats.TryGetValue(name, out ActivationStatistics? s))
            {
                if (histogram)
                {
                    s.ObserveHistogram(values);
                }
                else
                {
                    s.ObserveRange(values);
                }
            }
        }
    }
}
