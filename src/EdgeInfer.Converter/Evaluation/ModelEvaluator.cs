using EdgeInfer.Runtime;

namespace EdgeInfer.Converter.Evaluation;

/// <summary>A data set: one float array per sample in the model input's layout, and optional labels.</summary>
public sealed record Dataset(IReadOnlyList<float[]> Samples, IReadOnlyList<double>? Labels, string Source);

/// <summary>How a model did on a data set. Accuracy for classifiers (integer labels, several outputs); MSE and MAE
/// for regressors (one output).</summary>
public sealed record EvaluationResult(int Samples, double? Accuracy, double? Mse, double? Mae, int[]? Predictions, float[][] Outputs)
{
    public string Summary => Accuracy is double a ? $"top-1 accuracy {a * 100:F2}% on {Samples} samples"
        : Mse is double m ? $"MSE {m:G6}, MAE {Mae:G6} on {Samples} samples" : $"{Samples} samples (no labels)";
}

/// <summary>Runs a model over a data set through the runtime and scores it.</summary>
public static class ModelEvaluator
{
    public static EvaluationResult Evaluate(Model model, Dataset data, InterpreterOptions? options = null, Action<int, int>? progress = null)
    {
        var interpreter = new Interpreter(model, options);
        if (interpreter.InputCount != 1)
        {
            throw new ConversionException($"{model.Source}: evaluation supports single-input models; this one has {interpreter.InputCount}");
        }

        TensorView input = interpreter.Input(0);
        TensorView output = interpreter.Output(0);
        RequireLabelsFit(data, output.ElementCount);
        var outputs = new float[data.Samples.Count][];
        for (int i = 0; i < data.Samples.Count; i++)
        {
            float[] sample = data.Samples[i];
            if (sample.Length != input.ElementCount)
            {
                throw new ConversionException($"{data.Source}: sample {i + 1} has {sample.Length} values; the model input '{input.Name}' {input.Info.ShapeText} takes {input.ElementCount}");
            }

            input.WriteFloats(sample);
            interpreter.Invoke();
            outputs[i] = output.ToFloatArray();
            progress?.Invoke(i + 1, data.Samples.Count);
        }

        return Score(outputs, data.Labels);
    }

    /// <summary>
    /// Refuses labels the score would silently miscount: for a classifier (several outputs) each label must be a
    /// class index, an integer in [0, classes); for a regressor (one output) a finite value.
    /// </summary>
    public static void RequireLabelsFit(Dataset data, long outputs)
    {
        if (data.Labels is not { } labels)
        {
            return;
        }

        for (int i = 0; i < labels.Count; i++)
        {
            double v = labels[i];
            bool fits = outputs > 1 ? v >= 0 && v < outputs && v == Math.Floor(v) : double.IsFinite(v);
            if (!fits)
            {
                throw new ConversionException(outputs > 1
                    ? $"{data.Source}: sample {i + 1}: label {v} is not a class of this model (an integer from 0 to {outputs - 1}: it has {outputs} outputs)"
                    : $"{data.Source}: sample {i + 1}: label {v} is not a finite number");
            }
        }
    }

    /// <summary>Scores outputs against labels: classification when there are several outputs per sample.</summary>
    public static EvaluationResult Score(float[][] outputs, IReadOnlyList<double>? labels)
    {
        int n = outputs.Length;
        int[] predictions = [.. outputs.Select(ArgMax)];
        if (labels is null || labels.Count != n || n == 0)
        {
            return new EvaluationResult(n, null, null, null, predictions, outputs);
        }

        if (outputs[0].Length > 1)
        {
            int correct = 0;
            for (int i = 0; i < n; i++)
            {
                correct += predictions[i] == (int)Math.Round(labels[i]) ? 1 : 0;
            }

            return new EvaluationResult(n, (double)correct / n, null, null, predictions, outputs);
        }

        double se = 0, ae = 0;
        for (int i = 0; i < n; i++)
        {
            double e = outputs[i][0] - labels[i];
            se += e * e;
            ae += Math.Abs(e);
        }

        return new EvaluationResult(n, null, se / n, ae / n, null, outputs);
    }

    public static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
