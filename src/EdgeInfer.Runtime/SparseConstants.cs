using System.Runtime.InteropServices;

namespace EdgeInfer.Runtime;

/// <summary>
/// A constant stored block-sparse, as a kernel that multiplies by it reads it: row r's stored blocks are
/// s = RowStarts[r] .. RowStarts[r + 1] − 1, block s covers columns BlockColumns[s]·BlockWidth onwards and its
/// BlockWidth values start at element s·BlockWidth of Values (zero past the row's end). Every index was validated by
/// the reader; the pointers are into the pinned model.
/// </summary>
public readonly unsafe struct SparseMatrix
{
    internal SparseMatrix(SparseLayout layout, byte* stored)
    {
        Rows = layout.Rows;
        Columns = layout.Columns;
        BlockWidth = layout.BlockWidth;
        StoredBlocks = layout.StoredBlocks;
        RowStarts = (uint*)(stored + SparseLayout.RowStartsOffset);
        BlockColumns = (ushort*)(stored + layout.BlockColumnsOffset);
        Values = stored + layout.ValuesOffset;
    }

    public int Rows { get; }
    public int Columns { get; }
    public int BlockWidth { get; }
    public int StoredBlocks { get; }
    public uint* RowStarts { get; }
    public ushort* BlockColumns { get; }

    /// <summary>StoredBlocks × BlockWidth elements of the tensor's type, 64-byte aligned.</summary>
    public byte* Values { get; }

    /// <summary>Blocks per row, the last possibly partial.</summary>
    public int BlockColumnCount => (Columns + BlockWidth - 1) / BlockWidth;
}

/// <summary>
/// The interpreter's sparse constants. A kernel that multiplies by one reads its blocks in place
/// (<see cref="Kernels.KernelContext.SparseInput"/>); for any other reader the dense tensor is expanded once, at
/// load, into memory of its own, which every later reader shares. So every operator accepts a sparse constant, and
/// the sparse kernels are an optimization, not a requirement.
/// </summary>
internal sealed unsafe class SparseConstants
{
    private readonly Model _model;
    private readonly TensorBuffer[] _buffers;
    private readonly List<byte[]> _expanded = [];

    public SparseConstants(Model model, TensorBuffer[] buffers)
    {
        _model = model;
        _buffers = buffers;
    }

    /// <summary>Bytes of the dense copies made so far.</summary>
    public long ExpandedBytes { get; private set; }

    public SparseMatrix Matrix(TensorInfo tensor)
        => new(tensor.Sparse!, _model.DangerousGetPointer() + _model.ConstantFileOffset(tensor));

    /// <summary>The dense bytes of <paramref name="tensor"/>: expanded on the first call, shared afterwards.</summary>
    public TensorBuffer Dense(TensorInfo tensor)
    {
        TensorBuffer buffer = _buffers[tensor.Index];
        if (!buffer.IsNull || tensor.Sparse is null)
        {
            return buffer;
        }

        int length = (int)tensor.DenseByteLength;
        byte[] own = GC.AllocateArray<byte>(length + FormatConstants.Alignment, pinned: true);
        long address = (long)Marshal.UnsafeAddrOfPinnedArrayElement(own, 0);
        int start = (int)(FormatConstants.AlignUp(address) - address);
        var stored = new ReadOnlySpan<byte>(_model.DangerousGetPointer() + _model.ConstantFileOffset(tensor), (int)tensor.ByteLength);
        SparseBlocks.Expand(stored, tensor.Sparse, DataTypes.SizeOf(tensor.DataType), own.AsSpan(start, length));
        _expanded.Add(own);
        ExpandedBytes += length;
        buffer = new TensorBuffer((byte*)address + start, length);
        _buffers[tensor.Index] = buffer;
        return buffer;
    }
}
