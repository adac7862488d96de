using System.Buffers.Binary;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Format.Tests;

/// <summary>Block-sparse constants: what the writer encodes, what the reader accepts, and what it refuses.</summary>
public class SparseConstantTests
{
    // A [5, 40] int8 matrix with blocks of 16: three block columns per row (16, 16, 8 elements), some zero.
    private const int Rows = 5, Columns = 40;
    private static readonly sbyte[] Dense = MakeDense();
    private static readonly byte[] Valid = Build();

    private static sbyte[] MakeDense()
    {
        var d = new sbyte[Rows * Columns];
        var rng = new Random(3);
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = (sbyte)rng.Next(1, 100);
        }

        // Row 0: block 1 zero; row 1: all zero; row 2: blocks 0 and 2 zero; row 4: block 0 zero.
        d.AsSpan(0 * Columns + 16, 16).Clear();
        d.AsSpan(1 * Columns, Columns).Clear();
        d.AsSpan(2 * Columns, 16).Clear();
        d.AsSpan(2 * Columns + 32, 8).Clear();
        d.AsSpan(4 * Columns, 16).Clear();
        return d;
    }

    private static byte[] Build(Action<ModelWriter, int>? more = null)
    {
        var w = new ModelWriter("sparse");
        byte[] dense = (byte[])(Array)Dense;
        SparseLayout layout = SparseBlocks.Measure(dense, [Rows, Columns], 1, 16)!;
        int input = w.AddArenaTensor("x", DataType.Int8, [1, Columns], 0, new QuantizationInfo([0.1f], [0], -1));
        int weights = w.AddSparseConstant("w", DataType.Int8, [Rows, Columns], dense, layout, new QuantizationInfo([0.01f], [0], -1));
        int output = w.AddArenaTensor("y", DataType.Int8, [1, Rows], 64, new QuantizationInfo([0.2f], [0], -1));
        w.ArenaBytes = 128;
        w.AddNode(OpCode.FullyConnected, "fc", [input, weights], [output], ClampOptions.None);
        w.AddInput(input);
        w.AddOutput(output);
        more?.Invoke(w, weights);
        return w.ToArray();
    }

    private static void RejectsWith(ModelError expected, byte[] file, string? says = null)
    {
        EdgeInferModelException e = Assert.Throws<EdgeInferModelException>(() => Model.Verify(file, "sparse.eim"));
        Assert.Equal(expected, e.Error);
        Assert.StartsWith("sparse.eim: ", e.Message, StringComparison.Ordinal);
        if (says is not null)
        {
            Assert.Contains(says, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Writer_StoresOnlyNonZeroBlocks_AndTheReaderRestoresTheTensor()
    {
        ModelGraph g = Model.Verify(Valid, "sparse.eim");
        TensorInfo w = g.Tensors[1];
        Assert.True(g.Flags.HasFlag(ModelFlags.HasSparseTensors));
        Assert.Equal(FormatConstants.SparseVersionMinor, g.VersionMinor);
        Assert.Equal(new SparseLayout(SparseLayoutKind.BlockSparseRows, 16, Rows, Columns, 8), w.Sparse);
        Assert.Equal(w.Sparse!.ByteLength(1), w.ByteLength);
        Assert.Equal(Rows * Columns, w.DenseByteLength);

        using Model model = Model.FromBytes(Valid, "sparse.eim");
        var restored = new byte[Rows * Columns];
        SparseBlocks.Expand(model.ConstantBytes(w), w.Sparse, 1, restored);
        Assert.Equal((byte[])(Array)Dense, restored);
        Assert.Equal([0u, 2u, 2u, 3u, 6u, 8u], RowStarts(model.ConstantBytes(w)));
    }

    [Fact]
    public void DenseFiles_StayVersion1_0_WithoutTheSparseFlag()
    {
        ModelGraph g = Model.Verify(SampleModels.TwoNodeMlp(), "dense.eim");
        Assert.Equal(0, g.VersionMinor);
        Assert.False(g.Flags.HasFlag(ModelFlags.HasSparseTensors));
        Assert.All(g.Tensors, t => Assert.Null(t.Sparse));
    }

    [Fact]
    public void RowStarts_ThatFall_AreRejected()
        => RejectsWith(ModelError.SparseInvalid, PatchStored(s => BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 1)), "row start 2");

    [Fact]
    public void FirstRowStart_NotZero_IsRejected()
        => RejectsWith(ModelError.SparseInvalid, PatchStored(s => BinaryPrimitives.WriteUInt32LittleEndian(s, 1)), "row start 0");

    [Fact]
    public void StoredBlockCount_AboveTheTensorsBlocks_IsRejected()
        => RejectsWith(ModelError.SparseInvalid, PatchStored(s => BinaryPrimitives.WriteUInt32LittleEndian(s[(4 * Rows)..], 16)), "exceed");

    [Fact]
    public void StoredBlockCount_NotMatchingTheBytes_IsRejected()
        => RejectsWith(ModelError.SparseInvalid, PatchStored(s => BinaryPrimitives.WriteUInt32LittleEndian(s[(4 * Rows)..], 7)), "need");

    [Fact]
    public void BlockColumns_OutOfOrder_AreRejected()
        => RejectsWith(ModelError.SparseInvalid, PatchStored(s => BinaryPrimitives.WriteUInt16LittleEndian(s[(4 * (Rows + 1) + 2)..], 0)), "must rise");

    [Fact]
    public void BlockColumn_PastTheRow_IsRejected()
        => RejectsWith(ModelError.SparseInvalid, PatchStored(s => BinaryPrimitives.WriteUInt16LittleEndian(s[(4 * (Rows + 1) + 2)..], 3)), "below 3");

    [Fact]
    public void NonZeroPaddingBeforeTheValues_IsRejected()
        => RejectsWith(ModelError.SparseInvalid, PatchStored(s => s[4 * (Rows + 1) + 2 * 8] = 1), "padding");

    [Fact]
    public void ValuePastTheRowsEnd_IsRejected()
    {
        // Row 0's second stored block is block column 2, which holds elements 32..39: its last 8 values must be zero.
        RejectsWith(ModelError.SparseInvalid, PatchStored(s => s[64 + 16 + 15] = 7), "past the row");
    }

    [Theory]
    [InlineData(0x0000_1002u)] // unknown layout kind
    [InlineData(0x0000_0301u)] // block width 3
    [InlineData(0x0000_8001u)] // block width 128
    [InlineData(0x0001_1001u)] // reserved bits
    public void UnknownAuxiliaryField_IsRejected(uint auxiliary)
        => RejectsWith(ModelError.SparseInvalid, ModelPatcher.Patch(Valid, SectionKind.Tensors,
            t => BinaryPrimitives.WriteUInt32LittleEndian(t[(64 + 60)..], auxiliary)), "auxiliary field");

    [Fact]
    public void SparseFlag_Cleared_IsRejected()
        => RejectsWith(ModelError.HeaderInvalid, ModelPatcher.PatchHeader(Valid, h => h[16] &= unchecked((byte)~(int)ModelFlags.HasSparseTensors)), "sparse flag");

    [Fact]
    public void SparseArenaTensor_IsRejected()
        // Give the input tensor (an arena tensor) a sparse layout.
        => RejectsWith(ModelError.RecordInvalid, ModelPatcher.Patch(Valid, SectionKind.Tensors,
            t => BinaryPrimitives.WriteUInt32LittleEndian(t[60..], 0x1001)), "stored sparse");

    [Fact]
    public void EveryByteOfTheIndex_SetToEachOfSeveralValues_IsRejectedOrStillDescribesAValidTensor()
    {
        // A hostile file with correct hashes: the reader must refuse it, or accept only a structure whose every index
        // is in range (Expand then touches nothing outside the stored bytes and the dense tensor).
        (int offset, int length) = StoredRange();
        int indexBytes = 4 * (Rows + 1) + 2 * 8;
        foreach (int at in Enumerable.Range(0, indexBytes))
        {
            foreach (byte value in new byte[] { 0, 1, 2, 3, 9, 0x7F, 0x80, 0xFF })
            {
                byte[] file = (byte[])Valid.Clone();
                (int wght, _) = ModelPatcher.Locate(file, SectionKind.Weights);
                file[wght + offset + at] = value;
                ModelPatcher.Rehash(file);
                ModelGraph g;
                try
                {
                    g = Model.Verify(file, "sparse.eim");
                }
                catch (EdgeInferModelException e)
                {
                    Assert.Equal(ModelError.SparseInvalid, e.Error);
                    continue;
                }

                TensorInfo w = g.Tensors[1];
                SparseBlocks.Expand(file.AsSpan(wght + (int)w.Offset, (int)w.ByteLength), w.Sparse!, 1, new byte[Rows * Columns]);
            }
        }

        Assert.True(length > indexBytes);
    }

    private static uint[] RowStarts(ReadOnlySpan<byte> stored)
    {
        var starts = new uint[Rows + 1];
        for (int i = 0; i <= Rows; i++)
        {
            starts[i] = BinaryPrimitives.ReadUInt32LittleEndian(stored[(4 * i)..]);
        }

        return starts;
    }

    private static (int Offset, int Length) StoredRange()
    {
        ModelGraph g = Model.Verify(Valid, "sparse.eim");
        return ((int)g.Tensors[1].Offset, (int)g.Tensors[1].ByteLength);
    }

    /// <summary>Edits the weights' stored bytes (row starts at 0, block columns at 24, values at 64) and rehashes.</summary>
    private static byte[] PatchStored(Action<Span<byte>> edit)
    {
        (int offset, int length) = StoredRange();
        return ModelPatcher.Patch(Valid, SectionKind.Weights, wght => edit(wght.Slice(offset, length)));
    }
}
