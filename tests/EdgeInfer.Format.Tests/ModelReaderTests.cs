using System.Buffers.Binary;
using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Format.Tests;

public class ModelReaderTests
{
    private static readonly byte[] Valid = SampleModels.TwoNodeMlp();

    private static EdgeInferModelException Rejects(byte[] file)
        => Assert.Throws<EdgeInferModelException>(() => Model.Verify(file, "test.eim"));

    private static void RejectsWith(ModelError expected, byte[] file)
    {
        EdgeInferModelException e = Rejects(file);
        Assert.Equal(expected, e.Error);
        Assert.StartsWith("test.eim: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ReadGraph_WriterOutput_RoundTrips()
    {
        ModelGraph g = Model.Verify(Valid, "test.eim");

        Assert.Equal("two-node-mlp", g.Name);
        Assert.Equal(192, g.ArenaBytes);
        Assert.Equal(6, g.Tensors.Count);
        Assert.Equal([1, 3], g.Tensors[g.Outputs[0]].Shape.ToArray());
        Assert.Equal(OpCode.FullyConnected, g.Nodes[0].OpCode);
        Assert.Equal([0, 1, 2], g.Nodes[0].Inputs.ToArray());
        Assert.Equal("EdgeInfer tests", g.GetMetadata("producer"));
        Assert.True(g.Flags.HasFlag(ModelFlags.HasQuantizedTensors));
        TensorInfo table = g.Tensors[5];
        Assert.Equal(0.5f, table.Quantization!.Scales[0]);
        Assert.All(g.Sections, s => Assert.Equal(0, s.Offset % FormatConstants.Alignment));
    }

    [Fact]
    public unsafe void Load_FromBytes_UsesConstantsInPlace()
    {
        using Model model = Model.FromBytes(Valid, "test.eim");
        TensorInfo weights = model.Graph.Tensors[1];
        Assert.Equal(0.5f, BinaryPrimitives.ReadSingleLittleEndian(model.ConstantBytes(weights)));
        fixed (byte* p = Valid)
        {
            Assert.True(model.DangerousGetPointer() == p, "FromBytes must not copy the file");
        }
    }

    [Fact]
    public unsafe void Load_FromFile_And_MapFile_ReadTheSameGraph()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eim-{Guid.NewGuid():N}.eim");
        File.WriteAllBytes(path, Valid);
        try
        {
            using Model loaded = Model.Load(path);
            using Model mapped = Model.MapFile(path);
            Assert.Equal(loaded.Bytes.ToArray(), mapped.Bytes.ToArray());
            Assert.Equal(0, (long)loaded.DangerousGetPointer() % FormatConstants.Alignment);
            Assert.Equal(loaded.Graph.Tensors.Count, mapped.Graph.Tensors.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_MissingFile_IsTypedErrorNamingThePath()
    {
        var e = Assert.Throws<EdgeInferModelException>(() => Model.Load("/nonexistent/model.eim"));
        Assert.Equal(ModelError.FileUnreadable, e.Error);
        Assert.StartsWith("/nonexistent/model.eim: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EverySingleBitFlip_IsRejected()
    {
        byte[] file = (byte[])Valid.Clone();
        for (int i = 0; i < file.Length; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                file[i] ^= (byte)(1 << bit);
                try
                {
                    Model.Verify(file, "flip.eim");
                    Assert.Fail($"flipping bit {bit} of byte {i} was not detected");
                }
                catch (EdgeInferModelException)
                {
                }

                file[i] ^= (byte)(1 << bit);
            }
        }

        Model.Verify(file, "restored.eim");
    }

    [Fact]
    public void EveryTruncation_IsRejected()
    {
        for (int length = 0; length < Valid.Length; length++)
        {
            EdgeInferModelException e = Assert.Throws<EdgeInferModelException>(() => Model.Verify(Valid.AsSpan(0, length), "cut.eim"));
            Assert.True(e.Error is ModelError.Truncated or ModelError.FileLengthMismatch, $"length {length}: {e.Message}");
        }
    }

    [Fact]
    public void AppendedBytes_AreRejected()
        => RejectsWith(ModelError.FileLengthMismatch, [.. Valid, 0]);

    [Fact]
    public void BadMagic_IsRejected() => RejectsWith(ModelError.BadMagic, PatchRaw(f => f[1] = (byte)'X'));

    [Fact]
    public void TextModeNewlineConversion_IsCaughtByTheMagic()
    {
        // A CR-LF → LF conversion deletes byte 4 of the magic.
        byte[] mangled = [.. Valid.AsSpan(0, 4), .. Valid.AsSpan(5)];
        RejectsWith(ModelError.BadMagic, mangled);
    }

    [Fact]
    public void NewerMajorVersion_IsRejected()
        => RejectsWith(ModelError.UnsupportedVersion, ModelPatcher.PatchHeader(Valid, f => BinaryPrimitives.WriteUInt16LittleEndian(f[8..], 2)));

    [Fact]
    public void UnknownRequiredFlag_IsRejected()
        => RejectsWith(ModelError.UnsupportedFlags, ModelPatcher.PatchHeader(Valid, f => f[18] = 1));

    [Fact]
    public void HugeSectionCount_IsRejectedBeforeAllocating()
        => RejectsWith(ModelError.HeaderInvalid, PatchRaw(f => BinaryPrimitives.WriteUInt32LittleEndian(f[20..], uint.MaxValue)));

    [Fact]
    public void SectionPastEndOfFile_IsRejected()
        => RejectsWith(ModelError.SectionOutOfRange, ModelPatcher.PatchHeader(Valid, f => BinaryPrimitives.WriteUInt64LittleEndian(f[(64 + 16)..], 1UL << 40)));

    [Fact]
    public void MisalignedSection_IsRejected()
        => RejectsWith(ModelError.SectionMisaligned, ModelPatcher.PatchHeader(Valid, f => BinaryPrimitives.WriteUInt64LittleEndian(f[(64 + 8)..], BinaryPrimitives.ReadUInt64LittleEndian(f[(64 + 8)..]) + 4)));

    [Fact]
    public void UnknownCriticalSection_IsRejected()
        => RejectsWith(ModelError.UnknownCriticalSection, ModelPatcher.PatchHeader(Valid, f => BinaryPrimitives.WriteUInt32LittleEndian(f[64..], 0x5A5A5A5A)));

    [Fact]
    public void TensorCountLargerThanItsSection_IsRejectedBeforeAllocating()
        => RejectsWith(ModelError.CountOutOfRange, ModelPatcher.Patch(Valid, SectionKind.Graph, g => BinaryPrimitives.WriteUInt32LittleEndian(g, 1u << 30)));

    [Fact]
    public void UnknownDataType_IsRejected() => RejectsWith(ModelError.UnknownDataType, PatchTensor(1, r => r[4] = 99));

    [Fact]
    public void RankAboveMax_IsRejected() => RejectsWith(ModelError.RankTooLarge, PatchTensor(1, r => r[5] = 9));

    [Fact]
    public void NegativeDimension_IsRejected()
        => RejectsWith(ModelError.InvalidDimension, PatchTensor(1, r => BinaryPrimitives.WriteInt32LittleEndian(r[8..], -3)));

    [Fact]
    public void ShapeWhoseProductOverflows_IsRejected()
        => RejectsWith(ModelError.ShapeOverflow, PatchTensor(1, r =>
        {
            r[5] = 3;
            BinaryPrimitives.WriteInt32LittleEndian(r[8..], int.MaxValue);
            BinaryPrimitives.WriteInt32LittleEndian(r[12..], int.MaxValue);
            BinaryPrimitives.WriteInt32LittleEndian(r[16..], int.MaxValue);
        }));

    [Fact]
    public void ByteLengthThatDisagreesWithShape_IsRejected()
        => RejectsWith(ModelError.ByteLengthMismatch, PatchTensor(1, r => BinaryPrimitives.WriteUInt64LittleEndian(r[48..], 4)));

    [Fact]
    public void ConstantOutsideWeights_IsRejected()
        => RejectsWith(ModelError.ConstantOutOfRange, PatchTensor(1, r => BinaryPrimitives.WriteUInt64LittleEndian(r[40..], 1UL << 20)));

    [Fact]
    public void ArenaOffsetOutsideArena_IsRejected()
        => RejectsWith(ModelError.ArenaOffsetOutOfRange, PatchTensor(4, r => BinaryPrimitives.WriteUInt64LittleEndian(r[40..], 192)));

    [Fact]
    public void LiveTensorsSharingArenaBytes_AreRejected()
        => RejectsWith(ModelError.ArenaOverlap, PatchTensor(3, r => BinaryPrimitives.WriteUInt64LittleEndian(r[40..], 0))); // hidden onto the input

    [Fact]
    public void TensorsWithDisjointLifetimes_MayShareArenaBytes()
    {
        // hidden dies after step 2 and the output is born at step 2: they may not share; but a fresh two-step chain may.
        var w = new ModelWriter("reuse");
        int input = w.AddArenaTensor("input", DataType.Float32, [4], 0);
        int a = w.AddArenaTensor("a", DataType.Float32, [4], 64);
        int b = w.AddArenaTensor("b", DataType.Float32, [4], 128);
        int c = w.AddArenaTensor("c", DataType.Float32, [4], 64); // a is dead once b exists
        w.ArenaBytes = 192;
        w.AddNode(OpCode.Relu, "r1", [input], [a]);
        w.AddNode(OpCode.Relu, "r2", [a], [b]);
        w.AddNode(OpCode.Relu, "r3", [b], [c]);
        w.AddInput(input);
        w.AddOutput(c);
        Model.Verify(w.ToArray(), "reuse.eim");
    }

    [Fact]
    public void EdgeToMissingTensor_IsRejected()
        => RejectsWith(ModelError.TensorReferenceInvalid, ModelPatcher.Patch(Valid, SectionKind.Edges, e => BinaryPrimitives.WriteUInt32LittleEndian(e, 77)));

    [Fact]
    public void NodeReadingALaterOutput_IsRejected()
        => RejectsWith(ModelError.NotTopological, ModelPatcher.Patch(Valid, SectionKind.Edges, e => BinaryPrimitives.WriteUInt32LittleEndian(e, 4)));

    [Fact]
    public void TensorProducedTwice_IsRejected()
        => RejectsWith(ModelError.TensorProducedTwice, ModelPatcher.Patch(Valid, SectionKind.Edges, e => BinaryPrimitives.WriteUInt32LittleEndian(e[(4 * 5)..], 3)));

    [Fact]
    public void UnknownOpCode_IsRejected()
        => RejectsWith(ModelError.UnknownOpCode, ModelPatcher.Patch(Valid, SectionKind.Nodes, n => BinaryPrimitives.WriteUInt16LittleEndian(n, 999)));

    [Fact]
    public void OptionsOfTheWrongLength_AreRejected()
        => RejectsWith(ModelError.OptionsInvalid, ModelPatcher.Patch(Valid, SectionKind.Nodes, n => BinaryPrimitives.WriteUInt32LittleEndian(n[16..], 4)));

    [Fact]
    public void EdgesPastTheEdgeTable_AreRejected()
        => RejectsWith(ModelError.RecordInvalid, ModelPatcher.Patch(Valid, SectionKind.Nodes, n => BinaryPrimitives.WriteUInt32LittleEndian(n[8..], uint.MaxValue - 1)));

    [Fact]
    public void StringOffsetOutOfRange_IsRejected()
        => RejectsWith(ModelError.StringInvalid, PatchTensor(0, r => BinaryPrimitives.WriteUInt32LittleEndian(r, 1u << 20)));

    [Fact]
    public void StringLengthOutOfRange_IsRejected()
        => RejectsWith(ModelError.StringInvalid, ModelPatcher.Patch(Valid, SectionKind.Strings, s => BinaryPrimitives.WriteUInt32LittleEndian(s, uint.MaxValue)));

    [Fact]
    public void InvalidUtf8Name_IsRejected()
        => RejectsWith(ModelError.StringInvalid, ModelPatcher.Patch(Valid, SectionKind.Strings, s => s[4] = 0xFF));

    [Fact]
    public void NonPositiveScale_IsRejected()
    {
        byte[] file = ModelPatcher.Patch(Valid, SectionKind.Quantization, q =>
        {
            int scalesAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(q[(8 + 8)..]);
            BinaryPrimitives.WriteSingleLittleEndian(q[scalesAt..], float.NaN);
        });
        RejectsWith(ModelError.QuantizationInvalid, file);
    }

    [Fact]
    public void ZeroPointOutsideTheType_IsRejected()
    {
        byte[] file = ModelPatcher.Patch(Valid, SectionKind.Quantization, q =>
        {
            int zerosAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(q[(8 + 12)..]);
            BinaryPrimitives.WriteInt32LittleEndian(q[zerosAt..], 300);
        });
        RejectsWith(ModelError.QuantizationInvalid, file);
    }

    [Fact]
    public void NonZeroPadding_IsRejectedEvenWithGoodHashes()
    {
        // The byte after the GRPH section and before the next 64-byte boundary is padding.
        (int offset, int length) = ModelPatcher.Locate(Valid, SectionKind.Graph);
        Assert.True(length % 64 != 0);
        RejectsWith(ModelError.NonZeroPadding, ModelPatcher.PatchHeader(Valid, f => f[offset + length] = 1));
    }

    [Fact]
    public void RandomHostileEdits_NeverEscapeAsAnythingButTheTypedError()
    {
        // Edits with rewritten hashes reach the graph checks; nothing may crash, hang or throw another type.
        var rng = new Random(1234);
        SectionKind[] kinds = [SectionKind.Graph, SectionKind.Tensors, SectionKind.Nodes, SectionKind.Edges, SectionKind.Options, SectionKind.Strings, SectionKind.Quantization, SectionKind.Metadata];
        for (int trial = 0; trial < 5000; trial++)
        {
            SectionKind kind = kinds[rng.Next(kinds.Length)];
            byte[] file = ModelPatcher.Patch(Valid, kind, s =>
            {
                int edits = 1 + rng.Next(4);
                for (int e = 0; e < edits && s.Length > 0; e++)
                {
                    int at = rng.Next(s.Length);
                    s[at] = rng.Next(3) switch { 0 => (byte)rng.Next(256), 1 => 0xFF, _ => 0 };
                }
            });
            try
            {
                Model.Verify(file, "fuzz.eim");
            }
            catch (EdgeInferModelException)
            {
            }
        }
    }

    [Fact]
    public void DerivedTensor_ProducedFromConstants_IsAccepted()
    {
        Model.Verify(DerivedModel(fromConstant: true), "derived.eim");
    }

    [Fact]
    public void DerivedTensor_ProducedFromAnActivation_IsRejected()
        => RejectsWith(ModelError.TensorReferenceInvalid, DerivedModel(fromConstant: false));

    [Fact]
    public void ReshapeView_SharingItsInputsBytes_IsAccepted()
        => Model.Verify(ViewModel(OpCode.Reshape, viewOffset: 0, shape: [2, 2], reluOffset: 64), "view.eim");

    [Fact]
    public void SharedBytes_OfANodeOtherThanReshape_AreAnOverlap()
        => RejectsWith(ModelError.ArenaOverlap, ViewModel(OpCode.Relu, viewOffset: 0, shape: [4], reluOffset: 64));

    [Fact]
    public void ReshapeView_OfADifferentLength_IsAnOverlap()
        => RejectsWith(ModelError.ArenaOverlap, ViewModel(OpCode.Reshape, viewOffset: 0, shape: [2, 1], reluOffset: 64));

    [Fact]
    public void Tensor_WrittenOverAViewWhileTheViewIsAlive_IsAnOverlap()
        // The relu reads the view (so the shared buffer lives to its step) and writes onto the same bytes.
        => RejectsWith(ModelError.ArenaOverlap, ViewModel(OpCode.Reshape, viewOffset: 0, shape: [2, 2], reluOffset: 0));

    /// <summary>input [4] at 0 → (op) → view at <paramref name="viewOffset"/> → Relu → output at <paramref name="reluOffset"/>.</summary>
    private static byte[] ViewModel(OpCode op, long viewOffset, int[] shape, long reluOffset)
    {
        var w = new ModelWriter("view");
        int input = w.AddArenaTensor("input", DataType.Float32, [4], 0);
        int view = w.AddArenaTensor("view", DataType.Float32, shape, viewOffset);
        int output = w.AddArenaTensor("output", DataType.Float32, shape, reluOffset);
        w.ArenaBytes = 128;
        w.AddNode(op, "view", [input], [view]);
        w.AddNode(OpCode.Relu, "relu", [view], [output]);
        w.AddInput(input);
        w.AddOutput(output);
        return w.ToArray();
    }

    private static byte[] DerivedModel(bool fromConstant)
    {
        var w = new ModelWriter("derived");
        int input = w.AddArenaTensor("input", DataType.Float32, [4], 0);
        int table = w.AddConstant("table", DataType.Float32, [4], new byte[16]);
        int derived = w.AddDerivedTensor("relu(table)", DataType.Float32, [4]);
        int output = w.AddArenaTensor("output", DataType.Float32, [4], 64);
        w.ArenaBytes = 128;
        w.AddNode(OpCode.Relu, "precompute", [fromConstant ? table : input], [derived]);
        w.AddNode(OpCode.Add, "add", [input, derived], [output], ClampOptions.None);
        w.AddInput(input);
        w.AddOutput(output);
        return w.ToArray();
    }

    private static byte[] PatchRaw(Action<Span<byte>> edit)
    {
        byte[] copy = (byte[])Valid.Clone();
        edit(copy);
        return copy;
    }

    private static byte[] PatchTensor(int index, Action<Span<byte>> edit)
        => ModelPatcher.Patch(Valid, SectionKind.Tensors, t => edit(t.Slice(index * FormatConstants.TensorRecordSize, FormatConstants.TensorRecordSize)));
}
