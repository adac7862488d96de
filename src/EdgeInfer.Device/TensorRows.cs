using System.Globalization;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Sensors.Outputs;

namespace EdgeInfer.Device;

/// <summary>
/// <c>--input FILE</c>: the model run on whole input tensors, one CSV row per inference, for models that are not fed by
/// a sensor window (an image classifier) and for checking a board against goldens. A row holds the input's values in
/// the tensor's order, already preprocessed; a row of one value more ends in a label, which is ignored (the test CSVs
/// of the fixtures have that shape). Rows are read one at a time, so <c>--once</c> touches only the first; each
/// result is one JSON line like the sensor loop's, with the row number as "window" and 0 for the timestamps.
/// </summary>
internal static class TensorRows
{
    public static int Run(string modelPath, ModelLoadOptions trust, string inputPath, IReadOnlyList<string>? classes, bool once, Stream stdout, StreamWriter error, CancellationToken stop)
    {
        Model model;
        try
        {
            model = Model.Load(modelPath, trust);
        }
        catch (EdgeInferModelException e)
        {
            error.WriteLine($"edgeinfer-device: model refused: {e.Message}");
            return Program.ExitModel;
        }

        using (model)
        {
            Program.ReportSigner(model, error);
            Interpreter interpreter;
            try
            {
                interpreter = new Interpreter(model);
            }
            catch (EdgeInferModelException e)
            {
                error.WriteLine($"edgeinfer-device: model refused: {e.Message}");
                return Program.ExitModel;
            }

            if (interpreter.InputCount != 1)
            {
                error.WriteLine($"edgeinfer-device: {modelPath}: --input feeds models with one input; this one has {interpreter.InputCount}");
                return Program.ExitConfig;
            }

            TensorView input = interpreter.Input(0);
            TensorView output = interpreter.Output(0);
            if (input.DataType is not (DataType.Float32 or DataType.Int8 or DataType.UInt8)
                || output.DataType is not (DataType.Float32 or DataType.Int8 or DataType.UInt8))
            {
                error.WriteLine($"edgeinfer-device: {modelPath}: --input needs real-valued input and output (float32, int8, uint8): {input.Info}, {output.Info}");
                return Program.ExitConfig;
            }

            var values = new float[input.ElementCount];
            var scores = new float[output.ElementCount];
            var sink = new JsonLinesSink(stdout, classes, flushEachLine: false, maxScores: scores.Length);
            try
            {
                StreamReader reader;
                try
                {
                    reader = new StreamReader(inputPath);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    error.WriteLine($"edgeinfer-device: {inputPath}: cannot read the input: {e.Message}");
                    return Program.ExitConfig;
                }

                using (reader)
                {
                    long row = 0;
                    int lineNumber = 0;
                    while (!stop.IsCancellationRequested && reader.ReadLine() is { } line)
                    {
                        lineNumber++;
                        if (string.IsNullOrWhiteSpace(line))
                        {
                            continue;
                        }

                        if (!TryParseRow(line, values, out string? problem))
                        {
                            error.WriteLine($"edgeinfer-device: {inputPath}:{lineNumber}: {problem} (the model's input {input.Info} takes {values.Length} values)");
                            return Program.ExitConfig;
                        }

                        input.WriteFloats(values);
                        interpreter.Invoke();
                        output.ReadFloats(scores);
                        int best = 0;
                        for (int i = 1; i < scores.Length; i++)
                        {
                            if (scores[i] > scores[best])
                            {
                                best = i;
                            }
                        }

                        sink.OnInference(new InferenceResult(row, 0, 0, best, scores));
                        row++;
                        if (once)
                        {
                            break;
                        }
                    }

                    if (row == 0)
                    {
                        error.WriteLine($"edgeinfer-device: {inputPath}: no input rows");
                        return Program.ExitConfig;
                    }
                }
            }
            finally
            {
                sink.Flush();
            }

            return Program.ExitOk;
        }
    }

    /// <summary>Parses one row into <paramref name="values"/>; one trailing extra column (a label) is allowed.</summary>
    internal static bool TryParseRow(ReadOnlySpan<char> line, Span<float> values, out string? problem)
    {
        int column = 0;
        foreach (Range range in line.Split(','))
        {
            ReadOnlySpan<char> field = line[range].Trim();
            if (column < values.Length)
            {
                if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                {
                    problem = $"column {column + 1} value '{field}' is not a finite number";
                    return false;
                }

                values[column] = v;
            }

            column++;
        }

        if (column != values.Length && column != values.Length + 1)
        {
            problem = $"found {column} values";
            return false;
        }

        problem = null;
        return true;
    }
}
