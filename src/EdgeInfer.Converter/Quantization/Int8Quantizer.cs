using EdgeInfer.Converter.Ir;
using EdgeInfer.Runtime.Kernels;

namespace EdgeInfer.Converter.Quantization;

/// <summary>
/// Rewrites a lowered float graph into an int8 graph, given each activation's calibrated range.
/// <list type="bullet">
/// <item>Every operator with an int8 kernel runs in int8 unless the caller keeps it in float (the accuracy
/// contract does that for the most sensitive layers). Div, Lstm and Gru have no int8 kernel and stay float (the
/// pipeline then stores the recurrences' weights int8 with <see cref="WeightOnlyQuantizer"/>).</item>
/// <item>Weights of FullyConnected and Conv2D: symmetric int8 per output channel; their bias: int32 at scale
/// input_scale × weight_scale[c], written without quantization parameters (the scale follows from the operands').
/// Other constant operands: asymmetric int8 per tensor.</item>
/// <item>Activations: asymmetric int8 per tensor from the calibrated range. Operators whose int8 kernels need fixed
/// output parameters get them: Softmax and Sigmoid (1/256, −128), Tanh (1/128, 0), LogSoftmax (16/256, 127); pooling, Reshape, Slice and
/// Transpose keep their input's parameters (they move values, they do not compute new ones).</item>
/// <item>Where a float value meets an int8 operator a Quantize node is inserted, and a Dequantize node where an
/// int8 value meets a float operator or a float graph output. Each conversion is made once per value.</item>
/// </list>
/// Activation names are preserved, so the float and int8 models can be compared layer by layer by tensor name.
/// </summary>
public static class Int8Quantizer
{
    private static readonly HashSet<OpCode> Int8Ops =
    [
        OpCode.FullyConnected, OpCode.Conv2D, OpCode.MaxPool2D, OpCode.AveragePool2D, OpCode.GlobalAveragePool,
        OpCode.Add, OpCode.Sub, OpCode.Mul, OpCode.Relu, OpCode.Clip, OpCode.LeakyRelu, OpCode.Sigmoid, OpCode.Tanh,
        OpCode.HardSigmoid, OpCode.HardSwish, OpCode.Swish, OpCode.Softmax, OpCode.Concat, OpCode.Reshape, OpCode.Transpose, OpCode.MatMul, OpCode.Slice,
        OpCode.Abs, OpCode.Sqrt, OpCode.Exp, OpCode.Elu, OpCode.LogSoftmax,
    ];

    /// <summary>Operators whose int8 output reuses the input's quantization.</summary>
    private static readonly HashSet<OpCode> PassThrough = [OpCode.MaxPool2D, OpCode.AveragePool2D, OpCode.Reshape, OpCode.Transpose, OpCode.Slice];

    public static bool HasInt8Kernel(OpCode op) => Int8Ops.Contains(op);

    /// <summary>Returns which nodes ended up in float (by name), for reporting.</summary>
    public static IReadOnlyList<string> Quantize(Graph graph, IReadOnlyDictionary<string, (double Min, double Max)> ranges, QuantizationOptions options)
    {
        var rewriter = new Rewriter(graph, ranges, options);
        return rewriter.Run();
    }

    private sealed class Rewriter(Graph graph, IReadOnlyDictionary<string, (double Min, double Max)> ranges, QuantizationOptions options)
    {
        private readonly Dictionary<Value, Value> _quantized = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Value, Value> _dequantized = new(ReferenceEqualityComparer.Instance);

        // One int8 copy of each float constant, however many nodes read it (an unrolled recurrence reads its
        // recurrent weights once per step).
        private readonly Dictionary<Value, Value> _constants = new(ReferenceEqualityComparer.Instance);
        private readonly List<Node> _nodes = [];

        public IReadOnlyList<string> Run()
        {
            if (options.Int8InputsAndOutputs)
            {
                foreach (Value input in graph.Inputs.Where(v => v.Type == DataType.Float32))
                {
                    MakeInt8(input, ActivationParams(input.Name));
                    _quantized[input] = input;
                }
            }

            var keptFloat = new List<string>();
            foreach (Node node in graph.Nodes)
            {
                if (RunsInInt8(node))
                {
                    QuantizeNode(node);
                }
                else
                {
                    for (int i = 0; i < node.Inputs.Count; i++)
                    {
                        if (node.Inputs[i] is { Type: DataType.Int8, IsConstant: false } v)
                        {
                            node.Inputs[i] = Dequantized(v);
                        }
                    }

                    keptFloat.Add(node.Name);
                }

                _nodes.Add(node);
            }

            for (int i = 0; i < graph.Outputs.Count; i++)
            {
                Value output = graph.Outputs[i];
                if (output.Type == DataType.Int8 && !options.Int8InputsAndOutputs)
                {
                    // The user-facing name stays on the float output; the int8 value takes a suffix.
                    string name = output.Name;
                    output.Name = graph.UniqueName(name + "_int8");
                    Value f = Dequantized(output, name);
                    graph.Outputs[i] = f;
                }
                else if (output.Type == DataType.Float32 && options.Int8InputsAndOutputs && ranges.ContainsKey(output.Name))
                {
                    graph.Outputs[i] = Quantized(output);
                }
            }

            graph.Nodes.Clear();
            graph.Nodes.AddRange(_nodes);
            return keptFloat;
        }

        private bool RunsInInt8(Node node)
        {
            OpCode op = node.Code!.Value;
            if (!Int8Ops.Contains(op) || options.KeepFloat.Contains(node.Name) || node.Outputs.Any(o => options.KeepFloat.Contains(o.Name)))
            {
                return false;
            }

            // Every float activation read or written needs a calibrated range (or a fixed one).
            return node.Inputs.All(v => v is null || v.IsConstant || v.Type == DataType.Int8 || ranges.ContainsKey(v.Name))
                && node.Outputs.All(v => ranges.ContainsKey(v.Name) || op is OpCode.Softmax or OpCode.Sigmoid or OpCode.Tanh or OpCode.LogSoftmax || PassThrough.Contains(op))
                && node.Inputs.All(v => v is null || v.Type is DataType.Float32 or DataType.Int8);
        }

        private void QuantizeNode(Node node)
        {
            OpCode op = node.Code!.Value;
            bool weighted = op is OpCode.FullyConnected or OpCode.Conv2D;
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                Value? v = node.Inputs[i];
                if (v is null || (weighted && i >= 1))
                {
                    continue;
                }

                node.Inputs[i] = v.IsConstant ? SharedConstant(v) : Quantized(v);
            }

            if (weighted)
            {
                Value input = node.Input(0);
                Value weights = node.Input(1);
                if (!_constants.TryGetValue(weights, out Value? qw))
                {
                    (sbyte[] q, float[] perChannel) = QuantParams.SymmetricPerChannel(weights.Constant!.Floats, weights.Shape![0]);
                    _constants[weights] = qw = new Value(weights.Name, DataType.Int8, weights.Shape, TensorData.FromInt8s(q))
                    {
                        Quantization = new QuantizationInfo(perChannel, new int[perChannel.Length], 0),
                    };
                }

                node.Inputs[1] = qw;
                float[] scales = qw.Quantization!.Scales;
                if (node.OptionalInput(2) is { } bias)
                {
                    float inputScale = input.Quantization!.Scales[0];
                    int[] qb = QuantParams.Bias(bias.Constant!.Floats, inputScale, scales);
                    // No quantization record: the bias scale is input_scale × weight_scale[c] by definition (TFLite's
                    // kernels do not read it either), and storing it took 4 bytes per channel — 8 % of a 33 K-parameter
                    // int8 file.
                    node.Inputs[2] = new Value(bias.Name, DataType.Int32, bias.Shape, TensorData.FromInt32s(qb));
                }
            }

            foreach (Value output in node.Outputs)
            {
                (float Scale, int ZeroPoint) p = op switch
                {
                    OpCode.Softmax or OpCode.Sigmoid => (1f / 256, -128),
                    OpCode.Tanh => (1f / 128, 0),
                    OpCode.LogSoftmax => (LogSoftmaxInt8Kernel.OutputScale, LogSoftmaxInt8Kernel.OutputZeroPoint),
                    _ when PassThrough.Contains(op) => (node.Input(0).Quantization!.Scales[0], node.Input(0).Quantization!.ZeroPoints[0]),
                    _ => ActivationParams(output.Name),
                };
                MakeInt8(output, p);
                _quantized[output] = output;
            }
        }

        private (float Scale, int ZeroPoint) ActivationParams(string name)
        {
            (double min, double max) = ranges.TryGetValue(name, out var r) ? r : (0, 0);
            return QuantParams.Asymmetric(min, max);
        }

        private static void MakeInt8(Value v, (float Scale, int ZeroPoint) p)
        {
            v.Type = DataType.Int8;
            v.Quantization = new QuantizationInfo([p.Scale], [p.ZeroPoint], -1);
        }

        private Value SharedConstant(Value constant)
        {
            if (!_constants.TryGetValue(constant, out Value? q))
            {
                _constants[constant] = q = ConstantPerTensor(constant);
            }

            return q;
        }

        private static Value ConstantPerTensor(Value constant)
        {
            if (constant.Type != DataType.Float32)
            {
                return constant;
            }

            (sbyte[] q, float scale, int zp) = QuantParams.AsymmetricTensor(constant.Constant!.Floats);
            return new Value(constant.Name, DataType.Int8, constant.Shape, TensorData.FromInt8s(q))
            {
                Quantization = new QuantizationInfo([scale], [zp], -1),
            };
        }

        /// <summary>The int8 twin of a float activation, made by one Quantize node.</summary>
        private Value Quantized(Value v)
        {
            if (v.Type == DataType.Int8)
            {
                return v;
            }

            if (_quantized.TryGetValue(v, out Value? q))
            {
                return q;
            }

            q = new Value(graph.UniqueName(v.Name + "_q"), DataType.Int8, v.Shape);
            MakeInt8(q, ActivationParams(v.Name));
            _nodes.Add(new Node(graph.UniqueName(v.Name + "_quantize"), "Quantize", [v], [q]).Lower(OpCode.Quantize, null));
            _quantized[v] = q;
            return q;
        }

        /// <summary>The float twin of an int8 activation, made by one Dequantize node.</summary>
        private Value Dequantized(Value v, string? name = null)
        {
            if (_dequantized.TryGetValue(v, out Value? f))
            {
                return f;
            }

            f = new Value(name ?? graph.UniqueName(v.Name + "_dq"), DataType.Float32, v.Shape);
            _nodes.Add(new Node(graph.UniqueName(v.Name + "_dequantize"), "Dequantize", [v], [f]).Lower(OpCode.Dequantize, null));
            _dequantized[v] = f;
            return f;
        }
    }
}
