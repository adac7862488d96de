using System.Globalization;
using System.Net;
using System.Text;

namespace EdgeInfer.Converter.Evaluation;

/// <summary>Everything the report shows; the CLI gathers it, <see cref="HtmlReport"/> draws it.</summary>
public sealed record ReportData(
    string ModelName,
    ModelGraph Graph,
    long FileBytes,
    long? FloatFileBytes,
    EvaluationResult? Float,
    EvaluationResult? Candidate,
    IReadOnlyList<double>? Labels,
    IReadOnlyList<LayerSqnr> Layers,
    IReadOnlyList<string> ClassNames);

/// <summary>
/// One self-contained HTML page (inline CSS and SVG, no scripts, no external files): the figures at the top, the
/// graph as a column of operator boxes, parameter bytes per layer, SQNR per layer as coloured bars, and the
/// confusion matrices of the most frequent classes for the float and the quantized model side by side.
/// </summary>
public static class HtmlReport
{
    private const int MaxClasses = 10;

    public static string Render(ReportData d)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
            .Append(E(d.ModelName)).Append(" — EdgeInfer report</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330;max-width:1100px}")
            .Append("h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #dde;padding-bottom:.3rem}")
            .Append(".cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#f4f6fa;border-radius:8px;padding:.8rem 1.1rem;min-width:9rem}")
            .Append(".card b{display:block;font-size:1.5rem}.muted{color:#667}table.cm{border-collapse:collapse;margin-right:2rem}")
            .Append("table.cm td,table.cm th{width:2.2rem;height:2.2rem;text-align:center;font-size:.8rem}")
            .Append(".pair{display:flex;flex-wrap:wrap}svg text{font-size:11px;font-family:system-ui,sans-serif}")
            .Append("</style></head><body>");
        html.Append("<h1>").Append(E(d.ModelName)).Append("</h1><p class=\"muted\">EdgeInfer model report · ")
            .Append(d.Graph.Nodes.Count).Append(" operators · ").Append(d.Graph.Tensors.Count).Append(" tensors</p>");

        Cards(html, d);
        html.Append("<h2>Graph</h2>");
        GraphColumn(html, d.Graph);
        html.Append("<h2>Parameter bytes per layer</h2>");
        ParameterBars(html, d.Graph);
        if (d.Layers.Count > 0)
        {
            html.Append("<h2>Signal-to-quantization-noise ratio per layer</h2><p class=\"muted\">Each layer's output against the float model on the same inputs. Above 30 dB is near-lossless; below 15 dB deserves a look.</p>");
            SqnrBars(html, d.Layers);
        }

        if (d.Labels is { Count: > 0 } && (d.Float?.Predictions is not null || d.Candidate?.Predictions is not null))
        {
            html.Append("<h2>Confusion of the most frequent classes</h2><div class=\"pair\">");
            int[] classes = [.. d.Labels.GroupBy(l => (int)Math.Round(l)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(MaxClasses).Select(g => g.Key).Order()];
            if (d.Float?.Predictions is { } fp)
            {
                Confusion(html, "float", classes, d.Labels, fp, d.ClassNames);
            }

            if (d.Candidate?.Predictions is { } cp)
            {
                Confusion(html, "this model", classes, d.Labels, cp, d.ClassNames);
            }

            html.Append("</div>");
        }

        html.Append("</body></html>");
        return html.ToString();
    }

    private static void Cards(StringBuilder html, ReportData d)
    {
        html.Append("<div class=\"cards\">");
        Card(html, "file size", Bytes(d.FileBytes) + (d.FloatFileBytes is long f && f > 0 ? $" ({100.0 * d.FileBytes / f:F0}% of float)" : ""));
        Card(html, "arena", Bytes(d.Graph.ArenaBytes));
        if (d.Float?.Accuracy is double fa)
        {
            Card(html, "float accuracy", $"{fa * 100:F2}%");
        }

        if (d.Candidate?.Accuracy is double ca)
        {
            Card(html, "accuracy", $"{ca * 100:F2}%" + (d.Float?.Accuracy is double f2 ? $" ({(ca - f2) * 100:+0.00;-0.00;0.00} pts)" : ""));
        }

        if (d.Candidate?.Mse is double mse)
        {
            Card(html, "MSE / MAE", $"{mse:G4} / {d.Candidate.Mae:G4}");
        }

        html.Append("</div>");
    }

    private static void Card(StringBuilder html, string label, string value)
        => html.Append("<div class=\"card\"><span class=\"muted\">").Append(E(label)).Append("</span><b>").Append(E(value)).Append("</b></div>");

    private static void GraphColumn(StringBuilder html, ModelGraph g)
    {
        const int boxW = 360, boxH = 34, gap = 14, left = 120;
        int height = g.Nodes.Count * (boxH + gap) + 20;
        html.Append(CultureInfo.InvariantCulture, $"<svg width=\"{left + boxW + 260}\" height=\"{height}\" role=\"img\" aria-label=\"operator graph\">");
        var producer = new Dictionary<int, int>();
        foreach (NodeInfo n in g.Nodes)
        {
            foreach (int o in n.Outputs)
            {
                producer[o] = n.Index;
            }
        }

        foreach (NodeInfo n in g.Nodes)
        {
            int y = 10 + n.Index * (boxH + gap);
            TensorInfo output = g.Tensors[n.Outputs[0]];
            string fill = output.DataType == DataType.Int8 ? "#dcefe0" : n.OpCode is OpCode.Quantize or OpCode.Dequantize ? "#f3e9d2" : "#e3e9f6";
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{y}\" width=\"{boxW}\" height=\"{boxH}\" rx=\"6\" fill=\"{fill}\" stroke=\"#8a94ad\"><title>{E(n.Name)}</title></rect>");
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + 10}\" y=\"{y + 21}\"><tspan font-weight=\"bold\">{E(n.OpCode.ToString())}</tspan> {E(Shorten(n.Name, 30))}</text>");
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + boxW + 10}\" y=\"{y + 21}\" fill=\"#556\">{E(DataTypes.Name(output.DataType))}{E(output.ShapeText)}</text>");
            foreach (int input in n.Inputs)
            {
                if (input >= 0 && producer.TryGetValue(input, out int from) && from != n.Index - 1)
                {
                    // A skip connection: an arc on the left from the producer to this node.
                    int y0 = 10 + from * (boxH + gap) + boxH / 2;
                    int y1 = y + boxH / 2;
                    int bulge = Math.Min(110, 20 + (n.Index - from) * 6);
                    html.Append(CultureInfo.InvariantCulture, $"<path d=\"M{left},{y0} C{left - bulge},{y0} {left - bulge},{y1} {left},{y1}\" fill=\"none\" stroke=\"#b07\" stroke-width=\"1.2\"/>");
                }
            }

            if (n.Index > 0)
            {
                html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left + boxW / 2}\" y1=\"{y - gap}\" x2=\"{left + boxW / 2}\" y2=\"{y}\" stroke=\"#8a94ad\"/>");
            }
        }

        html.Append("</svg>");
    }

    private static void ParameterBars(StringBuilder html, ModelGraph g)
    {
        // Bytes as stored: a sparse constant counts its blocks and indices, and its bar says how much of the dense
        // tensor that is (pruned layers stand out in a second colour).
        var rows = g.Nodes
            .Select(n =>
            {
                TensorInfo[] constants = [.. n.Inputs.ToArray().Where(i => i >= 0 && g.Tensors[i].IsConstant).Select(i => g.Tensors[i])];
                return (n.Name, n.OpCode, Bytes: constants.Sum(t => t.ByteLength), Dense: constants.Sum(t => t.DenseByteLength),
                    Sparse: constants.Any(t => t.Sparse is not null));
            })
            .Where(r => r.Bytes > 0)
            .ToList();
        if (rows.Count == 0)
        {
            html.Append("<p class=\"muted\">No parameters.</p>");
            return;
        }

        long max = rows.Max(r => r.Bytes);
        HorizontalBars(html, [.. rows.Select(r => ($"{r.OpCode} {Shorten(r.Name, 22)}", (double)r.Bytes / max,
            r.Sparse ? $"{Bytes(r.Bytes)} (sparse, {(double)r.Bytes / r.Dense:P0} of {Bytes(r.Dense)})" : Bytes(r.Bytes),
            r.Sparse ? "#8a5bd5" : "#5b7bd5"))]);
    }

    private static void SqnrBars(StringBuilder html, IReadOnlyList<LayerSqnr> layers)
    {
        const double scaleDb = 60;
        HorizontalBars(html, [.. layers.Select(l =>
        {
            double db = double.IsPositiveInfinity(l.SqnrDb) ? scaleDb : l.SqnrDb;
            string colour = db >= 30 ? "#3a9d5d" : db >= 15 ? "#d9a227" : "#c8433b";
            string text = double.IsPositiveInfinity(l.SqnrDb) ? "exact" : $"{l.SqnrDb:F1} dB";
            return ($"{l.Op} {Shorten(l.Node, 22)}", Math.Clamp(db / scaleDb, 0, 1), text, colour);
        })]);
    }

    private static void HorizontalBars(StringBuilder html, IReadOnlyList<(string Label, double Fraction, string Value, string Colour)> rows)
    {
        const int labelW = 260, barW = 420, rowH = 20;
        html.Append(CultureInfo.InvariantCulture, $"<svg width=\"{labelW + barW + 110}\" height=\"{rows.Count * rowH + 6}\">");
        for (int i = 0; i < rows.Count; i++)
        {
            (string label, double fraction, string value, string colour) = rows[i];
            int y = i * rowH + 3;
            double w = Math.Max(1, fraction * barW);
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelW - 6}\" y=\"{y + 13}\" text-anchor=\"end\">{E(label)}</text>");
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{labelW}\" y=\"{y + 2}\" width=\"{w:F1}\" height=\"{rowH - 6}\" fill=\"{colour}\" rx=\"2\"/>");
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{labelW + w + 6:F1}\" y=\"{y + 13}\" fill=\"#334\">{E(value)}</text>");
        }

        html.Append("</svg>");
    }

    private static void Confusion(StringBuilder html, string title, int[] classes, IReadOnlyList<double> labels, int[] predictions, IReadOnlyList<string> names)
    {
        int k = classes.Length;
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        var counts = new int[k, k];
        int[] rowTotals = new int[k];
        for (int s = 0; s < Math.Min(labels.Count, predictions.Length); s++)
        {
            if (index.TryGetValue((int)Math.Round(labels[s]), out int r))
            {
                rowTotals[r]++;
                if (index.TryGetValue(predictions[s], out int c))
                {
                    counts[r, c]++;
                }
            }
        }

        string Name(int c) => c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        html.Append("<div><h3>").Append(E(title)).Append("</h3><table class=\"cm\"><tr><th title=\"true ↓ / predicted →\">↓→</th>");
        foreach (int c in classes)
        {
            html.Append("<th>").Append(E(Name(c))).Append("</th>");
        }

        html.Append("</tr>");
        for (int r = 0; r < k; r++)
        {
            html.Append("<tr><th>").Append(E(Name(classes[r]))).Append("</th>");
            for (int c = 0; c < k; c++)
            {
                double share = rowTotals[r] == 0 ? 0 : (double)counts[r, c] / rowTotals[r];
                string colour = r == c ? $"rgba(58,157,93,{0.15 + 0.85 * share:F2})" : $"rgba(200,67,59,{Math.Min(1, 3 * share):F2})";
                html.Append(CultureInfo.InvariantCulture, $"<td style=\"background:{colour}\">{(counts[r, c] == 0 ? "" : counts[r, c].ToString(CultureInfo.InvariantCulture))}</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table></div>");
    }

    private static string Bytes(long b) => b >= 1 << 20 ? $"{b / 1048576.0:F2} MiB" : b >= 1024 ? $"{b / 1024.0:F1} KiB" : $"{b} B";

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
