using System.CommandLine;
using System.Text;
using System.Text.Json;
using EdgeInfer.Runtime;

namespace EdgeInfer.Cli.Commands;

/// <summary><c>edgeinfer inspect model.eim [--json]</c>: what is in the file, and what running it costs in memory.</summary>
internal static class InspectCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Argument<string>("model") { Description = "The .eim model" };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text" };
        var command = new Command("inspect", "Show a model's sections, tensors, operators and memory plan") { model, json };
        command.SetAction(r =>
        {
            using Model m = CommandSupport.LoadModel(r.GetValue(model)!);
            long? scratch = null;
            long? persistent = null;
            try
            {
                var interpreter = new Interpreter(m);
                scratch = interpreter.ScratchBytes;
                persistent = interpreter.PersistentBytes;
            }
            catch (EdgeInferModelException)
            {
                // inspect shows the file even when this runtime cannot run it; verify says why.
            }

            console.Out.Write(r.GetValue(json) ? Json(m, scratch, persistent) : Text(m, scratch, persistent));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Text(Model m, long? scratch, long? persistent)
    {
        ModelGraph g = m.Graph;
        var s = new StringBuilder();
        s.AppendLine($"{m.Source}: model '{g.Name}', .eim 1.{g.VersionMinor}, {CommandSupport.Bytes(m.FileLength)}, flags {g.Flags}");
        s.AppendLine($"signature: {SignatureText(m)}");
        s.AppendLine($"memory: arena {g.ArenaBytes:N0} B, scratch {Known(scratch)}, persistent {Known(persistent)}, constants {g.Tensors.Where(t => t.IsConstant).Sum(t => t.ByteLength):N0} B");
        s.AppendLine($"inputs:  {string.Join("; ", g.Inputs.ToArray().Select(i => g.Tensors[i].ToString()))}");
        s.AppendLine($"outputs: {string.Join("; ", g.Outputs.ToArray().Select(i => g.Tensors[i].ToString()))}");
        s.AppendLine($"size: {FileSizeBreakdown.Of(m)}");
        s.AppendLine("sections:");
        foreach (SectionInfo sec in g.Sections)
        {
            s.AppendLine($"  {sec.KindName} offset {sec.Offset,8} length {sec.Length,9:N0}  crc64 {sec.Hash:x16}");
        }

        s.AppendLine($"operators ({g.Nodes.Count}):");
        foreach (NodeInfo n in g.Nodes)
        {
            s.AppendLine($"  {n.Index,3} {n.OpCode,-18} {n.Name}  ({string.Join(", ", n.Inputs.ToArray().Select(i => i < 0 ? "-" : g.Tensors[i].Name))}) -> ({string.Join(", ", n.Outputs.ToArray().Select(i => g.Tensors[i].Name))})");
        }

        s.AppendLine($"tensors ({g.Tensors.Count}):");
        foreach (TensorInfo t in g.Tensors)
        {
            s.AppendLine($"  {t.Index,3} {DataTypes.Name(t.DataType),-7} {t.ShapeText,-16} {t.Storage,-8} {t.ByteLength,9:N0} B @ {t.Offset,-8} {t.Name}{Quant(t.Quantization)}{Sparse(t)}");
        }

        if (g.Metadata.Count > 0)
        {
            s.AppendLine("metadata:");
            foreach (KeyValuePair<string, string> kv in g.Metadata)
            {
                s.AppendLine($"  {kv.Key} = {kv.Value}");
            }
        }

        return s.ToString();
    }

    private static string SignatureText(Model m) => m.Signature is { } sig
        ? $"ECDSA P-256 SHA-256 by key {sig.KeyIdText} (inspect does not check it: edgeinfer verify --trusted-key KEY.pub.pem)"
        : "none (not signed)";

    private static string Known(long? bytes) => bytes is long b ? $"{b:N0} B" : "unknown (the runtime refuses this model)";

    /// <summary>" [sparse: 31 % of 1×16 blocks stored, dense 16,384 B]" for a constant stored block-sparse.</summary>
    private static string Sparse(TensorInfo t)
        => t.Sparse is { } l ? $"  [sparse: {l.Density:P0} of 1×{l.BlockWidth} blocks stored, dense {t.DenseByteLength:N0} B]" : "";

    private static string Quant(QuantizationInfo? q) => q is null ? ""
        : q.IsPerChannel ? $"  [per-channel axis {q.Axis}, {q.Scales.Length} scales {q.Scales.Min():G3}..{q.Scales.Max():G3}]"
        : $"  [scale {q.Scales[0]:G6}, zero point {q.ZeroPoints[0]}]";

    private static string Json(Model m, long? scratch, long? persistent)
    {
        ModelGraph g = m.Graph;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("file", m.Source);
            w.WriteString("name", g.Name);
            w.WriteString("format_version", $"1.{g.VersionMinor}");
            w.WriteNumber("file_bytes", m.FileLength);
            w.WriteString("flags", g.Flags.ToString());
            if (m.Signature is { } sig)
            {
                w.WriteStartObject("signature");
                w.WriteString("algorithm", "ecdsa-p256-sha256");
                w.WriteString("key_id", sig.KeyIdText);
                w.WriteString("digest_sha256", sig.DigestText);
                w.WriteBoolean("verified", false);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("signature");
            }

            w.WriteNumber("arena_bytes", g.ArenaBytes);
            Nullable(w, "scratch_bytes", scratch);
            Nullable(w, "persistent_bytes", persistent);
            w.WriteNumber("constant_bytes", g.Tensors.Where(t => t.IsConstant).Sum(t => t.ByteLength));
            WriteSize(w, FileSizeBreakdown.Of(m));
            w.WriteStartArray("inputs");
            foreach (int i in g.Inputs)
            {
                w.WriteNumberValue(i);
            }

            w.WriteEndArray();
            w.WriteStartArray("outputs");
            foreach (int i in g.Outputs)
            {
                w.WriteNumberValue(i);
            }

            w.WriteEndArray();
            w.WriteStartArray("sections");
            foreach (SectionInfo sec in g.Sections)
            {
                w.WriteStartObject();
                w.WriteString("kind", sec.KindName);
                w.WriteNumber("offset", sec.Offset);
                w.WriteNumber("length", sec.Length);
                w.WriteString("crc64", sec.Hash.ToString("x16"));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("tensors");
            foreach (TensorInfo t in g.Tensors)
            {
                w.WriteStartObject();
                w.WriteNumber("index", t.Index);
                w.WriteString("name", t.Name);
                w.WriteString("type", DataTypes.Name(t.DataType));
                w.WriteStartArray("shape");
                foreach (int d in t.Shape)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
                w.WriteString("storage", t.Storage.ToString().ToLowerInvariant());
                w.WriteNumber("offset", t.Offset);
                w.WriteNumber("bytes", t.ByteLength);
                if (t.Sparse is { } sparse)
                {
                    w.WriteStartObject("sparse");
                    w.WriteNumber("block_width", sparse.BlockWidth);
                    w.WriteNumber("stored_blocks", sparse.StoredBlocks);
                    w.WriteNumber("blocks", (long)sparse.Rows * sparse.BlockColumns);
                    w.WriteNumber("dense_bytes", t.DenseByteLength);
                    w.WriteEndObject();
                }
                if (t.Quantization is { } q)
                {
                    w.WriteStartObject("quantization");
                    w.WriteNumber("axis", q.Axis);
                    w.WriteStartArray("scales");
                    foreach (float v in q.Scales)
                    {
                        w.WriteNumberValue(v);
                    }

                    w.WriteEndArray();
                    w.WriteStartArray("zero_points");
                    foreach (int z in q.ZeroPoints)
                    {
                        w.WriteNumberValue(z);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("operators");
            foreach (NodeInfo n in g.Nodes)
            {
                w.WriteStartObject();
                w.WriteNumber("index", n.Index);
                w.WriteString("op", n.OpCode.ToString());
                w.WriteString("name", n.Name);
                w.WriteStartArray("inputs");
                foreach (int i in n.Inputs)
                {
                    w.WriteNumberValue(i);
                }

                w.WriteEndArray();
                w.WriteStartArray("outputs");
                foreach (int i in n.Outputs)
                {
                    w.WriteNumberValue(i);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("metadata");
            foreach (KeyValuePair<string, string> kv in g.Metadata)
            {
                w.WriteString(kv.Key, kv.Value);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }

    private static void WriteSize(Utf8JsonWriter w, FileSizeBreakdown b)
    {
        w.WriteStartObject("size");
        w.WriteStartObject("constants");
        foreach ((string type, long bytes) in b.Constants)
        {
            w.WriteNumber(type, bytes);
        }

        w.WriteEndObject();
        w.WriteNumber("quantization", b.Quantization);
        w.WriteNumber("graph_records", b.GraphRecords);
        w.WriteNumber("strings", b.Strings);
        w.WriteNumber("metadata", b.Metadata);
        w.WriteNumber("signature", b.Signature);
        w.WriteNumber("header_and_section_table", b.HeaderAndTable);
        w.WriteNumber("padding", b.Padding);
        w.WriteEndObject();
    }

    private static void Nullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is long v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
