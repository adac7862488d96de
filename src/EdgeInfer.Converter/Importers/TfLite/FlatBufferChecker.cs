using System.Buffers.Binary;

namespace EdgeInfer.Converter.Importers.TfLite;

/// <summary>
/// Structural checks for a FlatBuffer, in the shape of flatc's generated verifiers (table start and end, scalar
/// fields, vectors, strings, nested tables, unions), before any generated accessor reads the buffer.
/// <para>Why not Google.FlatBuffers' own <c>Verifier</c>: in 25.2.10 it narrows each vtable's absolute position to an
/// Int16 (FlatBufferVerify.cs, GetVRelOffset). Past byte 32,767 that conversion throws, the verifier prints the
/// exception to the console and reads the field as absent, so on any real model it neither verifies nor rejects.
/// This walk does the same checks in 64-bit arithmetic.</para>
/// A vtable's field slot is 4 + 2 × the field's position in its table. Every check is against the buffer's length;
/// nesting depth and the number of tables visited are bounded, so a hostile buffer (cycles, shared subtrees) ends.
/// </summary>
internal sealed class FlatBufferChecker(byte[] buffer, int maxDepth, int maxTables)
{
    private int _depth;
    private int _tables;

    public delegate bool TableCheck(FlatBufferChecker checker, long tablePos);

    public delegate bool UnionCheck(FlatBufferChecker checker, byte type, long tablePos);

    /// <summary>The root table, after the 4-byte file identifier at byte 4.</summary>
    public bool CheckBuffer(string identifier, TableCheck root)
    {
        if (buffer.Length < 8 || identifier.Length != 4)
        {
            return false;
        }

        for (int i = 0; i < 4; i++)
        {
            if (buffer[4 + i] != identifier[i])
            {
                return false;
            }
        }

        return Target(0, out long rootPos) && root(this, rootPos) && TableEnd();
    }

    public bool TableStart(long tablePos)
    {
        if (++_depth > maxDepth || ++_tables > maxTables || !Inside(tablePos, 4) || tablePos % 4 != 0)
        {
            return false;
        }

        long vtable = tablePos - BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan((int)tablePos));
        if (!Inside(vtable, 4) || vtable % 2 != 0)
        {
            return false;
        }

        int vtableLength = U16(vtable), tableLength = U16(vtable + 2);
        return vtableLength >= 4 && vtableLength % 2 == 0 && Inside(vtable, vtableLength) && Inside(tablePos, tableLength) && tableLength >= 4;
    }

    public bool TableEnd()
    {
        _depth--;
        return true;
    }

    /// <summary>A scalar field of <paramref name="size"/> bytes, aligned to its size, inside the table.</summary>
    public bool Field(long tablePos, int slot, int size)
    {
        int offset = FieldOffset(tablePos, slot, out int tableLength);
        return offset == 0 || (offset + size <= tableLength && (tablePos + offset) % size == 0);
    }

    /// <summary>A vector of <paramref name="elementSize"/>-byte scalars.</summary>
    public bool Vector(long tablePos, int slot, int elementSize) => !Reference(tablePos, slot, out long pos) || VectorAt(pos, elementSize, out _);

    public bool String(long tablePos, int slot)
    {
        if (!Reference(tablePos, slot, out long pos))
        {
            return true;
        }

        return VectorAt(pos, 1, out long length) && Inside(pos + 4 + length, 1) && buffer[pos + 4 + length] == 0;
    }

    public bool Table(long tablePos, int slot, TableCheck check)
        => !Reference(tablePos, slot, out long pos) || (pos >= 0 && check(this, pos) && TableEnd());

    public bool VectorOfTables(long tablePos, int slot, TableCheck check)
    {
        if (!Reference(tablePos, slot, out long pos))
        {
            return true;
        }

        if (!VectorAt(pos, 4, out long count))
        {
            return false;
        }

        for (long i = 0; i < count; i++)
        {
            if (!Target(pos + 4 + 4 * i, out long element) || !check(this, element) || !TableEnd())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A union: a type byte in one slot and, when the type is not 0, a table in the next.</summary>
    public bool Union(long tablePos, int typeSlot, int valueSlot, UnionCheck check)
    {
        if (!Field(tablePos, typeSlot, 1))
        {
            return false;
        }

        int typeOffset = FieldOffset(tablePos, typeSlot, out _);
        byte type = typeOffset == 0 ? (byte)0 : buffer[tablePos + typeOffset];
        if (type == 0)
        {
            return true;
        }

        return Reference(tablePos, valueSlot, out long pos) && check(this, type, pos) && TableEnd();
    }

    private int FieldOffset(long tablePos, int slot, out int tableLength)
    {
        long vtable = tablePos - BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan((int)tablePos));
        tableLength = U16(vtable + 2);
        return slot + 2 <= U16(vtable) ? U16(vtable + slot) : 0;
    }

    /// <summary>Follows a uoffset field; false when absent. A present one that leaves the buffer fails the later checks.</summary>
    private bool Reference(long tablePos, int slot, out long target)
    {
        target = -1;
        int offset = FieldOffset(tablePos, slot, out int tableLength);
        if (offset == 0)
        {
            return false;
        }

        if (offset + 4 > tableLength || !Target(tablePos + offset, out target))
        {
            target = -1;
        }

        return true;
    }

    /// <summary>The position a uoffset at <paramref name="at"/> points to, 4-byte aligned and inside the buffer.</summary>
    private bool Target(long at, out long target)
    {
        target = -1;
        if (!Inside(at, 4) || at % 4 != 0)
        {
            return false;
        }

        long t = at + BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan((int)at));
        if (!Inside(t, 4) || t % 4 != 0)
        {
            return false;
        }

        target = t;
        return true;
    }

    private bool VectorAt(long pos, int elementSize, out long count)
    {
        count = 0;
        if (pos < 0 || !Inside(pos, 4))
        {
            return false;
        }

        count = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan((int)pos));
        return Inside(pos + 4, count * elementSize);
    }

    private bool Inside(long pos, long length) => pos >= 0 && length >= 0 && pos + length <= buffer.Length;

    private int U16(long pos) => Inside(pos, 2) ? BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan((int)pos)) : 0;
}
