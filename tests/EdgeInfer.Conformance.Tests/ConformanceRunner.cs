using EdgeInfer.Converter;
using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using EdgeInfer.Runtime.Kernels;

namespace EdgeInfer.Conformance.Tests;

public enum CaseStatus
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>One backend-test case: a directory holding model.onnx and test_data_set_*/{input,output}_*.pb.</summary>
public sealed record ConformanceCase(string Suite, string Name, string Directory)
{
    public override string ToString() => $"{Suite}/{Name}";
}

public sealed record CaseResult(ConformanceCase Case, CaseStatus Status, string Detail)
{
    public string Line => $"{Status.ToString().ToUpperInvariant(),-7} {Case}: {Detail}";
}

/// <summary>
/// Converts a case's model with the shapes it declares, runs every data set and compares each output with the
/// expected one: |a − e| ≤ 1e-5 + 1e-3·|e|, NaN only where NaN is expected, infinities exactly. Unsupported operators
/// (UnsupportedOperatorException) skip the case; anything else that goes wrong fails it.
/// <see cref="Run"/> executes the emitted .eim in EdgeInfer's Interpreter (a case whose operators this runtime build
/// has no kernel for is skipped, saying which); <see cref="RunReference"/> evaluates the lowered graph with the plain
/// reference evaluator, which checks the conversion alone.
/// </summary>
public static class ConformanceRunner
{
    public const double AbsoluteTolerance = 1e-5;
    public const double RelativeTolerance = 1e-3;

    public static CaseResult Run(ConformanceCase c)
    {
        ConversionResult converted;
        try
        {
            converted = ModelConverter.Convert(Path.Combine(c.Directory, "model.onnx"), new ConvertOptions());
        }
        catch (UnsupportedOperatorException e)
        {
            return new CaseResult(c, CaseStatus.Skipped, $"unsupported: {e.Reason}");
        }
        catch (Exception e)
        {
            return new CaseResult(c, CaseStatus.Failed, $"conversion failed: {e.GetType().Name}: {e.Message}");
        }

        try
        {
            using Model model = Model.FromBytes(converted.File, c + ".eim");
            string[] missing = [.. model.Graph.Nodes
                .Where(n => !KernelRegistry.Builtin.Contains(n.OpCode, model.Graph.Tensors[n.Inputs[0]].DataType))
                .Select(n => n.OpCode.ToString()).Distinct().Order(StringComparer.Ordinal)];
            if (missing.Length > 0)
            {
                return new CaseResult(c, CaseStatus.Skipped, $"runtime has no kernel for {string.Join(", ", missing)} yet");
            }

            var interpreter = new Interpreter(model, new InterpreterOptions { KernelPath = KernelPath.Auto });
            return Compare(c, interpreter.InputCount, interpreter.OutputCount, inputs =>
            {
                for (int i = 0; i < inputs.Length; i++)
                {
                    interpreter.Input(i).WriteFloats(inputs[i]);
                }

                interpreter.Invoke();
                return [.. Enumerable.Range(0, interpreter.OutputCount).Select(o => interpreter.Output(o).ToFloatArray())];
            });
        }
        catch (Exception e)
        {
            return new CaseResult(c, CaseStatus.Failed, $"run failed: {e.GetType().Name}: {e.Message}");
        }
    }

    public static CaseResult RunReference(ConformanceCase c)
    {
        Graph graph;
        try
        {
            graph = ModelConverter.Lower(Path.Combine(c.Directory, "model.onnx"), new ConvertOptions(), _ => { });
        }
        catch (UnsupportedOperatorException e)
        {
            return new CaseResult(c, CaseStatus.Skipped, $"unsupported: {e.Reason}");
        }
        catch (Exception e)
        {
            return new CaseResult(c, CaseStatus.Failed, $"conversion failed: {e.GetType().Name}: {e.Message}");
        }

        try
        {
            return Compare(c, graph.Inputs.Count, graph.Outputs.Count, inputs => LoweredGraphEvaluator.Run(graph, inputs));
        }
        catch (Exception e)
        {
            return new CaseResult(c, CaseStatus.Failed, $"evaluation failed: {e.GetType().Name}: {e.Message}");
        }
    }

    private static CaseResult Compare(ConformanceCase c, int inputCount, int outputCount, Func<float[][], float[][]> run)
    {
        string[] sets = [.. System.IO.Directory.GetDirectories(c.Directory, "test_data_set_*").Order(StringComparer.Ordinal)];
        if (sets.Length == 0)
        {
            return new CaseResult(c, CaseStatus.Failed, "no test_data_set_* directory");
        }

        double maxDiff = 0;
        foreach (string set in sets)
        {
            string setName = Path.GetFileName(set);
            OnnxTensor[] inputs = [.. Files(set, "input_").Select(OnnxTensors.ReadFile)];
            OnnxTensor[] expected = [.. Files(set, "output_").Select(OnnxTensors.ReadFile)];
            if (inputs.Length < inputCount || expected.Length != outputCount)
            {
                return new CaseResult(c, CaseStatus.Failed, $"{setName} has {inputs.Length} inputs and {expected.Length} outputs; the model takes {inputCount} and gives {outputCount}");
            }

            float[][] actual = run([.. inputs.Take(inputCount).Select(t => t.Data.ToFloatArray())]);
            for (int o = 0; o < expected.Length; o++)
            {
                float[] wanted = expected[o].Data.ToFloatArray();
                if (actual[o].Length != wanted.Length)
                {
                    return new CaseResult(c, CaseStatus.Failed, $"{setName} output {o} has {actual[o].Length} values, expected {wanted.Length}");
                }

                for (int k = 0; k < wanted.Length; k++)
                {
                    if (!Close(actual[o][k], wanted[k]))
                    {
                        return new CaseResult(c, CaseStatus.Failed, $"{setName} output {o}[{k}] is {actual[o][k]:G9}, expected {wanted[k]:G9}");
                    }

                    if (float.IsFinite(wanted[k]))
                    {
                        maxDiff = Math.Max(maxDiff, Math.Abs(actual[o][k] - (double)wanted[k]));
                    }
                }
            }
        }

        return new CaseResult(c, CaseStatus.Passed, $"{sets.Length} data set(s), max |Δ| {maxDiff:G3}");
    }

    public static bool Close(float actual, float expected)
    {
        if (float.IsNaN(expected) || float.IsNaN(actual))
        {
            return float.IsNaN(expected) && float.IsNaN(actual);
        }

        if (float.IsInfinity(expected) || float.IsInfinity(actual))
        {
            return actual == expected;
        }

        return Math.Abs(actual - (double)expected) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(expected);
    }

    private static IEnumerable<string> Files(string set, string prefix)
        => System.IO.Directory.GetFiles(set, prefix + "*.pb")
            .OrderBy(f => int.Parse(Path.GetFileNameWithoutExtension(f)[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture));
}
