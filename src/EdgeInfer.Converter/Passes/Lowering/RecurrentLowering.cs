using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// ONNX LSTM and GRU (forward direction) → the static chain of <see cref="RecurrentUnroller"/>. ONNX keeps gates in
/// the order i, o, f, c (LSTM) and z, r, h (GRU), with separate input and recurrent biases; Y is [T, 1, N, H] (layout 0)
/// or [N, T, 1, H] (layout 1), Y_h and Y_c [1, N, H] or [N, 1, H]: Reshapes of the unroller's outputs, which the
/// planner makes views.
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
        if (direction != "forward")
        {
            throw ctx.Unsupported($"{direction} {n.OpType} (EdgeInfer unrolls forward recurrences)");
        }

        if (n.HasAttribute("clip") || n.GetInt("input_forget", 0) != 0)
        {
            throw ctx.Unsupported($"{n.OpType} with clip or input_forget");
        }

        float[] w = ctx.RequireConstant(n.Input(1), "W").ToFloatArray();
        float[] r = ctx.RequireConstant(n.Input(2), "R").ToFloatArray();
        int inputs = x.Shape![^1];
        int steps = x.Shape[layout == 0 ? 0 : 1];
        if (h < 1 || w.Length != gates * h * inputs || r.Length != gates * h * h)
        {
            throw ctx.Invalid($"W has {w.Length} and R {r.Length} values; hidden_size {h} and {inputs} inputs need {gates * h * inputs} and {gates * h * h}");
        }

        float[] bias = n.OptionalInput(3) is { } b ? ctx.RequireConstant(b, "B").ToFloatArray() : new float[2 * gates * h];
        if (bias.Length != 2 * gates * h)
        {
            throw ctx.Invalid($"B has {bias.Length} values; it needs {2 * gates * h}");
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

        GateActivation[] acts = Activations(ctx, n, lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"]);
        var unroller = new RecurrentUnroller(new Emitter(ctx), n.Name, x, layout == 0 ? 0 : 1);
        Value sequence, last;
        Value? cellState = null;
        if (lstm)
        {
            // ONNX gate blocks i, o, f, c → i, f, c, o.
            int[] order = [0, 2, 3, 1];
            float[] sumBias = [.. Enumerable.Range(0, 4 * h).Select(k => bias[k] + bias[4 * h + k])];
            (sequence, last, cellState) = unroller.Lstm(new LstmCell(h, Reorder(w, order, h * inputs), Reorder(r, order, h * h), Reorder(sumBias, order, h), acts[0], acts[1], acts[2]));
        }
        else
        {
            bool resetAfter = n.GetInt("linear_before_reset", 0) != 0;
            (sequence, last) = unroller.Gru(new GruCell(h, w, r, bias[..(3 * h)], bias[(3 * h)..], resetAfter, acts[0], acts[1]));
        }

        Value[] results = [sequence, last, .. cellState is null ? Array.Empty<Value>() : [cellState]];
        for (int o = 0; o < n.Outputs.Count && o < results.Length; o++)
        {
            Value target = n.Output(o);
            ctx.Emit(OpCode.Reshape, null, [results[o]], ElementwiseLowering.Output(ctx, target, false), $"{n.Name}_output{o}");
        }
    }

    /// <summary>The activations attribute (f, g[, h]) with activation_alpha/beta for HardSigmoid; ONNX's defaults otherwise.</summary>
    private static GateActivation[] Activations(LoweringContext ctx, Node n, string[] defaults)
    {
        // The importer keeps a strings attribute as one comma-separated string.
        string[] names = n.GetString("activations") is { Length: > 0 } joined ? joined.Split(',') : defaults;
        float[] alphas = n.GetFloats("activation_alpha") ?? [];
        float[] betas = n.GetFloats("activation_beta") ?? [];
        if (names.Length != defaults.Length)
        {
            throw ctx.Unsupported($"{names.Length} activations for one direction");
        }

        var result = new GateActivation[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            result[i] = names[i] switch
            {
                "Sigmoid" => GateActivation.Sigmoid,
                "Tanh" => GateActivation.Tanh,
                "Relu" => GateActivation.Relu,
                "HardSigmoid" => GateActivation.HardSigmoid(i < alphas.Length ? alphas[i] : 0.2f, i < betas.Length ? betas[i] : 0.5f),
                string other => throw ctx.Unsupported($"recurrent activation {other}"),
            };
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
