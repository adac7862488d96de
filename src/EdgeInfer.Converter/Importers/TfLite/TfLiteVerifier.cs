using BuiltinOptions = EdgeInfer.Converter.Importers.TfLite.Schema.BuiltinOptions;

namespace EdgeInfer.Converter.Importers.TfLite;

/// <summary>
/// Checks a .tflite buffer's structure before any generated accessor reads it: every table, vector and string of
/// tflite_subset.fbs that the importer touches must lie inside the buffer, with a sound vtable, aligned fields and a
/// length that fits (<see cref="FlatBufferChecker"/>). FlatBuffers accessors trust offsets, so an unchecked file could
/// send them anywhere; after this pass they stay inside the buffer, and no vector is longer than the file.
/// The calls mirror the verifier a newer flatc would generate for the subset (Debian's flatc 2.0.8 writes no C#
/// verifiers): a field's slot is 4 + 2 × its position in the table.
/// </summary>
internal static class TfLiteVerifier
{
    /// <summary>Nested tables in the subset are at most 4 deep (model → subgraph → tensor → quantization).</summary>
    private const int MaxDepth = 16;

    /// <summary>Far above any real model's table count (person_detect has ~200), and a bound on hostile sharing.</summary>
    private const int MaxTables = 4_000_000;

    public static bool Verify(byte[] bytes) => new FlatBufferChecker(bytes, MaxDepth, MaxTables).CheckBuffer("TFL3", Model);

    private static bool Model(FlatBufferChecker v, long t) =>
        v.TableStart(t)
        && v.Field(t, 4, 4)                                     // version
        && v.VectorOfTables(t, 6, OperatorCode)                 // operator_codes
        && v.VectorOfTables(t, 8, SubGraph)                     // subgraphs
        && v.String(t, 10)                                      // description
        && v.VectorOfTables(t, 12, Buffer);                     // buffers

    private static bool OperatorCode(FlatBufferChecker v, long t) =>
        v.TableStart(t)
        && v.Field(t, 4, 1)                                     // deprecated_builtin_code
        && v.String(t, 6)                                       // custom_code
        && v.Field(t, 8, 4)                                     // version
        && v.Field(t, 10, 4);                                   // builtin_code

    private static bool SubGraph(FlatBufferChecker v, long t) =>
        v.TableStart(t)
        && v.VectorOfTables(t, 4, Tensor)                       // tensors
        && v.Vector(t, 6, 4)                                    // inputs
        && v.Vector(t, 8, 4)                                    // outputs
        && v.VectorOfTables(t, 10, Operator)                    // operators
        && v.String(t, 12);                                     // name

    private static bool Buffer(FlatBufferChecker v, long t) =>
        v.TableStart(t)
        && v.Vector(t, 4, 1)                                    // data
        && v.Field(t, 6, 8)                                     // offset
        && v.Field(t, 8, 8);                                    // size

    private static bool Tensor(FlatBufferChecker v, long t) =>
        v.TableStart(t)
        && v.Vector(t, 4, 4)                                    // shape
        && v.Field(t, 6, 1)                                     // type
        && v.Field(t, 8, 4)                                     // buffer
        && v.String(t, 10)                                      // name
        && v.Table(t, 12, Quantization)                         // quantization
        && v.Field(t, 14, 1)                                    // is_variable
        && v.Table(t, 16, Empty)                                // sparsity (presence only)
        && v.Vector(t, 18, 4);                                  // shape_signature

    private static bool Quantization(FlatBufferChecker v, long t) =>
        v.TableStart(t)
        && v.Vector(t, 4, 4)                                    // min
        && v.Vector(t, 6, 4)                                    // max
        && v.Vector(t, 8, 4)                                    // scale
        && v.Vector(t, 10, 8)                                   // zero_point
        && v.Union(t, 12, 14, (c, _, p) => Empty(c, p))         // details (presence only)
        && v.Field(t, 16, 4);                                   // quantized_dimension

    private static bool Operator(FlatBufferChecker v, long t) =>
        v.TableStart(t)
        && v.Field(t, 4, 4)                                     // opcode_index
        && v.Vector(t, 6, 4)                                    // inputs
        && v.Vector(t, 8, 4)                                    // outputs
        && v.Union(t, 10, 12, BuiltinOptionsTable)              // builtin_options
        && v.Vector(t, 14, 1);                                  // custom_options

    /// <summary>The options tables the importer reads, field by field; any other member is only checked as a table.</summary>
    private static bool BuiltinOptionsTable(FlatBufferChecker v, byte type, long t) => (BuiltinOptions)type switch
    {
        BuiltinOptions.Conv2DOptions => Fields(v, t, 1, 4, 4, 1, 4, 4),
        BuiltinOptions.DepthwiseConv2DOptions => Fields(v, t, 1, 4, 4, 4, 1, 4, 4),
        BuiltinOptions.Pool2DOptions => Fields(v, t, 1, 4, 4, 4, 4, 1),
        BuiltinOptions.FullyConnectedOptions => Fields(v, t, 1, 1, 1, 1),
        BuiltinOptions.SoftmaxOptions or BuiltinOptions.LeakyReluOptions => Fields(v, t, 4),
        BuiltinOptions.ConcatenationOptions => Fields(v, t, 4, 1),
        BuiltinOptions.AddOptions or BuiltinOptions.MulOptions or BuiltinOptions.SubOptions or BuiltinOptions.ReducerOptions => Fields(v, t, 1),
        BuiltinOptions.ReshapeOptions or BuiltinOptions.SqueezeOptions => v.TableStart(t) && v.Vector(t, 4, 4),
        BuiltinOptions.StridedSliceOptions => Fields(v, t, 4, 4, 4, 4, 4, 1),
        BuiltinOptions.SplitOptions or BuiltinOptions.SplitVOptions => Fields(v, t, 4),
        BuiltinOptions.UnidirectionalSequenceLSTMOptions => Fields(v, t, 1, 4, 4, 1, 1, 1),
        _ => Empty(v, t),
    };

    /// <summary>A table of scalar fields in order, given their sizes.</summary>
    private static bool Fields(FlatBufferChecker v, long t, params ReadOnlySpan<int> sizes)
    {
        if (!v.TableStart(t))
        {
            return false;
        }

        for (int i = 0; i < sizes.Length; i++)
        {
            if (!v.Field(t, 4 + 2 * i, sizes[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Empty(FlatBufferChecker v, long t) => v.TableStart(t);
}
