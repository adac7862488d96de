using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>Where the builder puts what it makes: the importer's own naming and node list.</summary>
internal interface ILoweredEmitter
{
    Value NewValue(string stem, int[] shape);

    Value Constant(string stem, int[] shape, float[] values);

    void Emit(OpCode code, IOpOptions? options, Value?[] inputs, Value output, string name);
}

/// <summary>The two forms a recurrent layer can take in the lowered graph.</summary>
internal enum RecurrentForm
{
    /// <summary>One <see cref="OpCode.Lstm"/> or <see cref="OpCode.Gru"/> over the whole sequence.</summary>
    Fused,

    /// <summary>A static chain of the runtime's elementwise operators, one time step after another.</summary>
    Unrolled,
}

/// <summary>
/// LSTM weights in one gate order (input i, forget f, cell g, output o), each gate's rows together: W [4H, I],
/// R [4H, H], and the sum of the input and recurrent biases [4H]. Activations: Gate (i, f, o), Cell (g), Output (on
/// the cell state).
/// </summary>
internal sealed record LstmCell(int Hidden, float[] W, float[] R, float[] Bias, RecurrentActivation Gate, RecurrentActivation Cell, RecurrentActivation Output);

/// <summary>
/// GRU weights in one gate order (update z, reset r, candidate h): W [3H, I], R [3H, H], input bias [3H] and recurrent
/// bias [3H]. <see cref="ResetAfter"/>: the reset gate scales R_h·h + b_rh (Keras' reset_after, ONNX's
/// linear_before_reset); otherwise it scales h before R_h.
/// </summary>
internal sealed record GruCell(int Hidden, float[] W, float[] R, float[] InputBias, float[] RecurrentBias, bool ResetAfter, RecurrentActivation Gate, RecurrentActivation Candidate);

/// <summary>
/// Recurrent layers in the runtime's operators. The input projection of every step is one FullyConnected over the
/// whole sequence; then, in the <see cref="RecurrentForm.Fused"/> form, one <see cref="OpCode.Lstm"/> or
/// <see cref="OpCode.Gru"/> runs the recurrence (and a Slice picks the last hidden state out of its sequence); in the
/// <see cref="RecurrentForm.Unrolled"/> form each step does the recurrent FullyConnected, Slices out the gates, and
/// combines them with activations, Mul, Add and Sub. The fused operator's contract is that chain's arithmetic, step
/// for step, so both forms give the same float bytes; the unrolled one is kept for the one result the fused operator
/// does not give (an LSTM's last cell state) and so that tests can compare the two.
/// Tensors keep the input's layout with a time axis (<paramref name="timeAxis"/>: 0 for ONNX's [T, N, I], 1 for
/// Keras' [N, T, I]); a step is that tensor with the time axis of size 1. A reverse recurrence reads the steps from
/// the last to the first; its sequence output still lists the hidden states in time order.
/// </summary>
internal sealed class RecurrentLayerBuilder(ILoweredEmitter emit, string stem, Value x, int timeAxis, bool reverse, RecurrentForm form)
{
    private readonly int[] _shape = x.Shape!;
    private int Steps => _shape[timeAxis];

    /// <summary>
    /// The hidden state after every step (in time order along the time axis) and after the last, and the last cell
    /// state: null in the fused form, which does not output it.
    /// </summary>
    public (Value Sequence, Value LastHidden, Value? LastCell) Lstm(LstmCell cell)
    {
        int h = cell.Hidden, inputs = _shape[^1];
        Value projected = Project(cell.W, cell.Bias, 4 * h, inputs, "input_projection");
        Value r = emit.Constant(stem + "/recurrent_weights", [4 * h, h], cell.R);
        if (form == RecurrentForm.Fused)
        {
            var options = new RecurrentOptions(timeAxis, reverse, ResetAfter: false, cell.Gate, cell.Cell, cell.Output);
            Value sequence = Op(OpCode.Lstm, options, [projected, r], SequenceShape(h), stem + "/sequence");
            return (sequence, LastStep(sequence, h), null);
        }

        Value? hidden = null, state = null;
        var outputs = new List<Value>();
        foreach (int t in Order())
        {
            string s = $"{stem}/t{t}";
            Value z = Step(projected, t, 4 * h, s);
            if (hidden is not null)
            {
                z = Op(OpCode.Add, ClampOptions.None, [z, Op(OpCode.FullyConnected, ClampOptions.None, [hidden, r, null], StepShape(4 * h), s + "/recurrent")], StepShape(4 * h), s + "/gates");
            }

            Value i = Activate(cell.Gate, Gate(z, 0, h, s + "/i"), s + "/input_gate");
            Value g = Activate(cell.Cell, Gate(z, 2, h, s + "/g"), s + "/candidate");
            Value o = Activate(cell.Gate, Gate(z, 3, h, s + "/o"), s + "/output_gate");
            Value ig = Op(OpCode.Mul, ClampOptions.None, [i, g], StepShape(h), s + "/i_g");
            if (state is null)
            {
                state = ig;
            }
            else
            {
                Value f = Activate(cell.Gate, Gate(z, 1, h, s + "/f"), s + "/forget_gate");
                state = Op(OpCode.Add, ClampOptions.None, [Op(OpCode.Mul, ClampOptions.None, [f, state], StepShape(h), s + "/f_c"), ig], StepShape(h), s + "/cell");
            }

            hidden = Op(OpCode.Mul, ClampOptions.None, [o, Activate(cell.Output, state, s + "/cell_activation")], StepShape(h), s + "/hidden");
            outputs.Add(hidden);
        }

        return (Sequence(outputs, h), hidden!, state!);
    }

    /// <summary>The hidden state after every step (in time order along the time axis) and after the last.</summary>
    public (Value Sequence, Value LastHidden) Gru(GruCell cell)
    {
        int h = cell.Hidden, inputs = _shape[^1];
        // Every recurrent bias that is simply added joins the input bias (z and r always; the candidate's too when the
        // reset gate scales h rather than R_h·h + b_rh), so the per-step products carry no bias of their own: in int8
        // a bias is rescaled per product, and a recurrence has one product per step.
        float[] inputBias = [.. cell.InputBias];
        for (int k = 0; k < (cell.ResetAfter ? 2 * h : 3 * h); k++)
        {
            inputBias[k] += cell.RecurrentBias[k];
        }

        Value projected = Project(cell.W, inputBias, 3 * h, inputs, "input_projection");
        if (form == RecurrentForm.Fused)
        {
            // The operator takes R whole ([3H, H], rows z, r, h) and the candidate's recurrent bias only when the
            // reset gate scales it (reset-after); otherwise that bias is in the projection with the others.
            var options = new RecurrentOptions(timeAxis, reverse, cell.ResetAfter, cell.Gate, cell.Candidate, RecurrentActivation.None);
            Value weights = emit.Constant(stem + "/recurrent_weights", [3 * h, h], cell.R);
            Value[] operands = cell.ResetAfter
                ? [projected, weights, emit.Constant(stem + "/recurrent_bias_h", [h], cell.RecurrentBias[(2 * h)..])]
                : [projected, weights];
            Value sequence = Op(OpCode.Gru, options, operands, SequenceShape(h), stem + "/sequence");
            return (sequence, LastStep(sequence, h));
        }

        // reset_after: one recurrent product for all three gates, the candidate's bias added after it (one shared
        // constant); otherwise z and r's product, then the candidate's on r·h.
        Value? rAll = null, candidateBias = null, rGates = null, rCandidate = null;
        if (cell.ResetAfter)
        {
            rAll = emit.Constant(stem + "/recurrent_weights", [3 * h, h], cell.R);
            candidateBias = emit.Constant(stem + "/recurrent_bias_h", [h], cell.RecurrentBias[(2 * h)..]);
        }
        else
        {
            rGates = emit.Constant(stem + "/recurrent_weights_zr", [2 * h, h], cell.R[..(2 * h * h)]);
            rCandidate = emit.Constant(stem + "/recurrent_weights_h", [h, h], cell.R[(2 * h * h)..]);
        }

        Value? hidden = null;
        var outputs = new List<Value>();
        foreach (int t in Order())
        {
            string s = $"{stem}/t{t}";
            Value zx = Step(projected, t, 3 * h, s);
            Value zr, candidate;
            if (hidden is null)
            {
                // h = 0: the recurrent products vanish; only the candidate's bias is left, inside the reset product.
                zr = Activate(cell.Gate, Gate(zx, 0, 2 * h, s + "/x_zr"), s + "/zr");
                Value xh = Gate(zx, 2, h, s + "/x_h");
                candidate = cell.ResetAfter
                    ? Op(OpCode.Add, ClampOptions.None, [xh, Op(OpCode.Mul, ClampOptions.None, [Gate(zr, 1, h, s + "/r"), candidateBias], StepShape(h), s + "/r_bh")], StepShape(h), s + "/h_in")
                    : xh;
            }
            else if (cell.ResetAfter)
            {
                Value hp = Op(OpCode.FullyConnected, ClampOptions.None, [hidden, rAll, null], StepShape(3 * h), s + "/recurrent");
                Value gates = Op(OpCode.Add, ClampOptions.None, [Gate(zx, 0, 2 * h, s + "/x_zr"), Gate(hp, 0, 2 * h, s + "/h_zr")], StepShape(2 * h), s + "/zr_in");
                zr = Activate(cell.Gate, gates, s + "/zr");
                Value hh = Op(OpCode.Add, ClampOptions.None, [Gate(hp, 2, h, s + "/h_h"), candidateBias], StepShape(h), s + "/h_hb");
                Value reset = Op(OpCode.Mul, ClampOptions.None, [Gate(zr, 1, h, s + "/r"), hh], StepShape(h), s + "/r_hh");
                candidate = Op(OpCode.Add, ClampOptions.None, [Gate(zx, 2, h, s + "/x_h"), reset], StepShape(h), s + "/h_in");
            }
            else
            {
                Value hp = Op(OpCode.FullyConnected, ClampOptions.None, [hidden, rGates, null], StepShape(2 * h), s + "/recurrent");
                Value gates = Op(OpCode.Add, ClampOptions.None, [Gate(zx, 0, 2 * h, s + "/x_zr"), hp], StepShape(2 * h), s + "/zr_in");
                zr = Activate(cell.Gate, gates, s + "/zr");
                Value rh = Op(OpCode.Mul, ClampOptions.None, [Gate(zr, 1, h, s + "/r"), hidden], StepShape(h), s + "/r_h");
                Value hh = Op(OpCode.FullyConnected, ClampOptions.None, [rh, rCandidate, null], StepShape(h), s + "/recurrent_h");
                candidate = Op(OpCode.Add, ClampOptions.None, [Gate(zx, 2, h, s + "/x_h"), hh], StepShape(h), s + "/h_in");
            }

            Value n = Activate(cell.Candidate, candidate, s + "/candidate");
            Value z = Gate(zr, 0, h, s + "/z");
            // h' = z·h + (1 − z)·n = n + z·(h − n); with h = 0, n − z·n.
            hidden = hidden is null
                ? Op(OpCode.Sub, ClampOptions.None, [n, Op(OpCode.Mul, ClampOptions.None, [z, n], StepShape(h), s + "/z_n")], StepShape(h), s + "/hidden")
                : Op(OpCode.Add, ClampOptions.None, [n, Op(OpCode.Mul, ClampOptions.None, [z, Op(OpCode.Sub, ClampOptions.None, [hidden, n], StepShape(h), s + "/h_minus_n")], StepShape(h), s + "/z_delta")], StepShape(h), s + "/hidden");
            outputs.Add(hidden);
        }

        return (Sequence(outputs, h), hidden!);
    }

    private IEnumerable<int> Order() => reverse ? Enumerable.Range(0, Steps).Reverse() : Enumerable.Range(0, Steps);

    /// <summary>One FullyConnected over every step: [.., T, .., I] → [.., T, .., gates].</summary>
    private Value Project(float[] w, float[] bias, int gates, int inputs, string name)
    {
        Value weights = emit.Constant($"{stem}/input_weights", [gates, inputs], w);
        Value b = emit.Constant($"{stem}/bias", [gates], bias);
        return Op(OpCode.FullyConnected, ClampOptions.None, [x, weights, b], [.. _shape[..^1], gates], $"{stem}/{name}");
    }

    /// <summary>Step <paramref name="t"/> of a [.., T, .., width] tensor.</summary>
    private Value Step(Value sequence, int t, int width, string name)
    {
        var begin = new int[_shape.Length];
        begin[timeAxis] = t;
        return Op(OpCode.Slice, new SliceOptions(begin, [.. Enumerable.Repeat(1, _shape.Length)]), [sequence], StepShape(width), name + "/x");
    }

    /// <summary>Gate <paramref name="index"/> (each <paramref name="width"/> wide) of a step's last axis.</summary>
    private Value Gate(Value step, int index, int width, string name)
    {
        var begin = new int[_shape.Length];
        begin[^1] = index * width;
        return Op(OpCode.Slice, new SliceOptions(begin, [.. Enumerable.Repeat(1, _shape.Length)]), [step], StepShape(width), name);
    }

    /// <summary>
    /// The hidden state the recurrence ends on, a step of its time-ordered sequence: the last step, or the first for a
    /// reverse recurrence (which reads it last; ONNX's Y_h and Keras' go_backwards output are this state).
    /// </summary>
    private Value LastStep(Value sequence, int h)
    {
        var begin = new int[_shape.Length];
        begin[timeAxis] = reverse ? 0 : Steps - 1;
        return Op(OpCode.Slice, new SliceOptions(begin, [.. Enumerable.Repeat(1, _shape.Length)]), [sequence], StepShape(h), stem + "/last");
    }

    private Value Activate(RecurrentActivation a, Value v, string name)
        => Op(a.Op, a.Op == OpCode.HardSigmoid ? new HardSigmoidOptions(a.Alpha, a.Beta) : null, [v], v.Shape!, name);

    private Value Sequence(List<Value> steps, int h)
    {
        if (reverse)
        {
            steps.Reverse(); // collected last step first
        }

        if (steps.Count == 1)
        {
            return steps[0];
        }

        return Op(OpCode.Concat, new ConcatOptions(timeAxis), [.. steps], SequenceShape(h), stem + "/sequence");
    }

    private int[] SequenceShape(int width) => [.. _shape[..^1], width];

    private int[] StepShape(int width)
    {
        int[] shape = [.. _shape[..^1], width];
        shape[timeAxis] = 1;
        return shape;
    }

    private Value Op(OpCode code, IOpOptions? options, Value?[] inputs, int[] shape, string name)
    {
        Value output = emit.NewValue(name, shape);
        emit.Emit(code, options, inputs, output, name);
        return output;
    }
}
