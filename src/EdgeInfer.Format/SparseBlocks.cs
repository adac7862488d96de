using System.Buffers.Binary;

namespace EdgeInfer.Format;

/// <summary>How a sparse constant's bytes are laid out (the tensor record's auxiliary field).</summary>
public enum SparseLayoutKind : byte
{
    /// <summary>
    /// Block-sparse rows: the tensor read as a matrix of <c>dims[0]</c> rows by the product of the other dimensions,
    /// each row cut into blocks of <see cref="SparseLayout.BlockWidth"/> consecutive elements; only blocks with a
    /// non-zero element are stored.
    /// </summary>
    BlockSparseRows = 1,
}

/// <summary>
/// Where the parts of one block-sparse constant lie, relative to the start of its bytes in WGHT:
/// <list type="number">
/// <item>row starts: rows + 1 uint32, the index of each row's first stored block (the last is the stored-block count);</item>
/// <item>block columns: one uint16 per stored block, its block column (element column / block width), strictly
/// increasing within a row;</item>
/// <item>zero padding to a multiple of 64;</item>
/// <item>values: block width elements per stored block, in row order; elements of a row's last block that lie
/// past the row's end are zero.</item>
/// </list>
/// A kernel reads whole blocks (one vector load each) and a converter-side reader restores the dense tensor; both
/// see the same numbers, because every element left out is zero.
/// </summary>
public sealed record SparseLayout(SparseLayoutKind Kind, int BlockWidth, int Rows, int Columns, int StoredBlocks)
{
    /// <summary>The block widths a file may use: powers of two up to 64 (one cache line of int8).</summary>
    public static bool IsValidBlockWidth(int width) => width is >= 1 and <= 64 && (width & (width - 1)) == 0;

    /// <summary>Blocks per row: the last may be partial.</summary>
    public int BlockColumns => (int)(((long)Columns + BlockWidth - 1) / BlockWidth);

    public const int RowStartsOffset = 0;

    public int BlockColumnsOffset => 4 * (Rows + 1);

    public int ValuesOffset => (int)FormatConstants.AlignUp(BlockColumnsOffset + 2L * StoredBlocks);

    /// <summary>Fraction of blocks stored (1 = dense).</summary>
    public double Density => Rows == 0 ? 1 : (double)StoredBlocks / ((long)Rows * BlockColumns);

    /// <summary>The auxiliary field of a tensor record with this layout: kind in byte 0, block width in byte 1.</summary>
    public uint AuxiliaryField => (uint)Kind | ((uint)BlockWidth << 8);

    /// <summary>The stored bytes of a constant with this layout, for elements of <paramref name="elementSize"/> bytes.</summary>
    public long ByteLength(int elementSize) => ValuesOffset + (long)StoredBlocks * BlockWidth * elementSize;
}

/// <summary>
/// Encoding, validation and expansion of block-sparse constants (<see cref="SparseLayoutKind.BlockSparseRows"/>).
/// The writer encodes from the dense bytes, so a file can never disagree with the tensor it stands for; the reader
/// validates every index before a kernel or <see cref="Expand"/> trusts it.
/// </summary>
public static class SparseBlocks
{
    /// <summary>At most 65,536 blocks per row, so that a block column fits the uint16 index.</summary>
    public const int MaxBlockColumns = 1 << 16;

    /// <summary>The block width EdgeInfer's converter writes: one 128-bit vector of int8, what the int8 sparse kernels read.</summary>
    public const int DefaultBlockWidth = 16;

    /// <summary>The layout a dense tensor of <paramref name="shape"/> would have, or null when it cannot be stored sparse.</summary>
    public static SparseLayout? Measure(ReadOnlySpan<byte> dense, ReadOnlySpan<int> shape, int elementSize, int blockWidth)
    {
        if (!SparseLayout.IsValidBlockWidth(blockWidth) || shape.Length < 2 || !Matrix(shape, out int rows, out int columns)
            || (long)rows * columns * elementSize != dense.Length)
        {
            return null;
        }

        int blockColumns = (int)(((long)columns + blockWidth - 1) / blockWidth);
        if (blockColumns > MaxBlockColumns)
        {
            return null;
        }

        long stored = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blockColumns; b++)
            {
                stored += IsZero(Block(dense, r, b, rows, columns, elementSize, blockWidth)) ? 0 : 1;
            }
        }

        return stored > int.MaxValue ? null : new SparseLayout(SparseLayoutKind.BlockSparseRows, blockWidth, rows, columns, (int)stored);
    }

    /// <summary>The stored bytes of <paramref name="dense"/> in <paramref name="layout"/> (from <see cref="Measure"/>).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> dense, SparseLayout layout, int elementSize)
    {
        var data = new byte[layout.ByteLength(elementSize)];
        Span<byte> d = data;
        int blockBytes = layout.BlockWidth * elementSize;
        int stored = 0;
        for (int r = 0; r < layout.Rows; r++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(d[(4 * r)..], (uint)stored);
            for (int b = 0; b < layout.BlockColumns; b++)
            {
                ReadOnlySpan<byte> block = Block(dense, r, b, layout.Rows, layout.Columns, elementSize, layout.BlockWidth);
                if (IsZero(block))
                {
                    continue;
                }

                BinaryPrimitives.WriteUInt16LittleEndian(d[(layout.BlockColumnsOffset + 2 * stored)..], (ushort)b);
                block.CopyTo(d.Slice(layout.ValuesOffset + stored * blockBytes, blockBytes));
                stored++;
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(d[(4 * layout.Rows)..], (uint)stored);
        if (stored != layout.StoredBlocks)
        {
            throw new ArgumentException($"the data has {stored} non-zero blocks, the layout {layout.StoredBlocks}", nameof(dense));
        }

        return data;
    }

    /// <summary>Writes the dense tensor <paramref name="stored"/> stands for into <paramref name="dense"/> (every element).</summary>
    public static void Expand(ReadOnlySpan<byte> stored, SparseLayout layout, int elementSize, Span<byte> dense)
    {
        dense.Clear();
        int blockBytes = layout.BlockWidth * elementSize;
        long rowBytes = (long)layout.Columns * elementSize;
        for (int r = 0; r < layout.Rows; r++)
        {
            int from = (int)BinaryPrimitives.ReadUInt32LittleEndian(stored[(4 * r)..]);
            int to = (int)BinaryPrimitives.ReadUInt32LittleEndian(stored[(4 * r + 4)..]);
            for (int s = from; s < to; s++)
            {
                int b = BinaryPrimitives.ReadUInt16LittleEndian(stored[(layout.BlockColumnsOffset + 2 * s)..]);
                long at = r * rowBytes + (long)b * blockBytes;
                int count = (int)Math.Min(blockBytes, rowBytes - (long)b * blockBytes);
                stored.Slice(layout.ValuesOffset + s * blockBytes, count).CopyTo(dense.Slice((int)at, count));
            }
        }
    }

    /// <summary>
    /// Checks a tensor record's sparse constant: the auxiliary field, the shape, the byte length against the stored
    /// block count, and then every row start, block column, padding byte and past-the-end element. Returns the layout,
    /// or a description of the first problem found. Reads only inside <paramref name="stored"/>, allocates nothing.
    /// </summary>
    public static SparseLayout? Validate(uint auxiliary, ReadOnlySpan<int> shape, long elementCount, int elementSize,
        ReadOnlySpan<byte> stored, out string? problem)
    {
        var kind = (SparseLayoutKind)(auxiliary & 0xFF);
        int width = (int)((auxiliary >> 8) & 0xFF);
        if (kind != SparseLayoutKind.BlockSparseRows || (auxiliary >> 16) != 0 || !SparseLayout.IsValidBlockWidth(width))
        {
            problem = $"auxiliary field 0x{auxiliary:x8} is not a known sparse layout (block-sparse rows, block width a power of two up to 64)";
            return null;
        }

        if (shape.Length < 2 || !Matrix(shape, out int rows, out int columns) || (long)rows * columns != elementCount)
        {
            problem = "a sparse constant must have rank 2 or more";
            return null;
        }

        long blockColumns = ((long)columns + width - 1) / width;
        if (blockColumns > MaxBlockColumns)
        {
            problem = $"{blockColumns} blocks per row exceed the {MaxBlockColumns} a block column index can address";
            return null;
        }

        long startsBytes = 4L * (rows + 1);
        if (stored.Length < startsBytes)
        {
            problem = $"{stored.Length} stored bytes cannot hold the {rows + 1} row starts";
            return null;
        }

        uint total = BinaryPrimitives.ReadUInt32LittleEndian(stored[(int)(startsBytes - 4)..]);
        if (total > (ulong)rows * (ulong)blockColumns)
        {
            problem = $"{total} stored blocks exceed the {(long)rows * blockColumns} blocks of the tensor";
            return null;
        }

        long needed = FormatConstants.AlignUp(startsBytes + 2L * total) + (long)total * width * elementSize;
        if (needed != stored.Length)
        {
            problem = $"records {stored.Length} bytes but {total} blocks of {width} need {needed}";
            return null;
        }

        // Every part now lies inside the stored bytes, whose length is an int: so do the layout's offsets.
        var layout = new SparseLayout(kind, width, rows, columns, (int)total);

        uint previous = 0;
        for (int r = 0; r <= rows; r++)
        {
            uint start = BinaryPrimitives.ReadUInt32LittleEndian(stored[(4 * r)..]);
            if ((r == 0 && start != 0) || start < previous || start > total)
            {
                problem = $"row start {r} is {start}: row starts must rise from 0 to the {total} stored blocks";
                return null;
            }

            if (r > 0)
            {
                int last = -1;
                for (uint s = previous; s < start; s++)
                {
                    int b = BinaryPrimitives.ReadUInt16LittleEndian(stored[(layout.BlockColumnsOffset + 2 * (int)s)..]);
                    if (b <= last || b >= blockColumns)
                    {
                        problem = $"row {r - 1} stores block column {b} after {last}: columns must rise within a row and stay below {blockColumns}";
                        return null;
                    }

                    last = b;
                    if (b == blockColumns - 1 && !TailIsZero(stored, layout, (int)s, elementSize))
                    {
                        problem = $"row {r - 1}'s last block holds non-zero values past the row's {columns} elements";
                        return null;
                    }
                }
            }

            previous = start;
        }

        if (stored[(int)(layout.BlockColumnsOffset + 2L * total)..layout.ValuesOffset].IndexOfAnyExcept((byte)0) >= 0)
        {
            problem = "the padding before the values is not zero";
            return null;
        }

        problem = null;
        return layout;
    }

    private static bool TailIsZero(ReadOnlySpan<byte> stored, SparseLayout layout, int block, int elementSize)
    {
        int valid = layout.Columns - (layout.BlockColumns - 1) * layout.BlockWidth;
        int blockBytes = layout.BlockWidth * elementSize;
        return stored.Slice(layout.ValuesOffset + block * blockBytes + valid * elementSize, (layout.BlockWidth - valid) * elementSize)
            .IndexOfAnyExcept((byte)0) < 0;
    }

    private static bool Matrix(ReadOnlySpan<int> shape, out int rows, out int columns)
    {
        rows = shape[0];
        long c = 1;
        for (int i = 1; i < shape.Length; i++)
        {
            c *= shape[i];
            if (c > int.MaxValue)
            {
                columns = 0;
                return false;
            }
        }

        columns = (int)c;
        return rows > 0 && columns > 0;
    }

    private static ReadOnlySpan<byte> Block(ReadOnlySpan<byte> dense, int row, int block, int rows, int columns, int elementSize, int width)
    {
        long start = ((long)row * columns + (long)block * width) * elementSize;
        int count = Math.Min(width, columns - block * width) * elementSize;
        return dense.Slice((int)start, count);
    }

    private static bool IsZero(ReadOnlySpan<byte> bytes) => bytes.IndexOfAnyExcept((byte)0) < 0;
}
