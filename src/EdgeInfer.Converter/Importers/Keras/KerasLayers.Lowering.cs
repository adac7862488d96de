using System.Text.Json;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Importers.Keras;

// One method per Keras layer family. Shapes carry the batch dimension (1); 1-D layers (Conv1D, pooling) run as 2-D
// ones of height 1 between two Reshapes, which the planner makes views.
internal sealed partial class KerasLayers
{
    private static readonly string[] Identities = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"];

    private Value Lower(KerasLayer layer, Value[] inputs)
    {
        if (layer.Config.ValueKind == JsonValueKind.Object && Str(layer.Config, "data_format") == "channels_first")
        {
            throw Problem(layer, "is channels_first; EdgeInfer reads channels_last Keras models");
        }

        if (layer.ClassName is not ("Add" or "Subtract" or "Multiply" or "Average" or "Concatenate") && inputs.Length != 1)
        {
            throw Problem(layer, $"has {inputs.Length} inputs; it takes one");
        }

        Value x = inputs[0];
        if (layer.ClassName is not ("Conv1D" or "Conv2D" or "DepthwiseConv2D" or "SeparableConv2D") && _zeroPads.ContainsKey(x))
        {
            throw Problem(layer, "reads a ZeroPadding layer's output; EdgeInfer folds zero padding only into a convolution that reads it");
        }

        switch (layer.ClassName)
        {
            case "Dense": return Dense(layer, x);
            case "Conv1D": return Convolution(layer, x, oneD: true);
            case "Conv2D": return Convolution(layer, x, oneD: false);
            case "DepthwiseConv2D": return DepthwiseLayer(layer, x);
            case "SeparableConv2D": return Separable(layer, x);
            case "MaxPooling1D": return Pooling(layer, x, OpCode.MaxPool2D, oneD: true);
            case "MaxPooling2D": return Pooling(layer, x, OpCode.MaxPool2D, oneD: false);
            case "AveragePooling1D": return Pooling(layer, x, OpCode.AveragePool2D, oneD: true);
            case "AveragePooling2D": return Pooling(layer, x, OpCode.AveragePool2D, oneD: false);
            case "GlobalAveragePooling1D" or "GlobalAveragePooling2D": return GlobalPooling(layer, x, average: true);
            case "GlobalMaxPooling1D" or "GlobalMaxPooling2D": return GlobalPooling(layer, x, average: false);
            case "BatchNormalization": return BatchNorm(layer, x);
            case "Activation": return Activate(layer, x, ActivationName(layer, "activation", "linear"), layer.Name);
            case "ReLU": return ReluLayer(layer, x);
            case "LeakyReLU":
                float alpha = (float)(Num(layer.Config, "negative_slope") ?? Num(layer.Config, "alpha") ?? 0.3);
                return Emit(OpCode.LeakyRelu, new LeakyReluOptions(alpha), [x], NewValue(layer.Name, x.Shape!), layer.Name);
            case "Softmax":
                int axis = Axis(layer, Int(layer.Config, "axis") ?? -1, x.Rank);
                return Emit(OpCode.Softmax, new SoftmaxOptions(axis, 1f), [x], NewValue(layer.Name, x.Shape!), layer.Name);
            case "Add" or "Subtract" or "Multiply" or "Average": return Merge(layer, inputs);
            case "Concatenate": return Concatenate(layer, inputs);
            case "Flatten": return Reshape(layer, x, [x.Shape![0], (int)(x.ElementCount / x.Shape[0])]);
            case "Reshape": return ReshapeLayer(layer, x);
            case "ZeroPadding1D" or "ZeroPadding2D": return ZeroPadding(layer, x);
            case "Rescaling": return Rescaling(layer, x);
            case "LSTM" or "GRU": return Recurrent(layer, x);
            case "Bidirectional": return Bidirectional(layer, x);
            case "TimeDistributed": return TimeDistributed(layer, x);
            case "InputLayer": throw Problem(layer, "is an input layer in the middle of the model");
            case var c when Identities.Contains(c):
                _valueReaders[x]--; // the layer forwards its input; its own readers are counted under its name
                return x;
            default:
                throw Problem(layer, "is not supported (supported: Dense, Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D, "
                    + "MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D, BatchNormalization, "
                    + "Activation, ReLU, LeakyReLU, Softmax, Add, Subtract, Multiply, Average, Concatenate, Flatten, Reshape, "
                    + "ZeroPadding1D/2D, Rescaling, LSTM, GRU, Bidirectional(LSTM or GRU), TimeDistributed(Dense), Dropout and the other inference no-ops)");
        }
    }

    private Value Dense(KerasLayer layer, Value x)
    {
        (float[] kernel, int[] ks, float[]? bias) = KernelAndBias(layer, 2);
        int inputs = ks[0], units = ks[1];
        if (x.Shape![^1] != inputs)
        {
            throw Problem(layer, $"has a kernel for {inputs} inputs, but its input {x.ShapeText} has {x.Shape[^1]}");
        }

        // Keras keeps [in, out]; FullyConnected reads each output's weights contiguously: [out, in].
        var w = new float[kernel.Length];
        for (int i = 0; i < inputs; i++)
        {
            for (int o = 0; o < units; o++)
            {
                w[o * inputs + i] = kernel[i * units + o];
            }
        }

        Value y = NewValue(PreActivationName(layer), [.. x.Shape[..^1], units]);
        Emit(OpCode.FullyConnected, ClampOptions.None, [x, Constant(layer.Name + "/kernel", [units, inputs], w), BiasValue(layer, bias, units)], y, layer.Name);
        return Activate(layer, y, ActivationName(layer, "activation", "linear"), layer.Name);
    }

    private Value Convolution(KerasLayer layer, Value x, bool oneD)
    {
        int[] s4 = Shape4(layer, x, oneD);
        (float[] kernel, int[] ks, float[]? bias) = KernelAndBias(layer, oneD ? 3 : 4);
        int kh = oneD ? 1 : ks[0], kw = oneD ? ks[0] : ks[1], cinGroup = ks[^2], cout = ks[^1];
        int cin = s4[3];
        if (cinGroup < 1 || cin % cinGroup != 0 || cout % (cin / cinGroup) != 0)
        {
            throw Problem(layer, $"has a kernel [{string.Join(",", ks)}] that does not divide input {x.ShapeText} into groups");
        }

        // [KH, KW, Cin/g, Cout] → OHWI [Cout, KH, KW, Cin/g].
        var w = new float[kernel.Length];
        for (int t = 0; t < kh * kw; t++)
        {
            for (int i = 0; i < cinGroup; i++)
            {
                for (int o = 0; o < cout; o++)
                {
                    w[(o * kh * kw + t) * cinGroup + i] = kernel[(t * cinGroup + i) * cout + o];
                }
            }
        }

        Geometry g = Window(layer, s4, kh, kw, oneD, "kernel_size");
        Value weights = Constant(layer.Name + "/kernel", [cout, kh, kw, cinGroup], w);
        return FinishConvolution(layer, x, g, weights, BiasValue(layer, bias, cout), cin / cinGroup, cout, oneD);
    }

    private Value DepthwiseLayer(KerasLayer layer, Value x)
    {
        int[] s4 = Shape4(layer, x, oneD: false);
        KerasWeight k = Weight(layer, "depthwise_kernel", 4);
        float[]? bias = Bool(layer.Config, "use_bias") ?? true ? Weight(layer, "bias", 1).Values : null;
        (Value weights, int cout) = DepthwiseWeights(layer, k, s4[3]);
        Geometry g = Window(layer, s4, k.Shape[0], k.Shape[1], false, "kernel_size");
        return FinishConvolution(layer, x, g, weights, BiasValue(layer, bias, cout), s4[3], cout, oneD: false);
    }

    /// <summary>SeparableConv2D: a depthwise convolution (no bias), then a 1×1 convolution with the bias and activation.</summary>
    private Value Separable(KerasLayer layer, Value x)
    {
        int[] s4 = Shape4(layer, x, oneD: false);
        KerasWeight dk = Weight(layer, "depthwise_kernel", 4), pk = Weight(layer, "pointwise_kernel", 4);
        float[]? bias = Bool(layer.Config, "use_bias") ?? true ? Weight(layer, "bias", 1).Values : null;
        (Value dw, int mid) = DepthwiseWeights(layer, dk, s4[3]);
        int cout = pk.Shape[3];
        if (pk.Shape[0] != 1 || pk.Shape[1] != 1 || pk.Shape[2] != mid)
        {
            throw Problem(layer, $"has a pointwise kernel [{string.Join(",", pk.Shape)}] for {mid} depthwise outputs");
        }

        Geometry g = Window(layer, s4, dk.Shape[0], dk.Shape[1], false, "kernel_size");
        (Value input, var pad) = Unpadded(x);
        var depthwise = new Conv2DOptions(g.StrideH, g.StrideW, g.DilationH, g.DilationW, g.Top + pad.Top, g.Left + pad.Left, g.Bottom + pad.Bottom, g.Right + pad.Right, s4[3], ClampOptions.None);
        Value mids = NewValue(layer.Name + "/depthwise", [s4[0], g.OutH, g.OutW, mid]);
        Emit(OpCode.Conv2D, depthwise, [input, dw, null], mids, layer.Name + "/depthwise");
        var w = new float[pk.Values.Length];
        for (int i = 0; i < mid; i++)
        {
            for (int o = 0; o < cout; o++)
            {
                w[o * mid + i] = pk.Values[i * cout + o];
            }
        }

        Value y = NewValue(PreActivationName(layer), [s4[0], g.OutH, g.OutW, cout]);
        Emit(OpCode.Conv2D, new Conv2DOptions(1, 1, 1, 1, 0, 0, 0, 0, 1, ClampOptions.None),
            [mids, Constant(layer.Name + "/pointwise_kernel", [cout, 1, 1, mid], w), BiasValue(layer, bias, cout)], y, layer.Name);
        return Activate(layer, y, ActivationName(layer, "activation", "linear"), layer.Name);
    }

    /// <summary>[KH, KW, C, m] → OHWI [C·m, KH, KW, 1]: Keras' output channel c·m + j is group c's output j.</summary>
    private (Value Weights, int OutChannels) DepthwiseWeights(KerasLayer layer, KerasWeight k, int channels)
    {
        int kh = k.Shape[0], kw = k.Shape[1], m = k.Shape[3];
        if (k.Shape[2] != channels)
        {
            throw Problem(layer, $"has a depthwise kernel for {k.Shape[2]} channels, but its input has {channels}");
        }

        var w = new float[k.Values.Length];
        for (int t = 0; t < kh * kw; t++)
        {
            for (int c = 0; c < channels; c++)
            {
                for (int j = 0; j < m; j++)
                {
                    w[(c * m + j) * kh * kw + t] = k.Values[(t * channels + c) * m + j];
                }
            }
        }

        return (Constant(layer.Name + "/depthwise_kernel", [channels * m, kh, kw, 1], w), channels * m);
    }

    /// <summary>
    /// The convolution node: it reads the unpadded input when a ZeroPadding layer came before (its padding adds to
    /// the convolution's own), as a height-1 image for 1-D; then the activation.
    /// </summary>
    private Value FinishConvolution(KerasLayer layer, Value x, Geometry g, Value weights, Value? bias, int groups, int cout, bool oneD)
    {
        (Value input, var pad) = Unpadded(x);
        if (oneD)
        {
            input = To2D(layer, input);
        }

        var options = new Conv2DOptions(g.StrideH, g.StrideW, g.DilationH, g.DilationW, g.Top + pad.Top, g.Left + pad.Left, g.Bottom + pad.Bottom, g.Right + pad.Right, groups, ClampOptions.None);
        int n = x.Shape![0];
        Value y4 = NewValue(oneD ? layer.Name + "/2d" : PreActivationName(layer), [n, g.OutH, g.OutW, cout]);
        Emit(OpCode.Conv2D, options, [input, weights, bias], y4, layer.Name);
        Value y = oneD ? Reshape(layer, y4, [n, g.OutW, cout], PreActivationName(layer)) : y4;
        return Activate(layer, y, ActivationName(layer, "activation", "linear"), layer.Name);
    }

    /// <summary>The NHWC shape a 2-D window sees: the input's, or (1, 1, W, C) for a 1-D (N, W, C) input.</summary>
    private int[] Shape4(KerasLayer layer, Value x, bool oneD)
    {
        if (x.Rank != (oneD ? 3 : 4))
        {
            throw Problem(layer, $"takes an {(oneD ? "(N, W, C)" : "(N, H, W, C)")} input, not {x.ShapeText}");
        }

        return oneD ? [x.Shape![0], 1, x.Shape[1], x.Shape[2]] : x.Shape!;
    }

    private Value Pooling(KerasLayer layer, Value x, OpCode op, bool oneD)
    {
        int[] s4 = Shape4(layer, x, oneD);
        int[] size = Ints(layer.Config, "pool_size") ?? (oneD ? [2] : [2, 2]);
        int kh = oneD ? 1 : size[0], kw = oneD ? size[0] : size.Length > 1 ? size[1] : size[0];
        Geometry g = Window(layer, s4, kh, kw, oneD, "pool_size", stridesDefaultToWindow: true);
        Value x4 = oneD ? To2D(layer, x) : x;
        // Keras (TensorFlow) averages over the window's in-input positions only.
        var options = new Pool2DOptions(kh, kw, g.StrideH, g.StrideW, 1, 1, g.Top, g.Left, g.Bottom, g.Right, false, ClampOptions.None);
        Value y4 = NewValue(oneD ? layer.Name + "/2d" : layer.Name, [s4[0], g.OutH, g.OutW, x4.Shape![3]]);
        Emit(op, options, [x4], y4, layer.Name);
        return oneD ? Reshape(layer, y4, [s4[0], g.OutW, x4.Shape[3]], layer.Name) : y4;
    }

    private Value GlobalPooling(KerasLayer layer, Value x, bool average)
    {
        bool oneD = layer.ClassName.EndsWith("1D", StringComparison.Ordinal);
        Value x4 = oneD ? To2D(layer, x) : x;
        if (x4.Rank != 4)
        {
            throw Problem(layer, $"takes an NHWC (or N,W,C) input, not {x.ShapeText}");
        }

        int c = x4.Shape![3];
        bool keep = Bool(layer.Config, "keepdims") ?? false;
        int n = x4.Shape[0];
        int[] kept = oneD ? [n, 1, c] : [n, 1, 1, c];
        Value pooled = NewValue(keep && !oneD ? layer.Name : layer.Name + "/pooled", [n, 1, 1, c]);
        if (average)
        {
            Emit(OpCode.GlobalAveragePool, null, [x4], pooled, layer.Name);
        }
        else
        {
            int h = x4.Shape[1], w = x4.Shape[2];
            Emit(OpCode.MaxPool2D, new Pool2DOptions(h, w, 1, 1, 1, 1, 0, 0, 0, 0, false, ClampOptions.None), [x4], pooled, layer.Name);
        }

        return keep && !oneD ? pooled : Reshape(layer, pooled, keep ? kept : [n, c], layer.Name);
    }

    /// <summary>
    /// BatchNormalization over the last axis: folded into the Conv2D or FullyConnected that produced its input when
    /// nothing else reads that output (scale each output channel's weights, fold the shift into the bias); otherwise
    /// y = x·scale + shift per channel, as a Mul and an Add.
    /// </summary>
    private Value BatchNorm(KerasLayer layer, Value x)
    {
        int axis = Axis(layer, AxisOf(layer.Config) ?? -1, x.Rank);
        if (axis != x.Rank - 1)
        {
            throw Problem(layer, $"normalizes axis {axis}; EdgeInfer supports the channel axis (the last)");
        }

        int c = x.Shape![axis];
        IReadOnlyList<KerasWeight> weights = file.Weights(layer.Name);
        bool scale = Bool(layer.Config, "scale") ?? true, center = Bool(layer.Config, "center") ?? true;
        int expected = 2 + (scale ? 1 : 0) + (center ? 1 : 0);
        if (weights.Count != expected || weights.Any(w => w.Values.Length != c))
        {
            throw Problem(layer, $"has {weights.Count} weight arrays for {c} channels; it needs {expected} of {c} (gamma if scale, beta if center, moving mean and variance)");
        }

        int next = 0;
        float[] gamma = scale ? weights[next++].Values : [.. Enumerable.Repeat(1f, c)];
        float[] beta = center ? weights[next++].Values : new float[c];
        float[] mean = weights[next++].Values, variance = weights[next].Values;
        double epsilon = Num(layer.Config, "epsilon") ?? 1e-3;
        var s = new double[c];
        var shift = new double[c];
        for (int i = 0; i < c; i++)
        {
            s[i] = gamma[i] / Math.Sqrt(variance[i] + epsilon);
            shift[i] = beta[i] - mean[i] * s[i];
        }

        if (_producers.TryGetValue(x, out Node? producer) && producer.Code is OpCode.Conv2D or OpCode.FullyConnected
            && producer.Input(1).IsConstant && producer.Input(1).Shape![0] == c && ClampIsNone(producer)
            && ReadOnce(x) && !graph.Outputs.Contains(x))
        {
            Value w = producer.Input(1);
            float[] folded = w.Constant!.ToFloatArray();
            int per = folded.Length / c;
            for (int o = 0; o < c; o++)
            {
                for (int i = 0; i < per; i++)
                {
                    folded[o * per + i] = (float)(folded[o * per + i] * s[o]);
                }
            }

            float[] bias = producer.OptionalInput(2)?.Constant!.ToFloatArray() ?? new float[c];
            producer.Inputs[1] = Constant(w.Name + "_bn", w.Shape!, folded);
            producer.Inputs[2] = Constant(layer.Name + "/folded_bias", [c], [.. bias.Select((b, o) => (float)(b * s[o] + shift[o]))]);
            return x;
        }

        Value scaled = NewValue(layer.Name + "/scaled", x.Shape);
        Emit(OpCode.Mul, ClampOptions.None, [x, Constant(layer.Name + "/scale", [c], [.. s.Select(v => (float)v)])], scaled, layer.Name + "/scale");
        return Emit(OpCode.Add, ClampOptions.None, [scaled, Constant(layer.Name + "/shift", [c], [.. shift.Select(v => (float)v)])], NewValue(layer.Name, x.Shape), layer.Name);
    }

    /// <summary>Whether exactly one layer (or model output) reads <paramref name="x"/>: the layer being lowered.</summary>
    private bool ReadOnce(Value x) => _valueReaders.GetValueOrDefault(x) == 1;

    private static bool ClampIsNone(Node n) => n.Options is Conv2DOptions { Clamp.IsNone: true } || n.Options is ClampOptions { IsNone: true };

    private Value ReluLayer(KerasLayer layer, Value x)
    {
        double? max = Num(layer.Config, "max_value");
        double slope = Num(layer.Config, "negative_slope") ?? 0, threshold = Num(layer.Config, "threshold") ?? 0;
        if (threshold != 0 || (slope != 0 && max is not null))
        {
            throw Problem(layer, "has a threshold, or a negative slope with a maximum; EdgeInfer supports ReLU, ReLU with a maximum, and leaky ReLU");
        }

        Value y = NewValue(layer.Name, x.Shape!);
        return slope != 0 ? Emit(OpCode.LeakyRelu, new LeakyReluOptions((float)slope), [x], y, layer.Name)
            : max is double m ? Emit(OpCode.Clip, new ClampOptions(0, (float)m), [x], y, layer.Name)
            : Emit(OpCode.Relu, null, [x], y, layer.Name);
    }

    /// <summary>
    /// A Keras activation by name. relu, relu6, sigmoid, tanh, softmax and log_softmax (last axis), swish/silu,
    /// hard_sigmoid, hard_swish, elu, selu, exponential, softsign, linear.
    /// hard_sigmoid is clip(0.2x + 0.5, 0, 1) in Keras 2 and relu6(x + 3)/6 in Keras 3. selu is Elu with Keras' (and
    /// ONNX's) α and scale; softsign, x / (1 + |x|), is Abs, Add and Div.
    /// </summary>
    private Value Activate(KerasLayer layer, Value x, string activation, string name)
    {
        if (activation == "linear")
        {
            return x;
        }

        Value y = NewValue(name, x.Shape!);
        return activation switch
        {
            "relu" => Emit(OpCode.Relu, null, [x], y, name + "/relu"),
            "relu6" => Emit(OpCode.Clip, new ClampOptions(0, 6), [x], y, name + "/relu6"),
            "sigmoid" => Emit(OpCode.Sigmoid, null, [x], y, name + "/sigmoid"),
            "tanh" => Emit(OpCode.Tanh, null, [x], y, name + "/tanh"),
            "softmax" => Emit(OpCode.Softmax, new SoftmaxOptions(x.Rank - 1, 1f), [x], y, name + "/softmax"),
            "log_softmax" => Emit(OpCode.LogSoftmax, new SoftmaxOptions(x.Rank - 1, 1f), [x], y, name + "/log_softmax"),
            "swish" or "silu" => Emit(OpCode.Swish, null, [x], y, name + "/swish"),
            "hard_sigmoid" => Emit(OpCode.HardSigmoid, file.IsKeras3 ? new HardSigmoidOptions(1f / 6, 0.5f) : new HardSigmoidOptions(0.2f, 0.5f), [x], y, name + "/hard_sigmoid"),
            "hard_swish" => Emit(OpCode.HardSwish, null, [x], y, name + "/hard_swish"),
            "elu" => Emit(OpCode.Elu, new EluOptions(1f, 1f), [x], y, name + "/elu"),
            "selu" => Emit(OpCode.Elu, new EluOptions(SeluAlpha, SeluScale), [x], y, name + "/selu"),
            "exponential" => Emit(OpCode.Exp, null, [x], y, name + "/exponential"),
            "softsign" => Softsign(x, y, name),
            _ => throw Problem(layer, $"uses activation '{activation}' (supported: linear, relu, relu6, sigmoid, tanh, softmax, log_softmax, swish, silu, hard_sigmoid, hard_swish, elu, selu, exponential, softsign)"),
        };
    }

    // SELU's constants as Keras writes them (keras.activations.selu), the float32 values of ONNX's Selu defaults.
    private const float SeluAlpha = 1.67326324f, SeluScale = 1.05070098f;

    /// <summary>softsign(x) = x / (1 + |x|).</summary>
    private Value Softsign(Value x, Value y, string name)
    {
        Value magnitude = Emit(OpCode.Abs, null, [x], NewValue(name + "/abs", x.Shape!), name + "/abs");
        Value denominator = Emit(OpCode.Add, ClampOptions.None, [magnitude, Constant(name + "/one", [1], [1f])], NewValue(name + "/one_plus_abs", x.Shape!), name + "/one_plus_abs");
        return Emit(OpCode.Div, ClampOptions.None, [x, denominator], y, name + "/softsign");
    }

    /// <summary>
    /// LSTM and GRU over the input's fixed sequence (<see cref="Passes.Lowering.RecurrentLayerBuilder"/>). Keras
    /// keeps kernel [I, gates·H] and recurrent_kernel [H, gates·H] with gates in the builder's order (LSTM i, f, c, o;
    /// GRU z, r, h); a reset_after GRU has a [2, 3H] bias, input row then recurrent row.
    /// </summary>
    private Value Recurrent(KerasLayer layer, Value x)
    {
        bool backwards = Bool(layer.Config, "go_backwards") == true;
        if (backwards && Bool(layer.Config, "return_sequences") == true)
        {
            throw Problem(layer, "sets go_backwards with return_sequences (Keras then lists the outputs in reverse time order); EdgeInfer converts go_backwards alone, or inside Bidirectional");
        }

        (Value sequence, Value last) = RecurrentLayer(layer, layer.ClassName, layer.Config, file.Weights(layer.Name), x, backwards, layer.Name);
        return Bool(layer.Config, "return_sequences") == true ? Reshape(layer, sequence, sequence.Shape!) : Reshape(layer, last, last.Shape!);
    }

    /// <summary>
    /// Bidirectional(LSTM or GRU): the layer, and a copy reading the steps last to first (its sequence output back in
    /// time order, as Keras reverses it before merging); the two merged by concat (forward first), sum, mul or ave.
    /// The weights list the forward layer's, then the backward one's.
    /// </summary>
    private Value Bidirectional(KerasLayer layer, Value x)
    {
        JsonElement inner = layer.Config.TryGetProperty("layer", out JsonElement l) ? l : throw Problem(layer, "has no wrapped layer");
        string cls = Str(inner, "class_name") ?? "";
        if (cls is not ("LSTM" or "GRU"))
        {
            throw Problem(layer, $"wraps a {cls}; EdgeInfer converts Bidirectional LSTM and GRU");
        }

        // The backward layer is the forward one with go_backwards flipped, unless the config gives it explicitly.
        JsonElement forward = inner.TryGetProperty("config", out JsonElement fc) ? fc : default;
        JsonElement backward = forward;
        bool backwardReverse = Bool(forward, "go_backwards") != true;
        if (layer.Config.TryGetProperty("backward_layer", out JsonElement bl) && bl.ValueKind == JsonValueKind.Object)
        {
            if (Str(bl, "class_name") != cls || !bl.TryGetProperty("config", out backward))
            {
                throw Problem(layer, $"has a backward {Str(bl, "class_name")} for a forward {cls}");
            }

            backwardReverse = Bool(backward, "go_backwards") == true;
        }

        string merge = Str(layer.Config, "merge_mode") ?? (layer.Config.TryGetProperty("merge_mode", out JsonElement mm) && mm.ValueKind == JsonValueKind.Null ? "none" : "concat");
        IReadOnlyList<KerasWeight> weights = file.Weights(layer.Name);
        if (weights.Count % 2 != 0)
        {
            throw Problem(layer, $"has {weights.Count} weight arrays; a forward and a backward layer have as many each");
        }

        int half = weights.Count / 2;
        (Value fs, Value fl) = RecurrentLayer(layer, cls, forward, [.. weights.Take(half)], x, Bool(forward, "go_backwards") == true, layer.Name + "/forward");
        (Value bs, Value bl2) = RecurrentLayer(layer, cls, backward, [.. weights.Skip(half)], x, backwardReverse, layer.Name + "/backward");
        bool sequences = Bool(forward, "return_sequences") == true;
        (Value a, Value b) = sequences ? (fs, bs) : (fl, bl2);
        int[] shape = [.. a.Shape!];
        switch (merge)
        {
            case "concat":
                shape[^1] *= 2;
                return Emit(OpCode.Concat, new ConcatOptions(shape.Length - 1), [a, b], NewValue(layer.Name, shape), layer.Name);
            case "sum":
                return Emit(OpCode.Add, ClampOptions.None, [a, b], NewValue(layer.Name, shape), layer.Name);
            case "mul":
                return Emit(OpCode.Mul, ClampOptions.None, [a, b], NewValue(layer.Name, shape), layer.Name);
            case "ave":
                Value sum = Emit(OpCode.Add, ClampOptions.None, [a, b], NewValue(layer.Name + "/sum", shape), layer.Name + "/sum");
                return Emit(OpCode.Mul, ClampOptions.None, [sum, Constant(layer.Name + "/half", [1], [0.5f])], NewValue(layer.Name, shape), layer.Name);
            default:
                throw Problem(layer, $"has merge_mode {merge}; EdgeInfer supports concat, sum, mul and ave (one output)");
        }
    }

    /// <summary>TimeDistributed(Dense): the Dense on the last axis, which is what it does on every time step.</summary>
    private Value TimeDistributed(KerasLayer layer, Value x)
    {
        JsonElement inner = layer.Config.TryGetProperty("layer", out JsonElement l) ? l : throw Problem(layer, "has no wrapped layer");
        if (Str(inner, "class_name") != "Dense" || !inner.TryGetProperty("config", out JsonElement config))
        {
            throw Problem(layer, $"wraps a {Str(inner, "class_name")}; EdgeInfer converts TimeDistributed(Dense)");
        }

        return Dense(layer with { ClassName = "Dense", Config = config }, x);
    }

    /// <summary>
    /// One LSTM or GRU over the input's fixed sequence, as one fused operator (<see cref="Passes.Lowering.RecurrentLayerBuilder"/>;
    /// return_state is refused, so the LSTM's cell state, which only the unrolled form gives, is never needed): the
    /// hidden states in time order [N, T, H] and the last one [N, H]. Keras keeps kernel [I, gates·H] and
    /// recurrent_kernel [H, gates·H] with gates in the builder's order (LSTM i, f, c, o; GRU z, r, h); a reset_after
    /// GRU has a [2, 3H] bias, input row then recurrent row.
    /// </summary>
    private (Value Sequence, Value Last) RecurrentLayer(KerasLayer layer, string cls, JsonElement config, IReadOnlyList<KerasWeight> weights, Value x, bool reverse, string stem)
    {
        bool lstm = cls == "LSTM";
        foreach (string flag in new[] { "return_state", "stateful", "time_major" })
        {
            if (Bool(config, flag) == true)
            {
                throw Problem(layer, $"sets {flag}; EdgeInfer converts stateless recurrences that return their output");
            }
        }

        if (x.Rank != 3)
        {
            throw Problem(layer, $"takes an (N, T, features) input, not {x.ShapeText}");
        }

        int h = Int(config, "units") ?? throw Problem(layer, "has no units");
        int gates = lstm ? 4 : 3, inputs = x.Shape![2];
        KerasWeight kernel = weights.FirstOrDefault(w => w.Name == "kernel") ?? throw Problem(layer, "has no kernel");
        KerasWeight recurrent = weights.FirstOrDefault(w => w.Name == "recurrent_kernel") ?? throw Problem(layer, "has no recurrent_kernel");
        if (kernel.Shape.Length != 2 || recurrent.Shape.Length != 2 || kernel.Shape[0] != inputs || kernel.Shape[1] != gates * h
            || recurrent.Shape[0] != h || recurrent.Shape[1] != gates * h)
        {
            throw Problem(layer, $"has kernel [{string.Join(",", kernel.Shape)}] and recurrent_kernel [{string.Join(",", recurrent.Shape)}] for {h} units over {inputs} features");
        }

        float[] bias = Bool(config, "use_bias") ?? true
            ? (weights.FirstOrDefault(w => w.Name == "bias") ?? throw Problem(layer, "has no bias")).Values
            : new float[(lstm ? 1 : 2) * gates * h];
        var builder = new Passes.Lowering.RecurrentLayerBuilder(new Emitter(this), stem, x, timeAxis: 1, reverse,
            options.UnrollRecurrences ? Passes.Lowering.RecurrentForm.Unrolled : Passes.Lowering.RecurrentForm.Fused);
        RecurrentActivation gate = RecurrentActivationOf(layer, ActivationName(config, layer, "recurrent_activation", "sigmoid"));
        RecurrentActivation act = RecurrentActivationOf(layer, ActivationName(config, layer, "activation", "tanh"));
        Value sequence, last;
        if (lstm)
        {
            if (bias.Length != 4 * h)
            {
                throw Problem(layer, $"has {bias.Length} biases for 4 gates of {h} units");
            }

            (sequence, last, _) = builder.Lstm(new Passes.Lowering.LstmCell(h, Transposed(kernel), Transposed(recurrent), bias, gate, act, act));
        }
        else
        {
            bool resetAfter = Bool(config, "reset_after") ?? file.IsKeras3;
            if (bias.Length != (resetAfter ? 6 : 3) * h)
            {
                throw Problem(layer, $"has {bias.Length} biases; reset_after = {resetAfter} needs {(resetAfter ? 6 : 3) * h}");
            }

            (sequence, last) = builder.Gru(new Passes.Lowering.GruCell(h, Transposed(kernel), Transposed(recurrent), bias[..(3 * h)],
                resetAfter ? bias[(3 * h)..] : new float[3 * h], resetAfter, gate, act));
        }

        return (sequence, Reshape(layer, last, [x.Shape[0], h], stem + "/last"));
    }

    /// <summary>[rows, columns] → [columns, rows].</summary>
    private static float[] Transposed(KerasWeight w)
    {
        int rows = w.Shape[0], cols = w.Shape[1];
        var t = new float[w.Values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[c * rows + r] = w.Values[r * cols + c];
            }
        }

        return t;
    }

    private RecurrentActivation RecurrentActivationOf(KerasLayer layer, string name) => name switch
    {
        "sigmoid" => RecurrentActivation.Sigmoid,
        "tanh" => RecurrentActivation.Tanh,
        "relu" => RecurrentActivation.Relu,
        "hard_sigmoid" => file.IsKeras3 ? RecurrentActivation.HardSigmoid(1f / 6, 0.5f) : RecurrentActivation.HardSigmoid(0.2f, 0.5f),
        _ => throw Problem(layer, $"uses recurrent activation '{name}' (supported: sigmoid, hard_sigmoid, tanh, relu)"),
    };

    /// <summary>The recurrent builder's view of this importer: its value names and node list.</summary>
    private sealed class Emitter(KerasLayers owner) : Passes.Lowering.ILoweredEmitter
    {
        public Value NewValue(string stem, int[] shape) => owner.NewValue(stem, shape);

        public Value Constant(string stem, int[] shape, float[] values) => owner.Constant(stem, shape, values);

        public void Emit(OpCode code, IOpOptions? options, Value?[] inputs, Value output, string name) => owner.Emit(code, options, inputs, output, name);
    }

    private Value Merge(KerasLayer layer, Value[] inputs)
    {
        if (inputs.Length < 2)
        {
            throw Problem(layer, "merges fewer than two inputs");
        }

        if (layer.ClassName == "Subtract" && inputs.Length != 2)
        {
            throw Problem(layer, "subtracts other than two inputs");
        }

        OpCode op = layer.ClassName switch { "Subtract" => OpCode.Sub, "Multiply" => OpCode.Mul, _ => OpCode.Add };
        Value acc = inputs[0];
        for (int i = 1; i < inputs.Length; i++)
        {
            int[] shape = Broadcast(layer, acc.Shape!, inputs[i].Shape!);
            bool last = i == inputs.Length - 1 && layer.ClassName != "Average";
            acc = Emit(op, ClampOptions.None, [acc, inputs[i]], NewValue(last ? layer.Name : $"{layer.Name}/{i}", shape), last ? layer.Name : $"{layer.Name}/{i}");
        }

        if (layer.ClassName == "Average")
        {
            acc = Emit(OpCode.Mul, ClampOptions.None, [acc, Constant(layer.Name + "/1_over_n", [1], [1f / inputs.Length])], NewValue(layer.Name, acc.Shape!), layer.Name);
        }

        return acc;
    }

    private Value Concatenate(KerasLayer layer, Value[] inputs)
    {
        int rank = inputs[0].Rank;
        int axis = Axis(layer, Int(layer.Config, "axis") ?? -1, rank);
        int[] shape = [.. inputs[0].Shape!];
        shape[axis] = 0;
        foreach (Value v in inputs)
        {
            if (v.Rank != rank || Enumerable.Range(0, rank).Any(d => d != axis && v.Shape![d] != shape[d]))
            {
                throw Problem(layer, $"concatenates {string.Join(" and ", inputs.Select(i => i.ShapeText))}, which differ outside axis {axis}");
            }

            shape[axis] += v.Shape![axis];
        }

        return Emit(OpCode.Concat, new ConcatOptions(axis), [.. inputs], NewValue(layer.Name, shape), layer.Name);
    }

    private Value ReshapeLayer(KerasLayer layer, Value x)
    {
        int[] target = Ints(layer.Config, "target_shape") ?? throw Problem(layer, "has no target_shape");
        long known = target.Where(d => d != -1).Aggregate(1L, (a, d) => a * d);
        long total = x.ElementCount / x.Shape![0];
        if (target.Count(d => d == -1) > 1 || target.Any(d => d == 0 || d < -1) || known <= 0 || total % known != 0)
        {
            throw Problem(layer, $"cannot reshape {x.ShapeText} to [{string.Join(",", target)}]");
        }

        int[] shape = [x.Shape[0], .. target.Select(d => d == -1 ? (int)(total / known) : d)];
        if (shape.Aggregate(1L, (a, d) => a * d) != x.ElementCount)
        {
            throw Problem(layer, $"cannot reshape {x.ShapeText} to [{string.Join(",", target)}]");
        }

        return Reshape(layer, x, shape);
    }

    /// <summary>ZeroPadding1D/2D is remembered and folded into the convolution that reads it (the only reader allowed).</summary>
    private Value ZeroPadding(KerasLayer layer, Value x)
    {
        bool oneD = layer.ClassName == "ZeroPadding1D";
        int[] p = PaddingPairs(layer, oneD);
        int[] shape = oneD ? [x.Shape![0], x.Shape[1] + p[2] + p[3], x.Shape[2]] : [x.Shape![0], x.Shape[1] + p[0] + p[1], x.Shape[2] + p[2] + p[3], x.Shape[3]];
        Value y = NewValue(layer.Name, shape);
        _zeroPads[y] = (x, p[0], p[2], p[1], p[3]);
        return y;
    }

    private Value Rescaling(KerasLayer layer, Value x)
    {
        double scale = Num(layer.Config, "scale") ?? throw Problem(layer, "has a non-scalar scale");
        double offset = Num(layer.Config, "offset") ?? 0;
        Value scaled = Emit(OpCode.Mul, ClampOptions.None, [x, Constant(layer.Name + "/scale", [1], [(float)scale])], NewValue(layer.Name + "/scaled", x.Shape!), layer.Name + "/scale");
        return offset == 0 ? scaled
            : Emit(OpCode.Add, ClampOptions.None, [scaled, Constant(layer.Name + "/offset", [1], [(float)offset])], NewValue(layer.Name, x.Shape!), layer.Name);
    }

    private (Value Input, (int Top, int Left, int Bottom, int Right) Pad) Unpadded(Value x)
        => _zeroPads.Remove(x, out var p) ? (p.Input, (p.Top, p.Left, p.Bottom, p.Right)) : (x, (0, 0, 0, 0));

    private Value To2D(KerasLayer layer, Value x)
    {
        if (x.Rank != 3)
        {
            throw Problem(layer, $"takes an (N, W, C) input, not {x.ShapeText}");
        }

        return Reshape(layer, x, [x.Shape![0], 1, x.Shape[1], x.Shape[2]], layer.Name + "/as_2d");
    }

    private Value Reshape(KerasLayer layer, Value x, int[] shape, string? name = null)
        => Emit(OpCode.Reshape, null, [x], NewValue(name ?? layer.Name, shape), name ?? layer.Name);

    private string PreActivationName(KerasLayer layer) => (ActivationName(layer, "activation", "linear")) == "linear" ? layer.Name : layer.Name + "/linear";

    private Value? BiasValue(KerasLayer layer, float[]? bias, int count)
    {
        if (bias is null)
        {
            return null;
        }

        if (bias.Length != count)
        {
            throw Problem(layer, $"has {bias.Length} biases for {count} outputs");
        }

        return Constant(layer.Name + "/bias", [count], bias);
    }

    /// <summary>The kernel (of the given rank) and, when use_bias, the bias.</summary>
    private (float[] Kernel, int[] Shape, float[]? Bias) KernelAndBias(KerasLayer layer, int rank)
    {
        KerasWeight k = Weight(layer, "kernel", rank);
        float[]? bias = Bool(layer.Config, "use_bias") ?? true ? Weight(layer, "bias", 1).Values : null;
        return (k.Values, k.Shape, bias);
    }

    private KerasWeight Weight(KerasLayer layer, string name, int rank)
    {
        KerasWeight w = file.Weights(layer.Name).FirstOrDefault(w => w.Name == name)
            ?? throw Problem(layer, $"has no '{name}' weight in /model_weights/{layer.Name}");
        if (w.Shape.Length != rank)
        {
            throw Problem(layer, $"has a '{name}' of shape [{string.Join(",", w.Shape)}]; expected rank {rank}");
        }

        return w;
    }

    private int[] Broadcast(KerasLayer layer, int[] a, int[] b)
    {
        try
        {
            return Passes.Shapes.ShapeMath.Broadcast(a, b);
        }
        catch (ArgumentException)
        {
            throw Problem(layer, $"cannot combine [{string.Join(",", a)}] with [{string.Join(",", b)}]");
        }
    }

    private int Axis(KerasLayer layer, int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        return a >= 1 && a < rank ? a : throw Problem(layer, $"uses axis {axis} of a rank-{rank} tensor (the batch axis, or out of range)");
    }

    private static int? AxisOf(JsonElement config)
        => config.ValueKind == JsonValueKind.Object && config.TryGetProperty("axis", out JsonElement a)
            ? a.ValueKind == JsonValueKind.Array && a.GetArrayLength() == 1 ? a[0].GetInt32() : a.ValueKind == JsonValueKind.Number ? a.GetInt32() : null
            : null;

    private int[] PaddingPairs(KerasLayer layer, bool oneD)
    {
        if (!layer.Config.TryGetProperty("padding", out JsonElement p))
        {
            return oneD ? [0, 0, 1, 1] : [1, 1, 1, 1];
        }

        // 1-D: n or (left, right) along W. 2-D: n, (h, w) or ((top, bottom), (left, right)).
        if (p.ValueKind == JsonValueKind.Number)
        {
            int n = p.GetInt32();
            return oneD ? [0, 0, n, n] : [n, n, n, n];
        }

        if (oneD && p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 2 && p[0].ValueKind == JsonValueKind.Number)
        {
            return [0, 0, p[0].GetInt32(), p[1].GetInt32()];
        }

        if (!oneD && p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 2)
        {
            if (p[0].ValueKind == JsonValueKind.Number)
            {
                return [p[0].GetInt32(), p[0].GetInt32(), p[1].GetInt32(), p[1].GetInt32()];
            }

            return [p[0][0].GetInt32(), p[0][1].GetInt32(), p[1][0].GetInt32(), p[1][1].GetInt32()];
        }

        throw Problem(layer, $"has padding {p.GetRawText()} in an unknown form");
    }

    private readonly record struct Geometry(int StrideH, int StrideW, int DilationH, int DilationW, int Top, int Left, int Bottom, int Right, int OutH, int OutW);

    /// <summary>Strides, dilation and padding (valid, same as TensorFlow pads: the odd pixel after; causal for 1-D).</summary>
    private Geometry Window(KerasLayer layer, int[] s4, int kh, int kw, bool oneD, string sizeKey, bool stridesDefaultToWindow = false)
    {
        int[]? strides = Ints(layer.Config, "strides");
        int[] dilation = Ints(layer.Config, "dilation_rate") ?? [1];
        int sh = oneD ? 1 : strides is null ? (stridesDefaultToWindow ? kh : 1) : strides[0];
        int sw = strides is null ? (stridesDefaultToWindow ? kw : 1) : strides[oneD ? 0 : Math.Min(1, strides.Length - 1)];
        int dh = oneD ? 1 : dilation[0], dw = dilation[oneD ? 0 : Math.Min(1, dilation.Length - 1)];
        string padding = Str(layer.Config, "padding") ?? "valid";
        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || kh < 1 || kw < 1)
        {
            throw Problem(layer, $"has {sizeKey} {kh}x{kw}, strides {sh}x{sw}, dilation {dh}x{dw}; each must be at least 1");
        }

        int h = s4[1], w = s4[2];
        (int oh, int top, int bottom) = Axis1(layer, padding, h, kh, sh, dh, oneD);
        (int ow, int left, int right) = Axis1(layer, padding, w, kw, sw, dw, false);
        return new Geometry(sh, sw, dh, dw, top, left, bottom, right, oh, ow);
    }

    private (int Out, int Before, int After) Axis1(KerasLayer layer, string padding, int size, int k, int stride, int dilation, bool heightOf1D)
    {
        long effective = (long)(k - 1) * dilation + 1;
        switch (padding)
        {
            case "valid":
                long o = (size - effective) / stride + 1;
                return size >= effective ? ((int)o, 0, 0) : throw Problem(layer, $"has a window of {effective} over {size} values with valid padding");
            case "same":
                return Passes.Shapes.SpatialGeometry.Same(size, k, stride, dilation);
            case "causal" when !heightOf1D && layer.ClassName == "Conv1D":
                return ((size - 1) / stride + 1, (int)(effective - 1), 0);
            case "causal":
                return (1, 0, 0); // the height of a 1-D convolution
            default:
                throw Problem(layer, $"has padding '{padding}' (supported: valid, same; causal for Conv1D)");
        }
    }

    /// <summary>
    /// An activation by name: a string, or Keras 3's serialized form {"class_name": ..., "config": "relu"}; anything
    /// else (a custom activation object) is refused rather than read as the default.
    /// </summary>
    private string ActivationName(KerasLayer layer, string key, string fallback) => ActivationName(layer.Config, layer, key, fallback);

    private string ActivationName(JsonElement config, KerasLayer layer, string key, string fallback)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty(key, out JsonElement a) || a.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        return a.ValueKind == JsonValueKind.String ? a.GetString()!
            : a.ValueKind == JsonValueKind.Object && a.TryGetProperty("config", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString()!
            : throw Problem(layer, $"has {key} {a.GetRawText()}, which is not a built-in activation by name");
    }

    private static string? Str(JsonElement e, string p)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool? Bool(JsonElement e, string p)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static double? Num(JsonElement e, string p)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static int? Int(JsonElement e, string p)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    /// <summary>An int or a list of ints (kernel_size: 3 or [3, 3]).</summary>
    private static int[]? Ints(JsonElement e, string p)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out JsonElement v))
        {
            return null;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int single))
        {
            return [single];
        }

        return v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(i => i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out _))
            ? [.. v.EnumerateArray().Select(i => i.GetInt32())]
            : null;
    }

    /// <summary>A shape with None as 0 (batch_input_shape: [null, 28, 28, 1]).</summary>
    private static int[]? Shape(JsonElement e, string p)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out JsonElement v) || v.ValueKind != JsonValueKind.Array
            || v.GetArrayLength() is < 1 or > FormatConstants.MaxRank)
        {
            return null;
        }

        return [.. v.EnumerateArray().Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out int n) && n > 0 ? n : 0)];
    }
}
