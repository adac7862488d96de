using EdgeInfer.Converter.Tests.Support;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// Each case is a small ONNX model; the converted (lowered, channels-last, fused) graph is evaluated with the plain
/// reference evaluator and compared with ONNX Runtime on random inputs. This checks the passes' semantics — layout,
/// geometry, folding, opset differences — independently of the runtime's kernels.
/// </summary>
public class LoweringMatchesOrtTests
{
    private static float[] W(int count, int seed) => TestModels.Random(count, seed, 0.5f);

    private static OnnxBuilder Conv2D(int opset, long[] x, long[] w, bool bias, params (string, object)[] attrs)
    {
        var b = new OnnxBuilder(opset).Input("x", x).Initializer("w", w, W((int)w.Aggregate(1L, (a, d) => a * d), 7));
        if (bias)
        {
            b.Initializer("b", [w[0]], W((int)w[0], 8));
        }

        return b.Node("Conv", bias ? ["x", "w", "b"] : ["x", "w"], ["y"], attrs).Output("y");
    }

    /// <summary>
    /// One forward LSTM or GRU over x [T, N, I] (layout 1: [N, T, I]) with hidden size <paramref name="hidden"/>; outputs
    /// named in <paramref name="outputs"/> ("" skips one). Weights are large enough that every gate matters.
    /// </summary>
    internal static OnnxBuilder Recurrent(string op, int opset, long[] x, int hidden, bool bias, string[] outputs, params (string, object)[] attrs)
    {
        int gates = op == "LSTM" ? 4 : 3;
        long inputs = x[^1];
        int d = attrs.Any(a => a.Item1 == "direction" && (string)a.Item2 == "bidirectional") ? 2 : 1;
        var b = new OnnxBuilder(opset).Input("x", x)
            .Initializer("w", [d, gates * hidden, inputs], TestModels.Random((int)(d * gates * hidden * inputs), 21, 1.2f))
            .Initializer("r", [d, gates * hidden, hidden], TestModels.Random(d * gates * hidden * hidden, 22, 1.2f));
        string[] inputsList = ["x", "w", "r"];
        if (bias)
        {
            b.Initializer("bias", [d, 2 * gates * hidden], TestModels.Random(d * 2 * gates * hidden, 23, 0.8f));
            inputsList = [.. inputsList, "bias"];
        }

        b.Node(op, inputsList, outputs, [("hidden_size", (long)hidden), .. attrs]);
        foreach (string o in outputs.Where(o => o.Length > 0))
        {
            b.Output(o);
        }

        return b;
    }

    /// <summary>A convolution writing <paramref name="output"/>, so that what follows reads a channels-last activation.</summary>
    private static OnnxBuilder ConvInto(string output, long[] x, long[] w)
        => new OnnxBuilder(13).Input("x", x).Initializer("w", w, W((int)w.Aggregate(1L, (a, d) => a * d), 7)).Initializer("b", [w[0]], W((int)w[0], 8))
            .Node("Conv", ["x", "w", "b"], [output]);

    private static OnnxBuilder Pool(string op, int opset, long[] x, params (string, object)[] attrs)
        => new OnnxBuilder(opset).Input("x", x).Node(op, ["x"], ["y"], attrs).Output("y");

    public static TheoryData<string> Cases => [.. Models.Keys];

    internal static OnnxBuilder Build(string name) => Models[name]();

    private static readonly Dictionary<string, Func<OnnxBuilder>> Models = new()
    {
        ["conv2d"] = () => Conv2D(13, [1, 3, 7, 6], [4, 3, 3, 3], true),
        ["lstm_y_yh_yc"] = () => Recurrent("LSTM", 13, [5, 1, 3], 4, true, ["Y", "Y_h", "Y_c"]),
        ["lstm_batch3_hard_sigmoid_gates"] = () => Recurrent("LSTM", 13, [4, 3, 2], 5, true, ["Y"],
            ("activations", new[] { "HardSigmoid", "Tanh", "Tanh" }), ("activation_alpha", new[] { 0.3f }), ("activation_beta", new[] { 0.4f })),
        ["lstm_hard_sigmoid_cell_activation_alpha_in_order"] = () => Recurrent("LSTM", 13, [4, 1, 2], 3, true, ["Y"],
            ("activations", new[] { "Sigmoid", "HardSigmoid", "Tanh" }), ("activation_alpha", new[] { 0.3f }), ("activation_beta", new[] { 0.4f })),
        ["lstm_last_state_only"] = () => Recurrent("LSTM", 13, [6, 1, 3], 4, false, ["", "Y_h"]),
        ["gru_linear_before_reset"] = () => Recurrent("GRU", 13, [6, 2, 3], 4, true, ["Y", "Y_h"], ("linear_before_reset", 1L)),
        ["gru_reset_before"] = () => Recurrent("GRU", 13, [5, 1, 4], 3, true, ["Y", "Y_h"]),
        ["lstm_reverse"] = () => Recurrent("LSTM", 13, [5, 2, 3], 4, true, ["Y", "Y_h", "Y_c"], ("direction", "reverse")),
        ["lstm_bidirectional"] = () => Recurrent("LSTM", 13, [4, 1, 3], 3, true, ["Y", "Y_h", "Y_c"], ("direction", "bidirectional")),
        ["gru_bidirectional_linear_before_reset"] = () => Recurrent("GRU", 13, [6, 2, 3], 4, true, ["Y", "Y_h"], ("direction", "bidirectional"), ("linear_before_reset", 1L)),
        ["slice_strided_after_conv"] = () => ConvInto("c", [1, 3, 7, 6], [8, 3, 3, 3])
            .Initializer("starts", [3], [1L, 0L, 1L]).Initializer("ends", [3], [7L, 5L, 100L]).Initializer("axes", [3], [1L, 2L, 3L]).Initializer("steps", [3], [2L, 1L, 2L])
            .Node("Slice", ["c", "starts", "ends", "axes", "steps"], ["y"]).Output("y"),
        ["split_after_conv"] = () => ConvInto("c", [1, 3, 6, 5], [6, 3, 3, 3]).Initializer("split", [2], [2L, 4L])
            .Node("Split", ["c", "split"], ["p", "q"], ("axis", 1L)).Node("Relu", ["p"], ["rp"]).Output("rp").Output("q"),
        ["channel_shuffle_then_split"] = () => ConvInto("c", [1, 3, 7, 6], [6, 3, 3, 3])
            .Initializer("groups", [5], [1L, 2L, 3L, 5L, 4L]).Initializer("merged", [4], [1L, 6L, 5L, 4L])
            .Node("Reshape", ["c", "groups"], ["g"]).Node("Transpose", ["g"], ["t"], ("perm", new long[] { 0, 2, 1, 3, 4 }))
            .Node("Reshape", ["t", "merged"], ["s"]).Node("Split", ["s"], ["p", "q"], ("axis", 1L))
            .Initializer("w2", [4, 3, 1, 1], W(12, 9)).Node("Conv", ["p", "w2"], ["cp"]).Node("Conv", ["q", "w2"], ["cq"])
            .Node("Concat", ["cp", "cq"], ["y"], ("axis", 1L)).Output("y"),
        ["conv2d_batch2_strided_padded"] = () => Conv2D(13, [2, 3, 9, 8], [5, 3, 3, 2], true, ("strides", new long[] { 2, 1 }), ("pads", new long[] { 1, 0, 2, 1 })),
        ["conv2d_dilated_no_bias"] = () => Conv2D(13, [1, 2, 9, 9], [3, 2, 3, 3], false, ("dilations", new long[] { 2, 3 })),
        ["conv2d_groups"] = () => Conv2D(13, [1, 4, 6, 5], [6, 2, 3, 2], true, ("group", 2L)),
        ["conv2d_depthwise_multiplier"] = () => Conv2D(13, [1, 4, 6, 6], [8, 1, 3, 3], true, ("group", 4L), ("pads", new long[] { 1, 1, 1, 1 })),
        ["conv2d_same_upper_stride2"] = () => Conv2D(13, [1, 2, 7, 8], [3, 2, 3, 4], true, ("auto_pad", "SAME_UPPER"), ("strides", new long[] { 2, 2 })),
        ["conv2d_same_lower_stride2"] = () => Conv2D(13, [1, 2, 7, 8], [3, 2, 3, 4], true, ("auto_pad", "SAME_LOWER"), ("strides", new long[] { 2, 2 })),
        ["conv2d_valid"] = () => Conv2D(13, [1, 2, 7, 8], [3, 2, 3, 4], true, ("auto_pad", "VALID"), ("strides", new long[] { 2, 3 })),
        ["conv1d"] = () => Conv2D(13, [2, 4, 10], [5, 4, 3], true, ("pads", new long[] { 1, 2 })),
        ["conv1d_strided_dilated_groups"] = () => Conv2D(13, [1, 4, 12], [6, 2, 3], true, ("strides", new long[] { 2 }), ("dilations", new long[] { 2 }), ("group", 2L)),
        ["conv1d_same_upper"] = () => Conv2D(13, [1, 3, 11], [4, 3, 4], false, ("auto_pad", "SAME_UPPER"), ("strides", new long[] { 3 })),
        ["maxpool2d"] = () => Pool("MaxPool", 13, [1, 3, 7, 7], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 })),
        ["maxpool2d_ceil_padded"] = () => Pool("MaxPool", 13, [1, 2, 7, 8], ("kernel_shape", new long[] { 3, 2 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 0, 1, 0 }), ("ceil_mode", 1L)),
        ["maxpool2d_ceil_drop_last_window"] = () => Pool("MaxPool", 13, [1, 1, 5, 5], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }), ("ceil_mode", 1L)),
        ["maxpool2d_dilated"] = () => Pool("MaxPool", 12, [1, 2, 9, 9], ("kernel_shape", new long[] { 2, 3 }), ("dilations", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })),
        ["maxpool2d_same_upper"] = () => Pool("MaxPool", 13, [1, 2, 7, 6], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("auto_pad", "SAME_UPPER")),
        ["maxpool1d"] = () => Pool("MaxPool", 13, [2, 3, 11], ("kernel_shape", new long[] { 3 }), ("strides", new long[] { 2 }), ("pads", new long[] { 1, 1 })),
        ["avgpool2d_exclude_pad"] = () => Pool("AveragePool", 13, [1, 3, 6, 7], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })),
        ["avgpool2d_include_pad"] = () => Pool("AveragePool", 13, [1, 3, 6, 7], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }), ("count_include_pad", 1L)),
        ["avgpool2d_ceil_exclude_pad"] = () => Pool("AveragePool", 13, [1, 2, 7, 7], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }), ("ceil_mode", 1L)),
        ["avgpool2d_ceil_include_pad"] = () => Pool("AveragePool", 13, [1, 2, 6, 6], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }), ("ceil_mode", 1L), ("count_include_pad", 1L)),
        ["avgpool2d_same_lower"] = () => Pool("AveragePool", 13, [1, 2, 7, 6], ("kernel_shape", new long[] { 2, 3 }), ("strides", new long[] { 2, 2 }), ("auto_pad", "SAME_LOWER")),
        ["avgpool1d"] = () => Pool("AveragePool", 13, [1, 3, 10], ("kernel_shape", new long[] { 4 }), ("strides", new long[] { 3 })),
        ["global_average_pool"] = () => Pool("GlobalAveragePool", 13, [2, 5, 4, 3]),
        ["global_max_pool"] = () => Pool("GlobalMaxPool", 13, [1, 5, 4, 3]),
        ["reduce_mean_spatial_keepdims"] = () => new OnnxBuilder(13).Input("x", 1, 4, 3, 5).Node("ReduceMean", ["x"], ["y"], ("axes", new long[] { 2, 3 })).Output("y"),
        ["reduce_mean_spatial_opset18"] = () => new OnnxBuilder(18).Input("x", 1, 4, 3, 5).Initializer("axes", [2], [-1L, -2L])
            .Node("ReduceMean", ["x", "axes"], ["y"], ("keepdims", 0L)).Output("y"),
        ["conv_bn_relu"] = () => new OnnxBuilder(13).Input("x", 1, 3, 6, 6).Initializer("w", [4, 3, 3, 3], W(108, 3)).Initializer("b", [4], W(4, 4))
                .Initializer("g", [4], [1.5f, 0.5f, 2f, 1f]).Initializer("beta", [4], [0.1f, -0.2f, 0.3f, 0f])
                .Initializer("mean", [4], [0.05f, -0.1f, 0.2f, 0f]).Initializer("var", [4], [0.5f, 1.5f, 0.25f, 1f])
                .Node("Conv", ["x", "w", "b"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }))
                .Node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["n"], ("epsilon", 1e-3f))
                .Node("Relu", ["n"], ["y"]).Output("y"),
        ["bn_unfoldable_on_input"] = () => new OnnxBuilder(13).Input("x", 2, 3, 4, 4)
            .Initializer("g", [3], [1.5f, 0.5f, 2f]).Initializer("beta", [3], [0.1f, -0.2f, 0.3f])
            .Initializer("mean", [3], [0.05f, -0.1f, 0.2f]).Initializer("var", [3], [0.5f, 1.5f, 0.25f])
            .Node("BatchNormalization", ["x", "g", "beta", "mean", "var"], ["y"]).Output("y"),
        ["layout_mix"] = () => new OnnxBuilder(13).Input("x", 1, 3, 8, 8)
            .Initializer("w1", [4, 3, 3, 3], W(108, 11)).Initializer("w2", [2, 3, 1, 1], W(6, 12))
            .Initializer("scale", [4, 1, 1], [0.5f, -1f, 2f, 1.5f]).Initializer("shift", [1, 4, 1, 1], [0.1f, 0.2f, 0.3f, 0.4f])
            .Node("Conv", ["x", "w1"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Mul", ["c1", "scale"], ["m"])
            .Node("Add", ["m", "shift"], ["a"])
            .Node("Relu", ["a"], ["r"])
            .Node("Conv", ["x", "w2"], ["c2"])
            .Node("Concat", ["r", "c2"], ["cat"], ("axis", 1L))
            .Node("Sigmoid", ["cat"], ["s"])
            .Node("Softmax", ["s"], ["y"], ("axis", 1L))
            .Node("Concat", ["r", "r"], ["wide"], ("axis", 3L))
            .Output("y").Output("wide"),
        ["conv_flatten_gemm"] = () => new OnnxBuilder(13).Input("x", 2, 2, 5, 5)
            .Initializer("w", [3, 2, 3, 3], W(54, 21)).Initializer("fw", [4, 12], W(48, 22)).Initializer("fb", [4], W(4, 23))
            .Node("Conv", ["x", "w"], ["c"], ("strides", new long[] { 2, 2 })).Node("Relu", ["c"], ["r"])
            .Node("Flatten", ["r"], ["f"]).Node("Gemm", ["f", "fw", "fb"], ["y"], ("transB", 1L)).Output("y"),
        ["pytorch_view_chain"] = () => new OnnxBuilder(13).Input("x", -1, 2, 4, 4)
            .Initializer("w", [3, 2, 3, 3], W(54, 31)).Initializer("fw", [48, 5], W(240, 32))
            .Initializer("zero", [], [0L]).Initializer("minus1", [1], [-1L])
            .Node("Conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Shape", ["c"], ["s"]).Node("Gather", ["s", "zero"], ["n"], ("axis", 0L))
            .Node("Unsqueeze", ["n", "axes0"], ["n1"]).Node("Concat", ["n1", "minus1"], ["target"], ("axis", 0L))
            .Node("Reshape", ["c", "target"], ["v"]).Node("MatMul", ["v", "fw"], ["y"]).Output("y")
            .Initializer("axes0", [1], [0L]),
        ["conv1d_head"] = () => new OnnxBuilder(13).Input("x", 1, 3, 16)
            .Initializer("w", [4, 3, 3], W(36, 41)).Initializer("fw", [2, 28], W(56, 42))
            .Node("Conv", ["x", "w"], ["c"], ("strides", new long[] { 2 })).Node("Relu", ["c"], ["r"])
            .Node("Flatten", ["r"], ["f"]).Node("Gemm", ["f", "fw"], ["y"], ("transB", 1L)).Output("y"),
        ["gemm_transA_alpha_beta_rowbias"] = () => new OnnxBuilder(13).Input("a", 4, 3)
            .Initializer("b", [4, 5], W(20, 51)).Initializer("c", [3, 5], W(15, 52))
            .Node("Gemm", ["a", "b", "c"], ["y"], ("transA", 1L), ("alpha", 0.5f), ("beta", 2f)).Output("y"),
        ["gemm_activation_b"] = () => new OnnxBuilder(13).Input("a", 3, 4).Input("b", 5, 4).Initializer("c", [5], W(5, 53))
            .Node("Gemm", ["a", "b", "c"], ["y"], ("transB", 1L), ("alpha", 1.5f), ("beta", 0.5f)).Output("y"),
        ["matmul_3d_const"] = () => new OnnxBuilder(13).Input("x", 2, 3, 4).Initializer("w", [4, 6], W(24, 61)).Initializer("bias", [6], W(6, 62))
            .Node("MatMul", ["x", "w"], ["m"]).Node("Add", ["m", "bias"], ["y"]).Output("y"),
        ["matmul_batched_activations"] = () => new OnnxBuilder(13).Input("a", 2, 3, 4).Input("b", 4, 5)
            .Node("MatMul", ["a", "b"], ["y"]).Output("y"),
        ["activations"] = () => new OnnxBuilder(14).Input("x", 1, 4, 3, 3).Initializer("slope", [4, 1, 1], [0.1f, 0.2f, -0.3f, 2f])
            .Node("HardSigmoid", ["x"], ["h"], ("alpha", 0.3f), ("beta", 0.4f))
            .Node("HardSwish", ["x"], ["hs"]).Node("LeakyRelu", ["x"], ["l"], ("alpha", 0.2f))
            .Node("Tanh", ["x"], ["t"]).Node("PRelu", ["x", "slope"], ["p"]).Node("Neg", ["x"], ["n"])
            .Node("Sum", ["h", "hs", "l", "t", "p", "n"], ["y"]).Output("y"),
        ["broadcast_sub_div"] = () => new OnnxBuilder(13).Input("a", 2, 3, 4).Input("b", 3, 1).Initializer("k", [4], [1f, 2f, 4f, 8f])
            .Node("Sub", ["a", "b"], ["s"]).Node("Div", ["s", "k"], ["y"]).Output("y"),
        ["transpose_and_flatten_axis2"] = () => new OnnxBuilder(13).Input("x", 2, 3, 4, 5)
            .Node("Transpose", ["x"], ["t"], ("perm", new long[] { 0, 3, 1, 2 })).Node("Flatten", ["t"], ["y"], ("axis", 2L)).Output("y"),
        ["pad_constant_on_nhwc"] = () => new OnnxBuilder(13).Input("x", 1, 2, 4, 4).Initializer("w", [3, 2, 1, 1], W(6, 71))
            .Initializer("pads", [8], [0L, 0L, 1L, 2L, 0L, 1L, 2L, 0L]).Initializer("value", [], [1.5f])
            .Node("Conv", ["x", "w"], ["c"]).Node("Pad", ["c", "pads", "value"], ["y"]).Output("y"),
        ["zero_pad_folds_into_conv"] = () => new OnnxBuilder(13).Input("x", 1, 2, 5, 5).Initializer("w", [3, 2, 3, 3], W(54, 72))
            .Initializer("pads", [8], [0L, 0L, 1L, 0L, 0L, 0L, 2L, 1L])
            .Node("Pad", ["x", "pads"], ["p"]).Node("Conv", ["p", "w"], ["y"], ("pads", new long[] { 0, 1, 0, 0 })).Output("y"),
        ["clip_opset6_attributes"] = () => new OnnxBuilder(6).Input("x", 3, 4).Node("Clip", ["x"], ["y"], ("min", -0.5f), ("max", 0.25f)).Output("y"),
        ["clip_opset13_inputs"] = () => new OnnxBuilder(13).Input("x", 3, 4).Initializer("lo", [], [-0.5f])
            .Node("Clip", ["x", "lo", ""], ["y"]).Output("y"),
        ["relu6_fused_into_conv"] = () => new OnnxBuilder(13).Input("x", 1, 2, 5, 5).Initializer("w", [3, 2, 3, 3], TestModels.Random(54, 73, 4f))
            .Initializer("lo", [], [0f]).Initializer("hi", [], [6f])
            .Node("Conv", ["x", "w"], ["c"]).Node("Clip", ["c", "lo", "hi"], ["y"]).Output("y"),
        ["softmax_opset11_coerced_axis1"] = () => new OnnxBuilder(11).Input("x", 2, 3, 2, 2).Node("Softmax", ["x"], ["y"], ("axis", 1L)).Output("y"),
        ["softmax_opset13_axis1"] = () => new OnnxBuilder(13).Input("x", 2, 3, 2, 2).Node("Softmax", ["x"], ["y"], ("axis", 1L)).Output("y"),
        ["softmax_opset11_on_conv_last_axis"] = () => new OnnxBuilder(11).Input("x", 1, 2, 3, 4).Initializer("w", [3, 2, 1, 1], W(6, 74))
            .Node("Conv", ["x", "w"], ["c"]).Node("Softmax", ["c"], ["y"], ("axis", 3L)).Output("y"),
        ["log_softmax_opset11_coerced_axis1"] = () => new OnnxBuilder(11).Input("x", 2, 3, 2, 2).Node("LogSoftmax", ["x"], ["y"], ("axis", 1L)).Output("y"),
        ["log_softmax_opset11_default_axis"] = () => new OnnxBuilder(11).Input("x", 2, 3, 4).Node("LogSoftmax", ["x"], ["y"]).Output("y"),
        ["log_softmax_opset13_axis1"] = () => new OnnxBuilder(13).Input("x", 2, 3, 2, 2).Node("LogSoftmax", ["x"], ["y"], ("axis", 1L)).Output("y"),
        ["log_softmax_opset13_default_axis"] = () => new OnnxBuilder(13).Input("x", 2, 3, 4).Node("LogSoftmax", ["x"], ["y"]).Output("y"),
        ["log_softmax_opset13_on_conv_channels"] = () => ConvInto("c", [1, 2, 3, 4], [5, 2, 1, 1]).Node("LogSoftmax", ["c"], ["y"], ("axis", 1L)).Output("y"),
        ["squeeze_unsqueeze_opset11_attributes"] = () => new OnnxBuilder(11).Input("x", 2, 1, 3)
            .Node("Squeeze", ["x"], ["s"], ("axes", new long[] { 1 })).Node("Unsqueeze", ["s"], ["y"], ("axes", new long[] { 0, 3 })).Output("y"),
        ["squeeze_unsqueeze_opset13_inputs"] = () => new OnnxBuilder(13).Input("x", 2, 1, 3).Initializer("a1", [1], [1L]).Initializer("a2", [2], [0L, 3L])
            .Node("Squeeze", ["x", "a1"], ["s"]).Node("Unsqueeze", ["s", "a2"], ["y"]).Output("y"),
        ["pad_opset6_attributes"] = () => new OnnxBuilder(6).Input("x", 1, 2, 3, 3)
            .Node("Pad", ["x"], ["y"], ("pads", new long[] { 0, 0, 1, 0, 0, 0, 0, 2 }), ("value", -1f)).Output("y"),
        ["gemm_batchnorm_fold"] = () => new OnnxBuilder(13).Input("x", 3, 4).Initializer("w", [5, 4], W(20, 91)).Initializer("bias", [5], W(5, 92))
            .Initializer("g", [5], [1f, 2f, 3f, 4f, 5f]).Initializer("beta", [5], [0f, 1f, 0f, -1f, 2f])
            .Initializer("mean", [5], [0.5f, 0f, -0.5f, 0f, 1f]).Initializer("var", [5], [1f, 2f, 0.5f, 4f, 1f])
            .Node("Gemm", ["x", "w", "bias"], ["m"], ("transB", 1L))
            .Node("BatchNormalization", ["m", "g", "beta", "mean", "var"], ["y"]).Output("y"),
        ["matmul_batchnorm_fold"] = () => new OnnxBuilder(13).Input("x", 3, 4).Initializer("w", [4, 5], W(20, 93))
            .Initializer("g", [5], [1f, 2f, 3f, 4f, 5f]).Initializer("beta", [5], [0f, 1f, 0f, -1f, 2f])
            .Initializer("mean", [5], [0.5f, 0f, -0.5f, 0f, 1f]).Initializer("var", [5], [1f, 2f, 0.5f, 4f, 1f])
            .Node("MatMul", ["x", "w"], ["m"])
            .Node("BatchNormalization", ["m", "g", "beta", "mean", "var"], ["y"]).Output("y"),
        ["identity_dropout_removed"] = () => new OnnxBuilder(13).Input("x", 2, 3)
            .Node("Identity", ["x"], ["i"]).Node("Relu", ["i"], ["r"]).Node("Dropout", ["r"], ["d"]).Node("Identity", ["d"], ["y"]).Output("y"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Lowered_MatchesOnnxRuntime(string name) => TestModels.AssertMatchesOrt(Models[name]());

    /// <summary>
    /// Opset-6 forms ONNX Runtime no longer runs: the converted legacy model must compute what ORT computes for the
    /// same operation written in a current opset.
    /// </summary>
    public static TheoryData<string> LegacyCases => [.. Legacy.Keys];

    private static readonly Dictionary<string, (Func<OnnxBuilder> Legacy, Func<OnnxBuilder> Modern)> Legacy = new()
    {
        ["add_opset6_axis_broadcast"] = (
            () => new OnnxBuilder(6).Input("x", 2, 3, 4, 5).Initializer("b", [3], [1f, 2f, 3f])
                .Node("Add", ["x", "b"], ["y"], ("broadcast", 1L), ("axis", 1L)).Output("y"),
            () => new OnnxBuilder(13).Input("x", 2, 3, 4, 5).Initializer("b", [3, 1, 1], [1f, 2f, 3f])
                .Node("Add", ["x", "b"], ["y"]).Output("y")),
        ["mul_opset6_axis_broadcast_activation"] = (
            () => new OnnxBuilder(6).Input("x", 2, 3, 4).Input("s", 2, 3)
                .Node("Mul", ["x", "s"], ["y"], ("broadcast", 1L), ("axis", 0L)).Output("y"),
            () => new OnnxBuilder(13).Input("x", 2, 3, 4).Input("s", 2, 3).Initializer("axes", [1], [2L])
                .Node("Unsqueeze", ["s", "axes"], ["s3"]).Node("Mul", ["x", "s3"], ["y"]).Output("y")),
        ["batchnorm_opset6_on_conv1d"] = (
            () => BatchNormOnConv1D(6, ("is_test", 1L), ("spatial", 1L), ("consumed_inputs", new long[] { 0, 0, 0, 1, 1 })),
            () => BatchNormOnConv1D(13)),
        ["prelu_opset6_per_channel"] = (
            () => new OnnxBuilder(6).Input("x", 2, 3, 4, 5).Initializer("slope", [3], [0.1f, -0.5f, 2f]).Node("PRelu", ["x", "slope"], ["y"]).Output("y"),
            () => new OnnxBuilder(13).Input("x", 2, 3, 4, 5).Initializer("slope", [3, 1, 1], [0.1f, -0.5f, 2f]).Node("PRelu", ["x", "slope"], ["y"]).Output("y")),
        ["softmax_opset6_axis1_coerced"] = (
            () => new OnnxBuilder(6).Input("x", 2, 3, 4).Node("Softmax", ["x"], ["y"]).Output("y"),
            () => new OnnxBuilder(11).Input("x", 2, 3, 4).Node("Softmax", ["x"], ["y"]).Output("y")),
        ["slice_opset6_attributes_folded"] = (
            () => new OnnxBuilder(6).Input("x", 2, 6).Initializer("k", [6], [1f, 2f, 3f, 4f, 5f, 6f])
                .Node("Slice", ["k"], ["s"], ("starts", new long[] { 1 }), ("ends", new long[] { 4 }), ("axes", new long[] { 0 }))
                .Node("Concat", ["s", "s"], ["c"], ("axis", 0L)).Node("Add", ["x", "c"], ["y"]).Output("y"),
            () => new OnnxBuilder(13).Input("x", 2, 6).Initializer("c", [6], [2f, 3f, 4f, 2f, 3f, 4f]).Node("Add", ["x", "c"], ["y"]).Output("y")),
    };

    /// <summary>
    /// Recurrences with layout 1 (batch first: X [N, T, I], Y [N, T, D, H], Y_h [N, D, H]), which ONNX Runtime's CPU
    /// kernels refuse: the same weights with layout 0 run on ORT with X transposed, and its outputs transposed back.
    /// </summary>
    [Theory]
    [InlineData("LSTM", "reverse")]
    [InlineData("LSTM", "bidirectional")]
    [InlineData("GRU", "forward")]
    [InlineData("GRU", "bidirectional")]
    public void Layout1_Recurrence_MatchesLayout0OnOnnxRuntime(string op, string direction)
    {
        const int batch = 3, steps = 5, features = 2, hidden = 4;
        (string, object)[] attrs = [("direction", direction), .. op == "GRU" ? new (string, object)[] { ("linear_before_reset", 1L) } : []];
        (Ir.Graph graph, _) = TestModels.Lower(Recurrent(op, 14, [batch, steps, features], hidden, true, ["Y", "Y_h"], [("layout", 1L), .. attrs]));
        float[] x = TestModels.Random(batch * steps * features, 5);
        float[][] actual = LoweredGraphEvaluator.Run(graph, x);

        float[][] timeMajor = OrtOracle.Run(Recurrent(op, 14, [steps, batch, features], hidden, true, ["Y", "Y_h"], attrs).ToBytes(),
            ("x", [steps, batch, features], SwapAxes(x, [batch, steps, features], 0, 1)));
        int directions = direction == "bidirectional" ? 2 : 1;
        // Y [T, D, N, H] → [N, T, D, H]: N moves to the front. Y_h [D, N, H] → [N, D, H].
        float[] y = Transpose(timeMajor[0], [steps, directions, batch, hidden], [2, 0, 1, 3]);
        float[] yh = SwapAxes(timeMajor[1], [directions, batch, hidden], 0, 1);
        TestModels.AssertClose(y, actual[0], 1e-5f, "Y");
        TestModels.AssertClose(yh, actual[1], 1e-5f, "Y_h");
    }

    private static float[] SwapAxes(float[] x, int[] shape, int a, int b)
    {
        int[] perm = [.. Enumerable.Range(0, shape.Length)];
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Transpose(x, shape, perm);
    }

    /// <summary>Output axis i is input axis perm[i].</summary>
    private static float[] Transpose(float[] x, int[] shape, int[] perm)
    {
        int[] outShape = [.. perm.Select(p => shape[p])];
        var strides = new int[shape.Length];
        for (int i = shape.Length - 1, step = 1; i >= 0; step *= shape[i], i--)
        {
            strides[i] = step;
        }

        var y = new float[x.Length];
        var index = new int[shape.Length];
        for (int f = 0; f < y.Length; f++)
        {
            int offset = 0;
            for (int d = 0; d < perm.Length; d++)
            {
                offset += index[d] * strides[perm[d]];
            }

            y[f] = x[offset];
            for (int d = perm.Length - 1; d >= 0 && ++index[d] == outShape[d]; d--)
            {
                index[d] = 0;
            }
        }

        return y;
    }

    private static OnnxBuilder BatchNormOnConv1D(int opset, params (string, object)[] bnAttrs) => new OnnxBuilder(opset).Input("x", 2, 3, 7)
        .Initializer("w", [4, 3, 3], W(36, 81))
        .Initializer("g", [4], [1f, 2f, 3f, 4f]).Initializer("beta", [4], [0f, 1f, 0f, -1f])
        .Initializer("mean", [4], [0.5f, 0f, -0.5f, 0f]).Initializer("var", [4], [1f, 2f, 0.5f, 4f])
        .Node("Conv", ["x", "w"], ["c"])
        .Node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["y"], bnAttrs).Output("y");

    [Theory]
    [MemberData(nameof(LegacyCases))]
    public void LegacyOpset_MatchesModernFormOnOnnxRuntime(string name)
    {
        (Func<OnnxBuilder> legacy, Func<OnnxBuilder> modern) = Legacy[name];
        (Ir.Graph graph, _) = TestModels.Lower(legacy());
        var inputs = graph.Inputs.Select((v, i) => (v.Name, v.Shape!, TestModels.Random(TestModels.Count(v.Shape!), 5 + i))).ToArray();
        float[][] expected = OrtOracle.Run(modern().ToBytes(), inputs);
        float[][] actual = LoweredGraphEvaluator.Run(graph, [.. inputs.Select(i => i.Item3)]);
        TestModels.AssertClose(expected[0], actual[0], 1e-5f, name);
    }
}
