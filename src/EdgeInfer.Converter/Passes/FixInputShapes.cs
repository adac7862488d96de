using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Gives every graph input a static shape, because the runtime plans its arena ahead of time and so has no dynamic
// dimensions. A shape the user gave (ConvertOptions.InputShapes, the CLI's --input-shape) wins; it must agree with
// the dimensions the model fixes. Otherwise a dynamic batch dimension (dim 0) becomes 1 — a device classifies one
// window at a time — and any other dynamic dimension is an error that says how to supply it.

public static class FixInputShapes
{
    public static void Run(Graph graph, ConvertOptions options, Action<string> note)
    {
        var unused = new HashSet<string>(options.InputShapes.Keys, StringComparer.Ordinal);
        for (int i = 0; i < graph.Inputs.Count; i++)
        {
            Value input = graph.Inputs[i];
            int[] declared = input.Shape ?? [];
            int[]? given = Given(graph, options, input, i, unused);
            if (given is not null)
            {
                if (given.Any(d => d <= 0))
                {
                    throw new ConversionException($"{graph.Source}: --input-shape for '{input.Name}' [{string.Join(",", given)}] has a dimension below 1");
                }

                if (input.Shape is not null && (given.Length != declared.Length || declared.Where((d, k) => d > 0 && d != given[k]).Any()))
                {
                    throw new ConversionException($"{graph.Source}: --input-shape for '{input.Name}' is [{string.Join(",", given)}] but the model declares {Text(declared)}");
                }

                input.Shape = given;
                note($"input '{input.Name}' shape set to [{string.Join(",", given)}]");
                continue;
            }

            int[] shape = [.. declared];
            for (int d = 0; d < shape.Length; d++)
            {
                if (shape[d] > 0)
                {
                    continue;
                }

                if (d == 0)
                {
                    shape[d] = 1;
                    note($"input '{input.Name}': dynamic batch dimension set to 1");
                    continue;
                }

                throw new ConversionException(
                    $"{graph.Source}: input '{input.Name}' {Text(declared)} has a dynamic dimension {d}; give its shape, e.g. --input-shape {input.Name}={string.Join(",", declared.Select((x, k) => x > 0 ? x : k == 0 ? 1 : 0).Select(x => x == 0 ? "N" : x.ToString(System.Globalization.CultureInfo.InvariantCulture)))}");
            }

            input.Shape = shape;
        }

        if (unused.Count > 0)
        {
            throw new ConversionException($"{graph.Source}: --input-shape names '{string.Join("', '", unused)}', which is not a graph input (inputs: {string.Join(", ", graph.Inputs.Select(v => v.Name))})");
        }
    }

    /// <summary>
    /// The shape given for an input: by name; or, under the empty key (an unnamed --input-shape), for the first
    /// input; or, when the model has a single input, under any key.
    /// </summary>
    private static int[]? Given(Graph graph, ConvertOptions options, Value input, int index, HashSet<string> unused)
    {
        if (options.InputShapes.TryGetValue(input.Name, out int[]? byName))
        {
            unused.Remove(input.Name);
            return byName;
        }

        if (index == 0 && options.InputShapes.TryGetValue("", out int[]? unnamed))
        {
            unused.Remove("");
            return unnamed;
        }

        if (graph.Inputs.Count == 1 && options.InputShapes.Count == 1)
        {
            string key = options.InputShapes.Keys.First();
            unused.Remove(key);
            return options.InputShapes[key];
        }

        return null;
    }

    private static string Text(int[] shape) => "[" + string.Join(",", shape.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")) + "]";
}
