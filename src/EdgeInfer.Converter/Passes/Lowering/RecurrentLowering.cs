using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// ONNX LSTM and GRU (forward, reverse or bidirectional) → per direction, the input projection and one fused
/// <see cref="OpCode.Lstm"/> or <see cref="OpCode.Gru"/> (<see cref="RecurrentLayerBuilder"/>). An LSTM whose last cell
/// state Y_c is read stays unrolled: the fused operator outputs hidden states only. ONNX keeps gates in the order i, o,
/// f, c (LSTM) and z, r, h (GRU), with separate input and recurrent biases; Y is [T, 1, N, H] (layout 0) or
/// [N, T, 1, H] (layout 1), Y_h and Y_c [1, N, H] or [N, 1, H]: Reshapes of the builder's outputs, which the planner
/// makes views.
/// </summary>
internal static class RecurrentLowering
{
    public static void Lstm(LoweringContext ctx, Node n) => Lower(ctx, n, lstm: true);

    public static void Gru(LoweringContext ctx, Node n) => Lower(ctx, n, lstm: false);

    private static void Lower(LoweringContext ctx, Node n, bool lstm)
    {
        Value x = ctx.Onnx(n.Input(0));
        int gates = lstm ? 4 : 3;
        int h = (int)n.GetInt("hidden_size", 0);
        string direction = n.GetString("direction") ?? "forward";
        int layout = (int)n.GetInt("layout", 0);
        if (direction is not ("forward" or "reverse" or "bidirectional"))
        {
            throw ctx.Invalid($"direction '{direction}'");
        }

        if (n.HasAttribute("clip") || n.GetInt("input_forget", 0) != 0)
        {
            throw ctx.Unsupported($"{n.OpType} with clip or input_forget");
        }

        int directions = direction == "bidirectional" ? 2 : 1;
        float[] w = ctx.RequireConstant(n.Input(1), "W").ToFloatArray();
        float[] r = ctx.RequireConstant(n.Input(2), "R").ToFloatArray();
        int inputs = x.Shape![^1];
        int steps = x.Shape[layout == 0 ? 0 : 1];
        if (h < 1 || w.Length != directions * gates * h * inputs || r.Length != directions * gates * h * h)
        {
            throw ctx.Invalid($"W has {w.Length} and R {r.Length} values; {directions} direction(s), hidden_size {h} and {inputs} inputs need {directions * gates * h * inputs} and {directions * gates * h * h}");
        }

        float[] bias = n.OptionalInput(3) is { } b ? ctx.RequireConstant(b, "B").ToFloatArray() : new float[directions * 2 * gates * h];
        if (bias.Length != directions * 2 * gates * h)
        {
            throw ctx.Invalid($"B has {bias.Length} values; it needs {directions * 2 * gates * h}");
        }

        if (n.OptionalInput(4) is { } lens && (!lens.IsConstant || lens.Constant!.ToInt64Array().Any(l => l != steps)))
        {
            throw ctx.Unsupported("sequence_lens shorter than the sequence");
        }

        for (int i = 5; i < n.Inputs.Count; i++)
        {
            if (n.Inputs[i] is { } v && (i == 7 || !v.IsConstant || v.Constant!.ToFloatArray().Any(f => f != 0)))
            {
                throw ctx.Unsupported(i == 7 ? "peephole weights" : "a non-zero initial state");
            }
        }

        string[] defaults = lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
        RecurrentActivation[] acts = Activations(ctx, n, [.. Enumerable.Range(0, directions).SelectMany(_ => defaults)]);
        int timeAxis = layout == 0 ? 0 : 1;
        // Y_c has no fused form; the unrolled chain computes it. Dead code is gone by now, so a reader is a real one.
        bool lastCellRead = lstm && n.Outputs.Count > 2
            && (ctx.Graph.IsGraphOutput(n.Output(2)) || ctx.Graph.Nodes.Any(m => m.Inputs.Contains(n.Output(2))));
        RecurrentForm form = ctx.UnrollRecurrences || lastCellRead ? RecurrentForm.Unrolled : RecurrentForm.Fused;
        var results = new List<Value>[3] { [], [], [] }; // per output: one value per direction
        for (int d = 0; d < directions; d++)
        {
            bool reverse = direction == "reverse" || d == 1;
            float[] wd = w.AsSpan(d * gates * h * inputs, gates * h * inputs).ToArray();
            float[] rd = r.AsSpan(d * gates * h * h, gates * h * h).ToArray();
            float[] bd = bias.AsSpan(d * 2 * gates * h, 2 * gates * h).ToArray();
            RecurrentActivation[] ad = acts[(d * defaults.Length)..((d + 1) * defaults.Length)];
            var builder = new RecurrentLayerBuilder(new Emitter(ctx), directions == 2 ? $"{n.Name}/{(d == 0 ? "forward" : "reverse")}" : n.Name, x, timeAxis, reverse, form);
            if (lstm)
            {
                // ONNX gate blocks i, o, f, c → i, f, c, o.
                int[] order = [0, 2, 3, 1];
                float[] sumBias = [.. Enumerable.Range(0, 4 * h).Select(k => bd[k] + bd[4 * h + k])];
                (Value sequence, Value last, Value? cell) = builder.Lstm(new LstmCell(h, Reorder(wd, order, h * inputs), Reorder(rd, order, h * h), Reorder(sumBias, order, h), ad[0], ad[1], ad[2]));
                results[0].Add(sequence);
                results[1].Add(last);
                if (cell is not null)
                {
                    results[2].Add(cell);
                }
            }
            else
            {
                bool resetAfter = n.GetInt("linear_before_reset", 0) != 0;
                (Value sequence, Value last) = builder.Gru(new GruCell(h, wd, rd, bd[..(3 * h)], bd[(3 * h)..], resetAfter, ad[0], ad[1]));
                results[0].Add(sequence);
                results[1].Add(last);
            }
        }

        // Y [T, D, N, H] / [N, T, D, H]: each direction's sequence with a direction axis of 1 after the time axis, joined.
        // Y_h, Y_c [D, N, H] / [N, D, H]: each direction's last step already has a size-1 axis there (the time axis).
        for (int o = 0; o < n.Outputs.Count && o < results.Length && results[o].Count > 0; o++)
        {
            Value target = n.Output(o);
            int axis = o == 0 ? timeAxis + 1 : timeAxis;
            Value[] parts = o == 0
                ? [.. results[0].Select((s, d) => Expand(ctx, s, timeAxis + 1, $"{n.Name}_y{d}"))]
                : [.. results[o]];
            Value output = ElementwiseLowering.Output(ctx, target, false);
            if (parts.Length == 1)
            {
                ctx.Emit(OpCode.Reshape, null, [parts[0]], output, $"{n.Name}_output{o}");
            }
            else
            {
                ctx.Emit(OpCode.Concat, new ConcatOptions(axis), parts, output, $"{n.Name}_output{o}");
            }
        }
    }

    /// <summary>A view of <paramref name="v"/> with a size-1 axis inserted at <paramref name="axis"/>.</summary>
    private static Value Expand(LoweringContext ctx, Value v, int axis, string name)
    {
        int[] shape = [.. v.Shape![..axis], 1, .. v.Shape[axis..]];
        Value expanded = ctx.NewValue(name, shape);
        ctx.Emit(OpCode.Reshape, null, [v], expanded, name);
        return expanded;
    }

    /// <summary>The activations attribute (f, g[, h]) with activation_alpha/beta for HardSigmoid; ONNX's defaults otherwise.</summary>
    private static RecurrentActivation[] Activations(LoweringContext ctx, Node n, string[] defaults)
    {
        // The importer keeps a strings attribute as one comma-separated string.
        string[] names = n.GetString("activations") is { Length: > 0 } joined ? joined.Split(',') : defaults;
        float[] alphas = n.GetFloats("activation_alpha") ?? [];
        float[] betas = n.GetFloats("activation_beta") ?? [];
        if (names.Length != defaults.Length)
        {
            throw ctx.Invalid($"{names.Length} activations; {defaults.Length} expected");
        }

        var result = new RecurrentActivation[names.Length];
        // Alphas and betas are consumed in order by the activations that take them (as ONNX Runtime reads them), not
        // indexed by the activation's position: [Sigmoid, HardSigmoid, Tanh] with alpha [0.3] gives HardSigmoid 0.3.
        int parameters = 0;
        for (int i = 0; i < names.Length; i++)
        {
            result[i] = names[i] switch
            {
                "Sigmoid" => RecurrentActivation.Sigmoid,
                "Tanh" => RecurrentActivation.Tanh,
                "Relu" => RecurrentActivation.Relu,
                "HardSigmoid" => RecurrentActivation.HardSigmoid(parameters < alphas.Length ? alphas[parameters] : 0.2f, parameters < betas.Length ? betas[parameters] : 0.5f),
                string other => throw ctx.Unsupported($"recurrent activation {other}"),
            };
            parameters += names[i] == "HardSigmoid" ? 1 : 0;
        }

        return result;
    }

    /// <summary>Gate blocks (each <paramref name="block"/> values) in the order <paramref name="order"/> names them.</summary>
    internal static float[] Reorder(float[] values, int[] order, int block)
        => [.. order.SelectMany(g => values.AsSpan(g * block, block).ToArray())];

    private sealed class Emitter(LoweringContext ctx) : ILoweredEmitter
    {
        public Value NewValue(string stem, int[] shape) => ctx.NewValue(stem, shape);

        public Value Constant(string stem, int[] shape, float[] values) => ctx.Constant(stem, shape, values);

        public void Emit(OpCode code, IOpOptions? options, Value?[] inputs, Value output, string name) => ctx.Emit(code, options, inputs, output, name);
    }
}
