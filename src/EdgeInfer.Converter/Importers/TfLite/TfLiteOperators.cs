using EdgeInfer.Converter.Ir;
using EdgeInfer.Runtime.Kernels;
using Google.FlatBuffers;
using AddOptions = EdgeInfer.Converter.Importers.TfLite.Schema.AddOptions;
using BuiltinOptions = EdgeInfer.Converter.Importers.TfLite.Schema.BuiltinOptions;
using ConcatenationOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.ConcatenationOptions;
using Conv2DOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.Conv2DOptions;
using DepthwiseConv2DOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.DepthwiseConv2DOptions;
using FullyConnectedOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.FullyConnectedOptions;
using LeakyReluOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.LeakyReluOptions;
using MulOptions = EdgeInfer.Converter.Importers.TfLite.Schema.MulOptions;
using Operator = EdgeInfer.Converter.Importers.TfLite.Schema.Operator;
using Pool2DOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.Pool2DOptions;
using SoftmaxOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.SoftmaxOptions;
using SplitOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.SplitOptions;
using StridedSliceOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.StridedSliceOptions;
using SubOptions = EdgeInfer.Converter.Importers.TfLite.Schema.SubOptions;
using UnidirectionalSequenceLSTMOptions_ = EdgeInfer.Converter.Importers.TfLite.Schema.UnidirectionalSequenceLSTMOptions;

namespace EdgeInfer.Converter.Importers.TfLite;

/// <summary>
/// TFLite builtin operators → lowered EdgeInfer nodes. Most are one to one; the differences are spelt out where they
/// are handled: SAME/VALID padding becomes explicit per-edge pads (TFLite's ComputePadding: the odd pixel goes after),
/// a fused activation becomes the output clamp, depthwise weights [1, KH, KW, C·m] become OHWI [C·m, KH, KW, 1],
/// per-tensor weight scales become per-channel ones of equal value (the same multiplier for every channel, hence the
/// same bytes), and FULLY_CONNECTED's implicit flattening becomes an explicit Reshape.
/// </summary>
internal sealed class TfLiteOperators(TfLiteGraphBuilder builder)
{
    // BuiltinOperator codes (tensorflow/lite/schema/schema.fbs).
    private const int Add = 0, AveragePool2D = 1, Concatenation = 2, Conv2D = 3, DepthwiseConv2D = 4, Dequantize = 6,
        FullyConnected = 9, Logistic = 14, MaxPool2D = 17, Mul = 18, Relu = 19, ReluN1To1 = 20, Relu6 = 21, Reshape = 22,
        Softmax = 25, Tanh = 28, Transpose = 39, Mean = 40, Sub = 41, Squeeze = 43, ExpandDims = 70, LeakyRelu = 98,
        Quantize = 114, HardSwish = 117, Pad = 34, PadV2 = 60, Slice = 65, StridedSlice = 45, Split = 49, SplitV = 102,
        Exp = 47, Sqrt = 75, Abs = 101, Elu = 111, UnidirectionalSequenceLstm = 44, LogSoftmax = 50;

    // UNIDIRECTIONAL_SEQUENCE_LSTM's inputs (tensorflow/lite/kernels/lstm_shared.h): the input, four input weights and
    // four recurrent weights (gates i, f, c, o), three peepholes, four gate biases, the projection's weights and bias,
    // the two state variables, and four layer-norm coefficients.
    private const int LstmInputWeights = 1, LstmRecurrentWeights = 5, LstmPeepholes = 9, LstmBiases = 12, LstmProjection = 16,
        LstmOutputState = 18, LstmCellState = 19, LstmLayerNorm = 20;

    private const int PaddingSame = 0, PaddingValid = 1;

    private readonly HashSet<int> _written = [];

    /// <summary>PAD outputs waiting for the convolution that absorbs them: the PAD's input and its four spatial pads.</summary>
    private readonly Dictionary<Value, (Value Input, int Top, int Left, int Bottom, int Right)> _pads = new(ReferenceEqualityComparer.Instance);

    private readonly UniqueNames _nodeNames = new();

    /// <summary>How many operator inputs and graph outputs read each tensor.</summary>
    private int[] _readers = [];

    public void CountReaders(int tensorCount, IEnumerable<int> reads)
    {
        _readers = new int[tensorCount];
        foreach (int t in reads)
        {
            if ((uint)t < (uint)tensorCount)
            {
                _readers[t]++;
            }
        }
    }

    private Graph Graph => builder.Graph;

    private TfLiteGraphBuilder Builder => builder;

    /// <summary>Whether an imported operator writes tensor <paramref name="index"/>.</summary>
    public bool Writes(int index) => _written.Contains(index) && !_pads.Keys.Any(v => ReferenceEquals(v, builder.Tensor(index, "a graph output")));

    public void Import(int index, Operator op)
    {
        int code = builder.BuiltinCode(op, index, out string? custom);
        var inputs = new Value?[op.InputsLength];
        for (int i = 0; i < inputs.Length; i++)
        {
            int t = op.Inputs(i);
            inputs[i] = t == -1 ? null : builder.Tensor(t, $"operator {index} ({Name(code, custom)}) input {i}");
            if (t != -1 && builder.IsVariable(t) && !(code == UnidirectionalSequenceLstm && i is LstmOutputState or LstmCellState))
            {
                throw Problem(index, code, custom, $"reads '{inputs[i]!.Name}', a variable (state kept between invocations); EdgeInfer graphs are stateless, and only an LSTM's initial state may be a variable");
            }
        }

        bool split = code is Split or SplitV;
        if (op.OutputsLength != 1 && !(split && op.OutputsLength >= 1))
        {
            throw Problem(index, code, custom, $"has {op.OutputsLength} outputs; the supported operators other than SPLIT have one");
        }

        Value output = builder.OutputTensor(op.Outputs(0), _written);
        var context = new OpContext(this, index, code, custom, op, inputs, output);
        if (code is not (Conv2D or DepthwiseConv2D) && inputs.FirstOrDefault(v => v is not null && _pads.ContainsKey(v)) is { } padded)
        {
            throw context.Invalid($"reads '{padded.Name}', the output of a PAD; EdgeInfer folds PAD only into a CONV_2D or DEPTHWISE_CONV_2D that reads it");
        }

        switch (code)
        {
            case Conv2D: Convolution(context); break;
            case Pad or PadV2: PadBeforeConvolution(context, op.Outputs(0)); break;
            case DepthwiseConv2D: Depthwise(context); break;
            case FullyConnected: Dense(context); break;
            case AveragePool2D: Pool(context, OpCode.AveragePool2D); break;
            case MaxPool2D: Pool(context, OpCode.MaxPool2D); break;
            case Mean: MeanOverSpace(context); break;
            case Add: Binary(context, OpCode.Add, context.Options<AddOptions>(BuiltinOptions.AddOptions)?.FusedActivationFunction ?? 0); break;
            case Sub: Binary(context, OpCode.Sub, context.Options<SubOptions>(BuiltinOptions.SubOptions)?.FusedActivationFunction ?? 0); break;
            case Mul: Binary(context, OpCode.Mul, context.Options<MulOptions>(BuiltinOptions.MulOptions)?.FusedActivationFunction ?? 0); break;
            case Reshape or Squeeze or ExpandDims: ShapeOnly(context); break;
            case Softmax: SoftmaxOp(context); break;
            case LogSoftmax: LogSoftmaxOp(context); break;
            case Concatenation: Concat(context); break;
            case Transpose: TransposeOp(context); break;
            case Slice: SliceOp(context); break;
            case StridedSlice: StridedSliceOp(context); break;
            case Split or SplitV:
                var parts = new List<Value> { output };
                for (int o = 1; o < op.OutputsLength; o++)
                {
                    parts.Add(builder.OutputTensor(op.Outputs(o), _written));
                }

                SplitOp(context, parts);
                break;
            case Quantize: Unary(context, OpCode.Quantize, null); break;
            case Dequantize: Unary(context, OpCode.Dequantize, null); break;
            case Logistic: Unary(context, OpCode.Sigmoid, null); break;
            case Tanh: Unary(context, OpCode.Tanh, null); break;
            case Relu: Unary(context, OpCode.Relu, null); break;
            case Relu6: Unary(context, OpCode.Clip, new ClampOptions(0, 6)); break;
            case ReluN1To1: Unary(context, OpCode.Clip, new ClampOptions(-1, 1)); break;
            case HardSwish: Unary(context, OpCode.HardSwish, null); break;
            case Abs: Unary(context, OpCode.Abs, null); break;
            case Sqrt: Unary(context, OpCode.Sqrt, null); break;
            case Exp: Unary(context, OpCode.Exp, null); break;
            case Elu: Unary(context, OpCode.Elu, new EluOptions(1f, 1f)); break; // TFLite's ELU has alpha 1
            case UnidirectionalSequenceLstm: SequenceLstm(context); break;
            case LeakyRelu:
                Unary(context, OpCode.LeakyRelu, new LeakyReluOptions(context.Options<LeakyReluOptions_>(BuiltinOptions.LeakyReluOptions)?.Alpha ?? 0f));
                break;
            default:
                throw Problem(index, code, custom, "is not supported by EdgeInfer's TFLite importer (supported: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, "
                    + "AVERAGE_POOL_2D, MAX_POOL_2D, MEAN over height and width, ADD, SUB, MUL, RESHAPE, SQUEEZE, EXPAND_DIMS, SOFTMAX, LOG_SOFTMAX, CONCATENATION, TRANSPOSE, "
                    + "QUANTIZE, DEQUANTIZE, LOGISTIC, TANH, RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH, ABS, SQRT, EXP, ELU, SLICE, STRIDED_SLICE, SPLIT, SPLIT_V, "
                    + "UNIDIRECTIONAL_SEQUENCE_LSTM, and PAD / PADV2 before a convolution)");
        }
    }

    private void Convolution(OpContext c)
    {
        Conv2DOptions_ o = c.Options<Conv2DOptions_>(BuiltinOptions.Conv2DOptions) ?? throw c.Invalid("has no Conv2DOptions");
        (Value x, Value w, Value? b) = c.WeightedInputs(rank: 4);
        int[] xs = x.Shape!, ws = w.Shape!;
        if (ws[3] < 1 || xs[3] % ws[3] != 0 || ws[0] % (xs[3] / ws[3]) != 0)
        {
            throw c.Invalid($"filter {w.ShapeText} does not divide input {x.ShapeText} into groups");
        }

        (int pt, int pb) = c.Padding(o.Padding, xs[1], ws[1], o.StrideH, o.DilationHFactor, c.Output.Shape![1], "height");
        (int pl, int pr) = c.Padding(o.Padding, xs[2], ws[2], o.StrideW, o.DilationWFactor, c.Output.Shape![2], "width");
        c.RequireOutputShape([xs[0], c.Output.Shape![1], c.Output.Shape![2], ws[0]]);
        (Value input, int et, int el, int eb, int er) = Unpadded(x);
        var options = new Conv2DOptions(o.StrideH, o.StrideW, o.DilationHFactor, o.DilationWFactor, pt + et, pl + el, pb + eb, pr + er, xs[3] / ws[3], c.Activation(o.FusedActivationFunction));
        c.Emit(OpCode.Conv2D, options, [input, c.Weights(w, w), b]);
    }

    private void Depthwise(OpContext c)
    {
        DepthwiseConv2DOptions_ o = c.Options<DepthwiseConv2DOptions_>(BuiltinOptions.DepthwiseConv2DOptions) ?? throw c.Invalid("has no DepthwiseConv2DOptions");
        (Value x, Value w, Value? b) = c.WeightedInputs(rank: 4);
        int[] xs = x.Shape!, ws = w.Shape!;
        int channels = xs[3], outChannels = ws[3];
        if (ws[0] != 1 || outChannels % channels != 0)
        {
            throw c.Invalid($"filter {w.ShapeText} is not [1, KH, KW, C·multiplier] for input {x.ShapeText}");
        }

        c.RequireOutputShape([xs[0], c.Output.Shape![1], c.Output.Shape![2], outChannels]);

        // [1, KH, KW, C·m] → [C·m, KH, KW, 1]: TFLite's output channel c·m + j is EdgeInfer's group c, output j, so
        // the channel order (and the per-channel scales along TFLite's dimension 3) carries over unchanged.
        int taps = ws[1] * ws[2], size = DataTypes.SizeOf(w.Type);
        byte[] src = w.Constant!.Bytes, dst = new byte[src.Length];
        for (int tap = 0; tap < taps; tap++)
        {
            for (int ch = 0; ch < outChannels; ch++)
            {
                Array.Copy(src, (tap * outChannels + ch) * size, dst, (ch * taps + tap) * size, size);
            }
        }

        QuantizationInfo? q = w.Quantization;
        var ohwi = new Value(builder.NewValueName(w.Name + "_ohwi"), w.Type, [outChannels, ws[1], ws[2], 1], new TensorData(w.Type, dst))
        {
            Quantization = q is null ? null : new QuantizationInfo(q.Scales, q.ZeroPoints, q.Axis == 3 ? 0 : q.Axis),
        };
        (int pt, int pb) = c.Padding(o.Padding, xs[1], ws[1], o.StrideH, o.DilationHFactor, c.Output.Shape![1], "height");
        (int pl, int pr) = c.Padding(o.Padding, xs[2], ws[2], o.StrideW, o.DilationWFactor, c.Output.Shape![2], "width");
        (Value input, int et, int el, int eb, int er) = Unpadded(x);
        var options = new Conv2DOptions(o.StrideH, o.StrideW, o.DilationHFactor, o.DilationWFactor, pt + et, pl + el, pb + eb, pr + er, channels, c.Activation(o.FusedActivationFunction));
        c.Emit(OpCode.Conv2D, options, [input, c.Weights(ohwi, w), b]);
    }

    /// <summary>
    /// PAD (and PADV2 with the quantized 0 as its value) of an NHWC activation's height and width, read by one
    /// convolution: EdgeInfer's convolutions pad with the input's zero point (float: 0), which is the value PAD writes
    /// (its output keeps the input's quantization), so the pad becomes part of the convolution's own padding. This is
    /// how the TFLite converter writes Keras' ZeroPadding2D before a stride-2 VALID convolution (MobileNetV2).
    /// </summary>
    private void PadBeforeConvolution(OpContext c, int outputIndex)
    {
        Value x = c.Input(0);
        Value paddings = c.Constant(1, "paddings");
        long[] p = paddings.Constant!.ToInt64Array();
        if (x.IsConstant || x.Rank != 4 || p.Length != 8 || p.Any(v => v < 0 || v > 1 << 16) || p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0)
        {
            throw c.Invalid($"pads {x.ShapeText} by [{string.Join(",", p)}]; EdgeInfer folds only non-negative padding of an NHWC activation's height and width into the convolution that reads it");
        }

        if (c.Inputs.Length > 2 && c.Inputs[2] is { } value)
        {
            double zero = x.Type == DataType.Int8 ? x.Quantization?.ZeroPoints[0] ?? double.NaN : 0;
            if (!value.IsConstant || value.ElementCount != 1 || value.Constant!.ToFloatArray()[0] != zero)
            {
                throw c.Invalid("pads with a value other than zero; EdgeInfer's convolutions pad with zero (the zero point in int8)");
            }
        }

        c.RequireOutputShape([x.Shape![0], x.Shape[1] + (int)(p[2] + p[3]), x.Shape[2] + (int)(p[4] + p[5]), x.Shape[3]]);
        c.RequireSameQuantization(x);
        if (_readers[outputIndex] != 1)
        {
            throw c.Invalid($"output '{c.Output.Name}' is read {_readers[outputIndex]} times; EdgeInfer folds a PAD into the one convolution that reads it");
        }

        _pads[c.Output] = (x, (int)p[2], (int)p[4], (int)p[3], (int)p[5]);
    }

    /// <summary>A convolution's input with a PAD folded in: the PAD's input and the padding it adds.</summary>
    private (Value Input, int Top, int Left, int Bottom, int Right) Unpadded(Value x)
        => _pads.Remove(x, out var pad) ? pad : (x, 0, 0, 0, 0);

    private void Dense(OpContext c)
    {
        FullyConnectedOptions_ o = c.Options<FullyConnectedOptions_>(BuiltinOptions.FullyConnectedOptions) ?? new FullyConnectedOptions_();
        if (o.WeightsFormat != 0)
        {
            throw c.Invalid("uses shuffled weights (SHUFFLED4x16INT8); EdgeInfer reads the default weights format");
        }

        (Value x, Value w, Value? b) = c.WeightedInputs(rank: 2, inputRank: 0);
        int k = w.Shape![1];
        long elements = x.ElementCount;
        if (elements % k != 0)
        {
            throw c.Invalid($"input {x.ShapeText} does not flatten into rows of the filter's {k} inputs");
        }

        // TFLite flattens the input to [elements / K, K] unless keep_num_dims; EdgeInfer's FullyConnected multiplies
        // along the last axis, so a Reshape makes the flattening explicit (free: the planner makes it a view).
        if (x.Shape![^1] != k || (!o.KeepNumDims && x.Rank != 2))
        {
            if (o.KeepNumDims)
            {
                throw c.Invalid($"keeps the input's dimensions, but its last dimension is not the filter's {k} inputs");
            }

            var flat = new Value(builder.NewValueName(x.Name + "_flat"), x.Type, [(int)(elements / k), k]) { Quantization = x.Quantization };
            c.EmitNode(OpCode.Reshape, null, [x], flat, c.Output.Name + "_flatten");
            x = flat;
        }

        c.RequireOutputShape([.. x.Shape![..^1], w.Shape![0]]);
        c.Emit(OpCode.FullyConnected, c.Activation(o.FusedActivationFunction), [x, c.Weights(w, w), b]);
    }

    /// <summary>
    /// UNIDIRECTIONAL_SEQUENCE_LSTM → one FullyConnected that projects every step's input onto the four gates at once,
    /// then EdgeInfer's fused Lstm. TFLite's gates are i, f, c, o, each with its own [H, I] input and [H, H] recurrent
    /// weights and [H] bias; the gates use sigmoid, the cell input and the output the fused activation; cell_clip
    /// carries over. The state variables must start at zero (TfLiteImporter checks), and the recurrence starts from
    /// zero on every inference (TFLite keeps the state between invocations until it is reset; a sequence classifier
    /// wants it reset).
    /// <para>The integer LSTM (int8 input and output, int8 weights, int32 biases, a 16-bit cell state) runs as the
    /// float recurrence between a Dequantize and a Quantize to the output's parameters, on its own int8 weights kept
    /// bit for bit (one scale per row, each gate's) and dequantized once at load. It is not TFLite's fixed-point
    /// arithmetic, so its bytes are not TFLite's; it is the float LSTM the integer one approximates.</para>
    /// Refused: CIFG (no input gate), peepholes, projection and its clip, layer normalization, diagonal recurrent
    /// weights, and hybrid forms (float activations, int8 weights).
    /// </summary>
    private void SequenceLstm(OpContext c)
    {
        var o = c.Options<UnidirectionalSequenceLSTMOptions_>(BuiltinOptions.UnidirectionalSequenceLSTMOptions) ?? throw c.Invalid("has no UnidirectionalSequenceLSTMOptions");
        Value x = c.Input(0);
        if (c.Inputs.Length is not (20 or 24))
        {
            throw c.Invalid($"has {c.Inputs.Length} inputs; the LSTM takes 20, or 24 with layer normalization");
        }

        bool integer = x.Type == DataType.Int8;
        if (integer
            ? x.Quantization is not { Scales.Length: 1 } || c.Output is not { Type: DataType.Int8, Quantization.Scales.Length: 1 }
            : x.Type != DataType.Float32 || c.Output.Type != DataType.Float32 || c.Inputs.Any(v => v is { IsConstant: true, Type: not DataType.Float32 }))
        {
            throw c.Invalid(integer
                ? "is an integer LSTM whose input or output is not int8 with one scale and zero point"
                : "mixes float activations with integer weights (hybrid models are not supported; convert the float model with --quantize int8-weights)");
        }

        if (x.IsConstant || x.Rank != 3)
        {
            throw c.Invalid($"input {x.ShapeText} must be a rank-3 activation");
        }

        string? refused = c.Inputs[LstmInputWeights] is null ? "CIFG (no input gate)"
            : Enumerable.Range(LstmPeepholes, 3).Any(i => c.Inputs[i] is not null) ? "peephole connections"
            : c.Inputs[LstmProjection] is not null || c.Inputs[LstmProjection + 1] is not null ? "a projection layer"
            : Enumerable.Range(LstmLayerNorm, c.Inputs.Length - LstmLayerNorm).Any(i => c.Inputs[i] is not null) ? "layer normalization"
            : !(o.CellClip >= 0 && float.IsFinite(o.CellClip)) ? $"cell_clip {o.CellClip}"
            : o.ProjClip != 0 ? "projection clipping"
            : o.DiagonalRecurrentTensors ? "diagonal recurrent weights"
            : null;
        if (refused is not null)
        {
            throw c.Invalid($"uses {refused}, which EdgeInfer's LSTM does not have");
        }

        RecurrentActivation activation = o.FusedActivationFunction switch
        {
            1 => RecurrentActivation.Relu,
            4 => RecurrentActivation.Tanh,
            6 => RecurrentActivation.Sigmoid,
            sbyte other => throw c.Invalid($"has fused activation {other}; an LSTM's cell activation must be TANH (4), RELU (1) or SIGMOID (6)"),
        };
        int timeAxis = o.TimeMajor ? 0 : 1;
        int inputs = x.Shape![2], hidden = c.Constant(LstmRecurrentWeights + 1, "the forget gate's recurrent weights").Shape![0];
        int rows = x.Shape[1 - timeAxis];
        foreach (int state in new[] { LstmOutputState, LstmCellState })
        {
            Value s = c.Input(state);
            if (!Builder.IsVariable(c.Op.Inputs(state)) || !s.Shape!.SequenceEqual([rows, hidden]))
            {
                throw c.Invalid($"state '{s.Name}' (input {state}) must be a [{rows},{hidden}] variable; it is {s.ShapeText}");
            }
        }

        c.RequireOutputShape([x.Shape[0], x.Shape[1], hidden]);
        string stem = c.Output.Name;
        Value input = x;
        if (integer)
        {
            input = new Value(builder.NewValueName(x.Name + "_dequantized"), DataType.Float32, x.Shape);
            c.EmitNode(OpCode.Dequantize, null, [x], input, stem + "/dequantize_input");
        }

        var projected = new Value(builder.NewValueName(stem + "/input_projection"), DataType.Float32, [x.Shape[0], x.Shape[1], 4 * hidden]);
        Value weights = GateWeights(c, LstmInputWeights, [hidden, inputs], "input weights", stem + "/input_weights");
        Value b = ConstantValue(stem + "/bias", [4 * hidden], GateBiases(c, hidden));
        c.EmitNode(OpCode.FullyConnected, ClampOptions.None, [input, weights, b], projected, stem + "/input_projection");
        var options = new RecurrentOptions(timeAxis, false, false, RecurrentActivation.Sigmoid, activation, activation, o.CellClip);
        Value recurrent = GateWeights(c, LstmRecurrentWeights, [hidden, hidden], "recurrent weights", stem + "/recurrent_weights");
        if (!integer)
        {
            c.Emit(OpCode.Lstm, options, [projected, recurrent]);
            return;
        }

        var sequence = new Value(builder.NewValueName(stem + "/float"), DataType.Float32, c.Output.Shape!);
        c.EmitNode(OpCode.Lstm, options, [projected, recurrent], sequence, stem + "/lstm");
        c.Emit(OpCode.Quantize, null, [sequence]);
    }

    /// <summary>
    /// The four gates' weights (inputs first..first+3, each <paramref name="shape"/>) stacked into one [4·rows, cols]
    /// matrix: float constants as they are; int8 ones kept as int8 with one scale per row (each gate's per-tensor
    /// scale, or its per-row scales) behind a Dequantize, which the emitter makes a load-time tensor.
    /// </summary>
    private Value GateWeights(OpContext c, int first, int[] shape, string what, string stem)
    {
        Value[] gates = [.. Enumerable.Range(first, 4).Select(i => c.Constant(i, what))];
        foreach ((Value v, int g) in gates.Select((v, g) => (v, g)))
        {
            if (!v.Shape!.SequenceEqual(shape) || v.Type != gates[0].Type)
            {
                throw c.Invalid($"{what} '{v.Name}' (input {first + g}) is {DataTypes.Name(v.Type)} {v.ShapeText}; {DataTypes.Name(gates[0].Type)} [{string.Join(",", shape)}] expected");
            }
        }

        int[] stacked = [4 * shape[0], shape[1]];
        if (gates[0].Type == DataType.Float32)
        {
            return ConstantValue(stem, stacked, [.. gates.SelectMany(v => v.Constant!.ToFloatArray())]);
        }

        if (gates[0].Type != DataType.Int8)
        {
            throw c.Invalid($"{what} are {DataTypes.Name(gates[0].Type)}; float32 or int8 expected");
        }

        var scales = new List<float>();
        foreach (Value v in gates)
        {
            QuantizationInfo q = v.Quantization is { } info && info.ZeroPoints.All(z => z == 0) && (info.Scales.Length == 1 || (info.Axis == 0 && info.Scales.Length == shape[0]))
                ? info
                : throw c.Invalid($"{what} '{v.Name}' must be symmetric int8, per tensor or per row");
            scales.AddRange(Enumerable.Range(0, shape[0]).Select(row => q.Scales[q.Scales.Length == 1 ? 0 : row]));
        }

        var stored = new Value(builder.NewValueName(stem + "_int8"), DataType.Int8, stacked, TensorData.FromInt8s([.. gates.SelectMany(v => v.Constant!.Int8s.ToArray())]))
        {
            Quantization = new QuantizationInfo([.. scales], new int[scales.Count], 0),
        };
        var restored = new Value(builder.NewValueName(stem), DataType.Float32, stacked);
        c.EmitNode(OpCode.Dequantize, null, [stored], restored, stem + "_dequantize");
        return restored;
    }

    /// <summary>The four gate biases [H] as floats: float32 ones as they are, int32 ones times their scale.</summary>
    private float[] GateBiases(OpContext c, int hidden)
    {
        var values = new List<float>();
        for (int i = LstmBiases; i < LstmBiases + 4; i++)
        {
            Value v = c.Constant(i, "gate bias");
            if (v.ElementCount != hidden)
            {
                throw c.Invalid($"gate bias '{v.Name}' (input {i}) is {v.ShapeText}; [{hidden}] expected");
            }

            values.AddRange(v.Type switch
            {
                DataType.Float32 => v.Constant!.ToFloatArray(),
                DataType.Int32 when builder.Int32Scale(c.Op.Inputs(i)) is float scale && float.IsFinite(scale) && scale > 0
                    => v.Constant!.Int32s.ToArray().Select(b => (float)(b * (double)scale)),
                _ => throw c.Invalid($"gate bias '{v.Name}' (input {i}) must be float32, or int32 with one positive scale"),
            });
        }

        return [.. values];
    }

    private Value ConstantValue(string stem, int[] shape, float[] values) => new(builder.NewValueName(stem), DataType.Float32, shape, TensorData.FromFloats(values));

    private void Pool(OpContext c, OpCode op)
    {
        Pool2DOptions_ o = c.Options<Pool2DOptions_>(BuiltinOptions.Pool2DOptions) ?? throw c.Invalid("has no Pool2DOptions");
        Value x = c.Activation4D(0);
        (int pt, int pb) = c.Padding(o.Padding, x.Shape![1], o.FilterHeight, o.StrideH, 1, c.Output.Shape![1], "height");
        (int pl, int pr) = c.Padding(o.Padding, x.Shape![2], o.FilterWidth, o.StrideW, 1, c.Output.Shape![2], "width");
        // TFLite averages over the window's in-input positions only, as count_include_pad = false does.
        c.RequireOutputShape([x.Shape![0], c.Output.Shape![1], c.Output.Shape![2], x.Shape[3]]);
        c.RequireSameQuantization(x);
        var options = new Pool2DOptions(o.FilterHeight, o.FilterWidth, o.StrideH, o.StrideW, 1, 1, pt, pl, pb, pr, false, c.Activation(o.FusedActivationFunction));
        c.Emit(op, options, [x]);
    }

    private void MeanOverSpace(OpContext c)
    {
        Value x = c.Input(0);
        if (x.IsConstant || x.Rank != 4)
        {
            throw c.Invalid($"input {x.ShapeText} must be an NHWC activation");
        }

        Value axes = c.Constant(1, "axes");
        long[] a = [.. axes.Constant!.ToInt64Array().Select(v => v < 0 ? v + 4 : v).Order()];
        if (!a.SequenceEqual([1L, 2L]))
        {
            throw c.Invalid($"averages over axes [{string.Join(",", axes.Constant!.ToInt64Array())}]; EdgeInfer supports MEAN over height and width (axes 1 and 2) of an NHWC tensor");
        }

        c.RequireTypes(x);
        int[] pooled = [x.Shape![0], 1, 1, x.Shape[3]];
        if (c.Output.Shape!.SequenceEqual(pooled))
        {
            c.Emit(OpCode.GlobalAveragePool, null, [x]);
            return;
        }

        c.RequireOutputShape([x.Shape[0], x.Shape[3]]);
        var spatial = new Value(builder.NewValueName(c.Output.Name + "_pooled"), c.Output.Type, pooled) { Quantization = c.Output.Quantization };
        c.EmitNode(OpCode.GlobalAveragePool, null, [x], spatial, c.Output.Name + "_mean");
        c.Emit(OpCode.Reshape, null, [spatial]);
    }

    private static void Binary(OpContext c, OpCode op, sbyte activation)
    {
        if (c.Inputs.Length != 2 || c.Inputs[0] is null || c.Inputs[1] is null)
        {
            throw c.Invalid("needs two inputs");
        }

        int[] broadcast;
        try
        {
            broadcast = Passes.Shapes.ShapeMath.Broadcast(c.Inputs[0]!.Shape!, c.Inputs[1]!.Shape!);
        }
        catch (ArgumentException)
        {
            throw c.Invalid($"cannot broadcast {c.Inputs[0]!.ShapeText} with {c.Inputs[1]!.ShapeText}");
        }

        c.RequireOutputShape(broadcast);
        c.RequireTypes(c.Inputs[0]!, c.Inputs[1]!);
        c.Emit(op, c.Activation(activation), [c.Inputs[0], c.Inputs[1]]);
    }

    private static void ShapeOnly(OpContext c)
    {
        Value x = c.Input(0);
        if (x.ElementCount != c.Output.ElementCount)
        {
            throw c.Invalid($"reshapes {x.ShapeText} into {c.Output.ShapeText}, which holds a different number of elements");
        }

        c.RequireTypes(x);
        c.RequireSameQuantization(x);

        c.Emit(OpCode.Reshape, null, [x]);
    }

    private static void SoftmaxOp(OpContext c)
    {
        float beta = c.Options<SoftmaxOptions_>(BuiltinOptions.SoftmaxOptions)?.Beta ?? 1f;
        Value x = c.Input(0);
        c.RequireOutputShape(x.Shape!);
        c.RequireTypes(x);
        c.Emit(OpCode.Softmax, new SoftmaxOptions(x.Rank - 1, beta), [x]);
    }

    /// <summary>
    /// LOG_SOFTMAX: no options (its LogSoftmaxOptions table is empty), so β = 1 over the last axis. TFLite's int8
    /// kernel requires output scale 16/256 and zero point 127, and so does EdgeInfer's; another pair is refused here,
    /// by name, rather than at load.
    /// </summary>
    private static void LogSoftmaxOp(OpContext c)
    {
        Value x = c.Input(0);
        c.RequireOutputShape(x.Shape!);
        c.RequireTypes(x);
        if (c.Output.Type == DataType.Int8 && c.Output.Quantization is { } q
            && (q.Scales.Length != 1 || q.ZeroPoints[0] != LogSoftmaxInt8Kernel.OutputZeroPoint
                || Math.Abs(q.Scales[0] - LogSoftmaxInt8Kernel.OutputScale) > 0.001f * LogSoftmaxInt8Kernel.OutputScale))
        {
            throw c.Invalid($"has int8 output '{c.Output.Name}' with scale {string.Join(", ", q.Scales)} and zero point {string.Join(", ", q.ZeroPoints)}; int8 LOG_SOFTMAX takes scale 16/256 and zero point 127");
        }

        c.Emit(OpCode.LogSoftmax, new SoftmaxOptions(x.Rank - 1, 1f), [x]);
    }

    private static void Concat(OpContext c)
    {
        ConcatenationOptions_ o = c.Options<ConcatenationOptions_>(BuiltinOptions.ConcatenationOptions) ?? throw c.Invalid("has no ConcatenationOptions");
        if (o.FusedActivationFunction != 0)
        {
            throw c.Invalid("has a fused activation; EdgeInfer's Concat has no output clamp");
        }

        Value?[] parts = c.Inputs;
        if (parts.Length == 0 || parts.Any(p => p is null))
        {
            throw c.Invalid("has a missing input");
        }

        int rank = c.Output.Rank;
        int axis = o.Axis < 0 ? o.Axis + rank : o.Axis;
        if (axis < 0 || axis >= rank)
        {
            throw c.Invalid($"axis {o.Axis} is outside rank {rank}");
        }

        int[] joined = [.. parts[0]!.Shape!];
        joined[Math.Min(axis, joined.Length - 1)] = 0;
        foreach (Value? p in parts)
        {
            if (p!.Rank != rank || Enumerable.Range(0, rank).Any(d => d != axis && p.Shape![d] != joined[d]))
            {
                throw c.Invalid($"input {p.ShapeText} does not match the others outside axis {axis}");
            }

            joined[axis] += p.Shape![axis];
        }

        c.RequireOutputShape(joined);
        c.RequireTypes([.. parts.Select(p => p!)]);
        c.Emit(OpCode.Concat, new ConcatOptions(axis), parts);
    }

    /// <summary>SLICE: begin and size per axis (size −1: to the end).</summary>
    private static void SliceOp(OpContext c)
    {
        Value x = c.Input(0);
        long[] begin = c.Constant(1, "begin").Constant!.ToInt64Array(), size = c.Constant(2, "size").Constant!.ToInt64Array();
        int rank = x.Rank;
        if (begin.Length != rank || size.Length != rank)
        {
            throw c.Invalid($"has {begin.Length} begins and {size.Length} sizes for a rank-{rank} input");
        }

        var b = new int[rank];
        var shape = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            long n = size[d] == -1 ? x.Shape![d] - begin[d] : size[d];
            if (begin[d] < 0 || n < 1 || begin[d] + n > x.Shape![d])
            {
                throw c.Invalid($"takes {size[d]} from {begin[d]} on axis {d} of {x.ShapeText}");
            }

            (b[d], shape[d]) = ((int)begin[d], (int)n);
        }

        EmitSlice(c, x, b, [.. Enumerable.Repeat(1, rank)], shape, c.Output, c.Output.Name);
    }

    /// <summary>
    /// STRIDED_SLICE with positive strides: begin/end masks take the whole axis, shrink_axis_mask keeps one element
    /// and drops the axis (a Reshape after the Slice), offset makes end relative to begin. Ellipsis and new axes are
    /// refused.
    /// </summary>
    private static void StridedSliceOp(OpContext c)
    {
        StridedSliceOptions_ o = c.Options<StridedSliceOptions_>(BuiltinOptions.StridedSliceOptions) ?? new StridedSliceOptions_();
        if (o.EllipsisMask != 0 || o.NewAxisMask != 0)
        {
            throw c.Invalid("uses an ellipsis or new-axis mask; EdgeInfer supports begin, end and shrink masks");
        }

        Value x = c.Input(0);
        long[] begin = c.Constant(1, "begin").Constant!.ToInt64Array(), end = c.Constant(2, "end").Constant!.ToInt64Array();
        long[] strides = c.Constant(3, "strides").Constant!.ToInt64Array();
        int rank = x.Rank;
        if (begin.Length > rank || end.Length != begin.Length || strides.Length != begin.Length)
        {
            throw c.Invalid($"has {begin.Length} begins, {end.Length} ends and {strides.Length} strides for a rank-{rank} input");
        }

        var b = new int[rank];
        var step = new int[rank];
        var shape = new int[rank];
        var kept = new List<int>();
        for (int d = 0; d < rank; d++)
        {
            long dim = x.Shape![d], s = d < strides.Length ? strides[d] : 1;
            if (s < 1 || s > int.MaxValue)
            {
                throw c.Invalid($"has stride {s} on axis {d}; EdgeInfer supports positive strides");
            }

            bool shrink = (o.ShrinkAxisMask >> d & 1) != 0;
            long first = d >= begin.Length || (o.BeginMask >> d & 1) != 0 ? 0 : begin[d] < 0 ? begin[d] + dim : begin[d];
            first = Math.Clamp(first, 0, dim);
            long last = d >= end.Length || (o.EndMask >> d & 1) != 0 ? dim : o.Offset ? first + end[d] : end[d] < 0 ? end[d] + dim : end[d];
            last = shrink ? first + 1 : Math.Clamp(last, 0, dim);
            long count = last > first ? (last - first + s - 1) / s : 0;
            if (count < 1 || first >= dim)
            {
                throw c.Invalid($"selects nothing on axis {d} of {x.ShapeText}");
            }

            (b[d], step[d], shape[d]) = ((int)first, (int)s, (int)count);
            if (!shrink)
            {
                kept.Add(shape[d]);
            }
        }

        if (kept.Count == rank)
        {
            EmitSlice(c, x, b, step, shape, c.Output, c.Output.Name);
            return;
        }

        c.RequireOutputShape([.. kept]);
        var box = new Value(c.Owner.Builder.NewValueName(c.Output.Name + "_box"), x.Type, shape) { Quantization = c.Output.Quantization };
        EmitSlice(c, x, b, step, shape, box, c.Output.Name + "_slice");
        c.Emit(OpCode.Reshape, null, [box]);
    }

    /// <summary>SPLIT (axis, then input; num_splits equal parts) and SPLIT_V (input, sizes with at most one −1, axis): one Slice per output.</summary>
    private static void SplitOp(OpContext c, List<Value> parts)
    {
        bool v = c.Code == SplitV;
        Value x = c.Input(v ? 0 : 1);
        long axisValue = c.Constant(v ? 2 : 0, "axis").Constant!.ToInt64Array() is [long a] ? a : throw c.Invalid("has an axis that is not one value");
        int rank = x.Rank;
        int axis = (int)(axisValue < 0 ? axisValue + rank : axisValue);
        if (axis < 0 || axis >= rank)
        {
            throw c.Invalid($"splits axis {axisValue} of a rank-{rank} input");
        }

        int dim = x.Shape![axis];
        long[] sizes;
        if (v)
        {
            sizes = c.Constant(1, "size_splits").Constant!.ToInt64Array();
            int unknown = Array.IndexOf(sizes, -1L);
            if (unknown >= 0 && sizes.Count(s => s == -1) == 1)
            {
                sizes[unknown] = dim - (sizes.Sum() + 1);
            }
        }
        else
        {
            int n = c.Options<SplitOptions_>(BuiltinOptions.SplitOptions)?.NumSplits ?? parts.Count;
            sizes = n == parts.Count && n > 0 && dim % n == 0 ? [.. Enumerable.Repeat((long)(dim / n), n)] : [];
        }

        if (sizes.Length != parts.Count || sizes.Any(s => s < 1) || sizes.Sum() != dim)
        {
            throw c.Invalid($"cannot split {dim} along axis {axis} into {parts.Count} parts of [{string.Join(",", sizes)}]");
        }

        int begin = 0;
        for (int p = 0; p < parts.Count; p++)
        {
            var b = new int[rank];
            b[axis] = begin;
            int[] shape = [.. x.Shape];
            shape[axis] = (int)sizes[p];
            EmitSlice(c, x, b, [.. Enumerable.Repeat(1, rank)], shape, parts[p], parts[p].Name);
            begin += (int)sizes[p];
        }
    }

    /// <summary>A Slice node writing <paramref name="output"/>, after checking its shape, type and quantization.</summary>
    private static void EmitSlice(OpContext c, Value x, int[] begin, int[] step, int[] shape, Value output, string name)
    {
        if (!output.Shape!.SequenceEqual(shape) || output.Type != x.Type || (x.Type != DataType.Float32 && x.Type != DataType.Int8)
            || !SameQuantization(x.Quantization, output.Quantization))
        {
            throw c.Invalid($"writes {output.ShapeText} {DataTypes.Name(output.Type)}, but slicing {x.ShapeText} {DataTypes.Name(x.Type)} gives [{string.Join(",", shape)}] with the input's type and quantization");
        }

        c.EmitNode(OpCode.Slice, new SliceOptions(begin, step), [x], output, name);
    }

    private static bool SameQuantization(QuantizationInfo? a, QuantizationInfo? b)
        => a is null ? b is null : b is not null && a.Scales.Length == 1 && b.Scales.Length == 1 && a.Scales[0] == b.Scales[0] && a.ZeroPoints[0] == b.ZeroPoints[0];

    private static void TransposeOp(OpContext c)
    {
        Value x = c.Input(0);
        int[] perm = [.. c.Constant(1, "permutation").Constant!.ToInt64Array().Select(v => (int)v)];
        if (perm.Length != x.Rank || perm.Order().Where((v, i) => v != i).Any())
        {
            throw c.Invalid($"permutation [{string.Join(",", perm)}] is not a permutation of {x.Rank} axes");
        }

        c.RequireOutputShape([.. perm.Select(p => x.Shape![p])]);
        c.RequireTypes(x);
        c.RequireSameQuantization(x);
        c.Emit(OpCode.Transpose, new TransposeOptions(perm), [x]);
    }

    /// <summary>An elementwise operator of one input: same shape out; Quantize and Dequantize change the type, the rest keep it.</summary>
    private static void Unary(OpContext c, OpCode op, IOpOptions? options)
    {
        Value x = c.Input(0);
        c.RequireOutputShape(x.Shape!);
        bool typesFit = op switch
        {
            OpCode.Quantize => x.Type is DataType.Float32 or DataType.Int8 && c.Output.Type == DataType.Int8,
            OpCode.Dequantize => x.Type == DataType.Int8 && c.Output.Type == DataType.Float32,
            _ => x.Type == c.Output.Type && x.Type is DataType.Float32 or DataType.Int8,
        };
        if (!typesFit || (c.Output.Type == DataType.Int8 && c.Output.Quantization is null) || (x.Type == DataType.Int8 && x.Quantization is null))
        {
            throw c.Invalid($"takes {DataTypes.Name(x.Type)} to {DataTypes.Name(c.Output.Type)}, or lacks the int8 side's quantization");
        }

        c.Emit(op, options, [x]);
    }

    private ConversionException Problem(int index, int code, string? custom, string problem)
        => builder.Problem($"operator {index} ({Name(code, custom)}) {problem}");

    private static string Name(int code, string? custom) => code switch
    {
        Add => "ADD", AveragePool2D => "AVERAGE_POOL_2D", Concatenation => "CONCATENATION", Conv2D => "CONV_2D",
        DepthwiseConv2D => "DEPTHWISE_CONV_2D", Dequantize => "DEQUANTIZE", FullyConnected => "FULLY_CONNECTED",
        Logistic => "LOGISTIC", MaxPool2D => "MAX_POOL_2D", Mul => "MUL", Relu => "RELU", ReluN1To1 => "RELU_N1_TO_1",
        Relu6 => "RELU6", Reshape => "RESHAPE", Softmax => "SOFTMAX", Tanh => "TANH", Transpose => "TRANSPOSE",
        Mean => "MEAN", Sub => "SUB", Squeeze => "SQUEEZE", ExpandDims => "EXPAND_DIMS", LeakyRelu => "LEAKY_RELU",
        Quantize => "QUANTIZE", HardSwish => "HARD_SWISH", Pad => "PAD", PadV2 => "PADV2", 16 => "LSTM", 27 => "SVDF",
        32 => $"CUSTOM '{custom}'", 44 => "UNIDIRECTIONAL_SEQUENCE_LSTM", 45 => "STRIDED_SLICE", 49 => "SPLIT", 65 => "SLICE",
        Exp => "EXP", Sqrt => "SQRT", Abs => "ABS", Elu => "ELU", LogSoftmax => "LOG_SOFTMAX",
        _ => $"builtin operator {code}",
    };

    /// <summary>One operator being imported: its inputs, its output and the checks every operator shares.</summary>
    private sealed class OpContext(TfLiteOperators owner, int index, int code, string? custom, Operator op, Value?[] inputs, Value output)
    {
        public int Code => code;
        public Operator Op => op;
        public TfLiteOperators Owner => owner;
        public Value?[] Inputs => inputs;
        public Value Output => output;

        public Value Input(int i) => i < inputs.Length && inputs[i] is { } v ? v : throw Invalid($"input {i} is missing");

        public Value Constant(int i, string what)
        {
            Value v = Input(i);
            return v.IsConstant ? v : throw Invalid($"{what} (input {i}) must be a constant");
        }

        public Value Activation4D(int i)
        {
            Value v = Input(i);
            if (v.IsConstant || v.Rank != 4 || output.Rank != 4)
            {
                throw Invalid($"input {v.ShapeText} and output {output.ShapeText} must be NHWC activations");
            }

            return v;
        }

        /// <summary>The options table, which must be of the expected member when present.</summary>
        public T? Options<T>(BuiltinOptions expected) where T : struct, IFlatbufferObject
        {
            if (op.BuiltinOptionsType == BuiltinOptions.NONE)
            {
                return null;
            }

            if (op.BuiltinOptionsType != expected)
            {
                throw Invalid($"carries options of type {(int)op.BuiltinOptionsType}, not {expected}");
            }

            return op.BuiltinOptions<T>();
        }

        /// <summary>Activation, constant weights of the given rank and an optional constant bias of one value per output.</summary>
        public (Value X, Value W, Value? B) WeightedInputs(int rank, int inputRank = 4)
        {
            Value x = Input(0), w = Input(1);
            Value? b = inputs.Length > 2 ? inputs[2] : null;
            if (x.IsConstant || (inputRank != 0 && x.Rank != inputRank))
            {
                throw Invalid($"input {x.ShapeText} must be a rank-{inputRank} activation");
            }

            if (!w.IsConstant || w.Rank != rank)
            {
                throw Invalid($"filter {w.ShapeText} must be a constant of rank {rank}");
            }

            int outputs = code == DepthwiseConv2D ? w.Shape![3] : w.Shape![0];
            if (b is not null && (!b.IsConstant || b.ElementCount != outputs))
            {
                throw Invalid($"bias {b.ShapeText} must be a constant with one value per output channel ({outputs})");
            }

            if (x.Type == DataType.Int8)
            {
                if (w.Type != DataType.Int8 || w.Quantization is null || x.Quantization is null || output.Quantization is null || output.Type != DataType.Int8)
                {
                    throw Invalid("mixes int8 and other types, or lacks quantization parameters (EdgeInfer runs full-integer int8 models: int8 activations and weights, int32 bias)");
                }

                if (b is not null && b.Type != DataType.Int32)
                {
                    throw Invalid($"has a {DataTypes.Name(b.Type)} bias; int8 operators take an int32 bias");
                }
            }
            else if (x.Type != DataType.Float32 || output.Type != DataType.Float32 || w.Type != DataType.Float32 || b is { Type: not DataType.Float32 })
            {
                throw Invalid("mixes float and integer tensors (hybrid, weight-only quantized TFLite models are not supported; convert the float model with --quantize int8-weights)");
            }

            if (b is not null)
            {
                b = new Value(b.Name, b.Type, [outputs], b.Constant);
            }

            return (x, w, b);
        }

        /// <summary>
        /// Weights for EdgeInfer's int8 kernels: symmetric (zero point 0), scales per output channel along axis 0.
        /// A per-tensor scale is repeated per channel; the multiplier TFLite computes once is then computed, equal, per
        /// channel.
        /// </summary>
        public Value Weights(Value w, Value source)
        {
            if (w.Quantization is not { } q)
            {
                return w;
            }

            if (q.ZeroPoints.Any(z => z != 0))
            {
                throw Invalid($"filter '{source.Name}' has a non-zero zero point; TFLite's int8 weights are symmetric");
            }

            int channels = w.Shape![0];
            if (q.Axis == 0 && q.Scales.Length == channels)
            {
                return w;
            }

            if (q.Axis != -1)
            {
                throw Invalid($"filter '{source.Name}' is quantized per channel along dimension {q.Axis}, not along its output channels");
            }

            return new Value(w.Name, w.Type, w.Shape, w.Constant)
            {
                Quantization = new QuantizationInfo([.. Enumerable.Repeat(q.Scales[0], channels)], new int[channels], 0),
            };
        }

        /// <summary>The output tensor in the file must have the shape the operator computes from its inputs.</summary>
        public void RequireOutputShape(int[] shape)
        {
            if (!output.Shape!.SequenceEqual(shape))
            {
                throw Invalid($"output {output.ShapeText} should be [{string.Join(",", shape)}] for its inputs");
            }
        }

        /// <summary>Every input and the output have one type, float32 or int8, and int8 ones carry quantization.</summary>
        public void RequireTypes(params Value[] data)
        {
            DataType t = output.Type;
            if (t is not (DataType.Float32 or DataType.Int8) || data.Any(v => v.Type != t)
                || (t == DataType.Int8 && (output.Quantization is null || data.Any(v => v.Quantization is null))))
            {
                throw Invalid($"mixes {string.Join(", ", data.Select(v => DataTypes.Name(v.Type)))} inputs with a {DataTypes.Name(t)} output, or lacks int8 quantization");
            }
        }

        /// <summary>Operators that move values (pooling, reshapes) keep the input's quantization, as TFLite requires.</summary>
        public void RequireSameQuantization(Value x)
        {
            QuantizationInfo? a = x.Quantization, b = output.Quantization;
            if (x.Type != output.Type || (a is null) != (b is null)
                || (a is not null && (a.Scales.Length != 1 || b!.Scales.Length != 1 || a.Scales[0] != b.Scales[0] || a.ZeroPoints[0] != b.ZeroPoints[0])))
            {
                throw Invalid("changes the type or quantization of the values it moves");
            }
        }

        /// <summary>TFLite's fused activation as an output clamp.</summary>
        public ClampOptions Activation(sbyte fused) => fused switch
        {
            0 => ClampOptions.None,
            1 => ClampOptions.Relu,
            2 => new ClampOptions(-1, 1),
            3 => new ClampOptions(0, 6),
            _ => throw Invalid($"has fused activation {(fused == 4 ? "TANH" : fused == 5 ? "SIGN_BIT" : fused.ToString(System.Globalization.CultureInfo.InvariantCulture))}, which is not a clamp"),
        };

        /// <summary>
        /// Explicit (before, after) padding for one spatial axis, as TFLite computes it, after checking that the output
        /// size in the file is the one the padding mode gives.
        /// </summary>
        public (int Before, int After) Padding(sbyte mode, int input, int kernel, int stride, int dilation, int output, string axis)
        {
            if (kernel < 1 || stride < 1 || dilation < 1)
            {
                throw Invalid($"has {axis} kernel {kernel}, stride {stride}, dilation {dilation}; each must be at least 1");
            }

            long effective = (long)(kernel - 1) * dilation + 1;
            (int sameOutput, int before, int after) = Passes.Shapes.SpatialGeometry.Same(input, kernel, stride, dilation);
            long expected = mode switch
            {
                PaddingSame => sameOutput,
                PaddingValid => (input - effective + stride) / stride,
                _ => throw Invalid($"has padding mode {mode} (TFLite's are SAME = 0 and VALID = 1)"),
            };
            if (expected < 1 || output != expected)
            {
                throw Invalid($"has {axis} {output} in its output, but {(mode == PaddingSame ? "SAME" : "VALID")} padding gives {expected} from input {input}, kernel {kernel}, stride {stride}, dilation {dilation}");
            }

            return mode == PaddingValid ? (0, 0) : (before, after);
        }

        /// <summary>Emits the operator's node, writing its output tensor, named after that tensor as TFLite tools show it.</summary>
        public void Emit(OpCode code, IOpOptions? options, Value?[] nodeInputs) => EmitNode(code, options, nodeInputs, output, output.Name);

        public void EmitNode(OpCode code, IOpOptions? options, Value?[] nodeInputs, Value nodeOutput, string name)
        {
            var node = new Node(owner._nodeNames.Take(name), code.ToString(), nodeInputs, [nodeOutput]).Lower(code, options);
            owner.Graph.Nodes.Add(node);
        }

        public ConversionException Invalid(string problem) => owner.Problem(index, code, custom, problem);
    }
}
