using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime.Kernels.Quantized;

/// <summary>
/// A 256-entry int8 → int8 table (entry q + 128 for byte q) and the ways of looking it up: the int8 activations'
/// functions, Concat's requantization. Apply looks many bytes up at once on the vector paths (a lookup is exact,
/// so every path gives the same bytes):
/// <list type="bullet">
/// <item>Avx512 with VBMI: two vpermi2b (each a 128-entry lookup over two zmm, seven index bits) and a blend on the
/// sign bit, 64 bytes per step.</item>
/// <item>Avx2 (and Avx512 without VBMI): sixteen vpshufb, each a 16-entry lookup that gives 0 for an index with its
/// top bit set, eight per half of the table. For the lower half the index of lookup k is u − 16k with u = q + 128:
/// when u &lt; 128 lookup k gives row k's entry u mod 16 for k ≤ ⌊u/16⌋ and 0 beyond (the index has gone negative),
/// so with rows stored as differences of neighbours (<see cref="XorRows"/>) the XOR of the eight lookups telescopes to
/// table[u]. The upper half does the same with q itself for q ≥ 0; a blend on q's sign picks the half. 32 bytes per
/// step.</item>
/// <item>Vector128 and DotProduct on arm64: TBL over the first 64 entries, then TBX (which keeps out-of-range lanes)
/// over each next 64 with the index lowered by 64. 16 bytes per step.</item>
/// </list>
/// </summary>
internal unsafe struct ByteTable
{
    private sbyte[] _table;
    private byte[]? _xorRows;
    private KernelPath _path;

    /// <summary>Wraps <paramref name="table"/> (256 entries, kept, not copied) for the context's kernel path.</summary>
    public static ByteTable Create(ref KernelContext context, sbyte[] table) => new()
    {
        _table = table, _path = context.Path,
        _xorRows = KernelPaths.UsesAvx2(context.Path) && !UsesVbmi(context.Path) ? XorRows(ref context, table) : null,
    };

    private static bool UsesVbmi(KernelPath path) => path == KernelPath.Avx512 && Avx512Vbmi.IsSupported;

    /// <summary>
    /// For each half of the table (entries 0..127, 128..255), eight 16-byte rows L_k = T_k ⊕ T_(k−1) (T_k the half's
    /// entries 16k..16k+15, T_(−1) = 0), so that L_0 ⊕ … ⊕ L_h = T_h. Each row is stored twice, as one 32-byte
    /// vpshufb operand.
    /// </summary>
    private static byte[] XorRows(ref KernelContext context, sbyte[] table)
    {
        byte[] rows = context.AllocatePersistent<byte>(512);
        for (int half = 0; half < 2; half++)
        {
            for (int k = 0; k < 8; k++)
            {
                for (int j = 0; j < 16; j++)
                {
                    int at = 128 * half + 16 * k + j;
                    byte row = (byte)((byte)table[at] ^ (k > 0 ? (byte)table[at - 16] : 0));
                    rows[32 * (8 * half + k) + j] = row;
                    rows[32 * (8 * half + k) + 16 + j] = row;
                }
            }
        }

        return rows;
    }

    /// <summary>y[i] = table[x[i] + 128] for i &lt; <paramref name="count"/>.</summary>
    public readonly void Apply(sbyte* x, sbyte* y, int count)
    {
        int i = 0;
        fixed (sbyte* table = _table)
        {
            if (UsesVbmi(_path))
            {
                i = LookUpVbmi(x, y, count, (byte*)table);
            }
            else if (_xorRows is not null)
            {
                fixed (byte* rows = _xorRows)
                {
                    i = LookUpAvx2(x, y, count, rows);
                }
            }
            else if (_path is KernelPath.Vector128 or KernelPath.DotProduct && AdvSimd.Arm64.IsSupported)
            {
                i = LookUpNeon(x, y, count, (byte*)table);
            }

            sbyte* t = table + 128;
            for (; i < count; i++)
            {
                y[i] = t[x[i]];
            }
        }
    }

    private static int LookUpVbmi(sbyte* x, sbyte* y, int count, byte* table)
    {
        // vpermi2b reads seven index bits: q's own low seven bits are u = q + 128's for either half, and q's sign
        // bit (set for u < 128) picks the lower half.
        Vector512<byte> t0 = Vector512.Load(table), t1 = Vector512.Load(table + 64), t2 = Vector512.Load(table + 128), t3 = Vector512.Load(table + 192);
        int i = 0;
        for (; i <= count - 64; i += 64)
        {
            Vector512<byte> q = Vector512.Load((byte*)x + i);
            Vector512<byte> lower = Avx512Vbmi.PermuteVar64x8x2(t0, q, t1);
            Vector512<byte> upper = Avx512Vbmi.PermuteVar64x8x2(t2, q, t3);
            Avx512BW.BlendVariable(upper, lower, q).Store((byte*)y + i);
        }

        return i;
    }

    private static int LookUpAvx2(sbyte* x, sbyte* y, int count, byte* rows)
    {
        Vector256<byte> sixteen = Vector256.Create((byte)16), top = Vector256.Create((byte)0x80);
        int i = 0;
        for (; i <= count - 32; i += 32)
        {
            Vector256<byte> q = Vector256.Load((byte*)x + i);
            Vector256<byte> lowIndex = q ^ top, highIndex = q; // u and u − 128
            Vector256<byte> low = Avx2.Shuffle(Vector256.Load(rows), lowIndex);
            Vector256<byte> high = Avx2.Shuffle(Vector256.Load(rows + 256), highIndex);
            for (int k = 1; k < 8; k++)
            {
                lowIndex -= sixteen;
                highIndex -= sixteen;
                low ^= Avx2.Shuffle(Vector256.Load(rows + 32 * k), lowIndex);
                high ^= Avx2.Shuffle(Vector256.Load(rows + 256 + 32 * k), highIndex);
            }

            Avx2.BlendVariable(high, low, q).Store((byte*)y + i); // the lower half where q < 0
        }

        return i;
    }

    private static int LookUpNeon(sbyte* x, sbyte* y, int count, byte* table)
    {
        var t0 = (AdvSimd.LoadVector128(table), AdvSimd.LoadVector128(table + 16), AdvSimd.LoadVector128(table + 32), AdvSimd.LoadVector128(table + 48));
        var t1 = (AdvSimd.LoadVector128(table + 64), AdvSimd.LoadVector128(table + 80), AdvSimd.LoadVector128(table + 96), AdvSimd.LoadVector128(table + 112));
        var t2 = (AdvSimd.LoadVector128(table + 128), AdvSimd.LoadVector128(table + 144), AdvSimd.LoadVector128(table + 160), AdvSimd.LoadVector128(table + 176));
        var t3 = (AdvSimd.LoadVector128(table + 192), AdvSimd.LoadVector128(table + 208), AdvSimd.LoadVector128(table + 224), AdvSimd.LoadVector128(table + 240));
        Vector128<byte> sixtyFour = Vector128.Create((byte)64), top = Vector128.Create((byte)0x80);
        int i = 0;
        for (; i <= count - 16; i += 16)
        {
            Vector128<byte> u = AdvSimd.LoadVector128((byte*)x + i) ^ top;
            Vector128<byte> r = AdvSimd.Arm64.VectorTableLookup(t0, u);
            r = AdvSimd.Arm64.VectorTableLookupExtension(r, t1, u - sixtyFour);
            r = AdvSimd.Arm64.VectorTableLookupExtension(r, t2, u - sixtyFour - sixtyFour);
            r = AdvSimd.Arm64.VectorTableLookupExtension(r, t3, u - sixtyFour - sixtyFour - sixtyFour);
            AdvSimd.Store((byte*)y + i, r);
        }

        return i;
    }
}
