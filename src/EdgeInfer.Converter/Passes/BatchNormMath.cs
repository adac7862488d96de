using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

/// <summary>
/// Inference BatchNormalization as an affine map y = x·scale + shift per channel, with
/// scale = γ / √(var + ε) and shift = β − mean·scale (computed in double, stored as float32).
/// </summary>
internal static class BatchNormMath
{
    /// <summary>The per-channel (or, for opset &lt; 9 with spatial = 0, per-element) scale and shift.</summary>
    public static (float[] Scale, float[] Shift, int[] ParamShape) Affine(Graph graph, Node bn)
    {
        if (bn.GetInt("training_mode", 0) != 0)
        {
            throw OnnxOperators.UnsupportedForm(graph, bn, "training_mode=1 (batch statistics)");
        }

        for (int o = 1; o < bn.Outputs.Count; o++)
        {
            if (graph.IsGraphOutput(bn.Output(o)) || graph.Nodes.Any(n => n.Inputs.Contains(bn.Output(o))))
            {
                throw OnnxOperators.UnsupportedForm(graph, bn, "reading the running statistics outputs (a training-mode graph)");
            }
        }

        Value[] p = [bn.Input(1), bn.Input(2), bn.Input(3), bn.Input(4)];
        foreach (Value v in p)
        {
            if (!v.IsConstant)
            {
                throw OnnxOperators.UnsupportedForm(graph, bn, $"a non-constant parameter '{v.Name}'");
            }
        }

        float[] gamma = p[0].Constant!.ToFloatArray(), beta = p[1].Constant!.ToFloatArray();
        float[] mean = p[2].Constant!.ToFloatArray(), variance = p[3].Constant!.ToFloatArray();
        int count = gamma.Length;
        if (beta.Length != count || mean.Length != count || variance.Length != count)
        {
            throw OnnxOperators.Invalid(graph, bn, "scale, bias, mean and variance have different sizes");
        }

        double epsilon = bn.GetFloat("epsilon", 1e-5f);
        var scale = new float[count];
        var shift = new float[count];
        for (int c = 0; c < count; c++)
        {
            double s = gamma[c] / Math.Sqrt(variance[c] + epsilon);
            scale[c] = (float)s;
            shift[c] = (float)(beta[c] - mean[c] * s);
        }

        int[] xs = bn.Input(0).Shape!;
        int channels = xs.Length > 1 ? xs[1] : 1;
        bool perElement = bn.OpsetVersion < 9 && bn.GetInt("spatial", 1) == 0 && p[0].Shape!.Length > 1;
        if (perElement)
        {
            return (scale, shift, p[0].Shape!);
        }

        if (count != channels)
        {
            throw OnnxOperators.Invalid(graph, bn, $"has {count} parameters per tensor, but the input {bn.Input(0).ShapeText} has {channels} channels");
        }

        return (scale, shift, [channels]);
    }
}
