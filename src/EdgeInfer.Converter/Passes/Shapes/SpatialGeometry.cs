using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes.Shapes;

/// <summary>
/// The resolved window geometry of a convolution or pooling node over its spatial axes: explicit begin/end pads
/// (auto_pad turned into numbers), strides, dilations and output sizes. Shape inference and lowering both use it.
/// </summary>
internal sealed record SpatialGeometry(int[] Kernel, int[] Strides, int[] Dilations, int[] PadBegin, int[] PadEnd, int[] Output)
{
    /// <summary>
    /// Resolves the ONNX attributes of <paramref name="node"/> for an input whose spatial sizes are <paramref name="input"/>.
    /// Output size per axis, with k' = (k−1)·d + 1:
    ///   NOTSET: floor((in + pb + pe − k') / s) + 1, or with ceil_mode ceil(...) + 1, minus one when that last window
    ///           would start in the end padding (PyTorch's rule, which ONNX adopted);
    ///   VALID: pads 0, same formula;
    ///   SAME_UPPER / SAME_LOWER: ceil(in / s), total pad max(0, (out−1)·s + k' − in), the odd pixel at the end
    ///           (UPPER) or the beginning (LOWER).
    /// </summary>
    /// <summary>
    /// SAME padding of one axis, as TensorFlow, TFLite and ONNX's SAME_UPPER define it: output ceil(in / s), total pad
    /// max(0, (out − 1)·s + k' − in) with k' = (k − 1)·d + 1, the odd pixel after.
    /// </summary>
    public static (int Output, int Before, int After) Same(int input, int kernel, int stride, int dilation)
    {
        int output = (int)((input + (long)stride - 1) / stride);
        long total = Math.Max(0, (output - 1L) * stride + (long)(kernel - 1) * dilation + 1 - input);
        return (output, (int)(total / 2), (int)(total - total / 2));
    }

    public static SpatialGeometry Resolve(Node node, int[] input, int[] kernel, bool allowCeilMode)
    {
        int n = input.Length;
        int[] strides = Ints(node, "strides", n, 1);
        int[] dilations = Ints(node, "dilations", n, 1);
        long[] pads = node.GetInts("pads") ?? new long[2 * n];
        if (pads.Length != 2 * n)
        {
            throw new ArgumentException($"pads [{string.Join(",", pads)}] should have {2 * n} values");
        }

        if (strides.Any(s => s < 1) || dilations.Any(d => d < 1) || kernel.Any(k => k < 1) || pads.Any(p => p < 0))
        {
            throw new ArgumentException("strides, dilations and kernel sizes must be positive and pads non-negative");
        }

        string autoPad = node.GetString("auto_pad") ?? "NOTSET";
        bool ceil = allowCeilMode && node.GetInt("ceil_mode", 0) != 0;
        var begin = new int[n];
        var end = new int[n];
        var output = new int[n];
        for (int i = 0; i < n; i++)
        {
            int span = (kernel[i] - 1) * dilations[i] + 1;
            switch (autoPad)
            {
                case "SAME_UPPER":
                case "SAME_LOWER":
                {
                    (output[i], int before, int after) = Same(input[i], kernel[i], strides[i], dilations[i]);
                    (begin[i], end[i]) = autoPad == "SAME_UPPER" ? (before, after) : (after, before);
                    break;
                }

                case "VALID":
                case "NOTSET":
                case "":
                {
                    if (autoPad == "VALID")
                    {
                        begin[i] = end[i] = 0;
                    }
                    else
                    {
                        begin[i] = (int)pads[i];
                        end[i] = (int)pads[i + n];
                    }

                    int room = input[i] + begin[i] + end[i] - span;
                    if (room < 0)
                    {
                        throw new ArgumentException($"the window ({span}) is larger than the padded input ({input[i] + begin[i] + end[i]}) on spatial axis {i}");
                    }

                    output[i] = ceil ? (room + strides[i] - 1) / strides[i] + 1 : room / strides[i] + 1;
                    if (ceil && (output[i] - 1) * strides[i] >= input[i] + begin[i])
                    {
                        output[i]--;
                    }

                    break;
                }

                default:
                    throw new ArgumentException($"auto_pad '{autoPad}' is not an ONNX value");
            }
        }

        return new SpatialGeometry(kernel, strides, dilations, begin, end, output);
    }

    private static int[] Ints(Node node, string name, int n, int fallback)
    {
        long[]? v = node.GetInts(name);
        if (v is null || v.Length == 0)
        {
            return Enumerable.Repeat(fallback, n).ToArray();
        }

        if (v.Length != n)
        {
            throw new ArgumentException($"{name} [{string.Join(",", v)}] should have {n} values");
        }

        return [.. v.Select(x => (int)x)];
    }
}
