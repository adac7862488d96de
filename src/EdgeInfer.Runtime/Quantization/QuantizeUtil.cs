using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Quantization;

/// <summary>Per-tensor affine (de)quantization of whole buffers, for inputs and outputs at the graph boundary.</summary>
public static class QuantizeUtil
{
    /// <summary>q = clamp(round(x / scale) + zeroPoint), rounding half away from zero as TFLite does.</summary>
    public static void Quantize(ReadOnlySpan<float> values, float scale, int zeroPoint, DataType type, Span<byte> destination)
        => Quantize(values, scale, zeroPoint, type, destination, KernelPath.Scalar);

    /// <summary>
    /// <see cref="Quantize(ReadOnlySpan{float}, float, int, DataType, Span{byte})"/> on a kernel path. The vector
    /// forms give the scalar bytes. AVX2: see <see cref="QuantizeAvx2"/>. Vector128: the same IEEE division; values
    /// are clamped to ±1024 first (any value beyond saturates either way; NaN becomes 0, as in the scalar loop);
    /// round-half-away is floor(|v|) plus one when the exact remainder |v| − floor(|v|) is at least 0.5, with the
    /// sign put back; then + zp and the clamp.
    /// </summary>
    internal static void Quantize(ReadOnlySpan<float> values, float scale, int zeroPoint, DataType type, Span<byte> destination, KernelPath path)
    {
        (int lo, int hi) = type == DataType.Int8 ? (-128, 127) : (0, 255);
        int i = 0;
        if (KernelPaths.UsesAvx2(path) && float.IsNormal(scale * 0.5f)) // halving a scale must be exact (see QuantizeAvx2)
        {
            i = QuantizeAvx2(values, scale, zeroPoint, type == DataType.Int8, destination);
        }
        else if (path != KernelPath.Scalar && Vector128.IsHardwareAccelerated)
        {
            ref float x = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
            ref byte y = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination);
            var s = Vector128.Create(scale);
            var zp = Vector128.Create(zeroPoint);
            var vlo = Vector128.Create(lo);
            var vhi = Vector128.Create(hi);
            for (; i <= values.Length - 8; i += 8)
            {
                Vector128<int> a = Vector128.Min(Vector128.Max(Round128(Vector128.LoadUnsafe(ref x, (nuint)i) / s) + zp, vlo), vhi);
                Vector128<int> b = Vector128.Min(Vector128.Max(Round128(Vector128.LoadUnsafe(ref x, (nuint)i + 4) / s) + zp, vlo), vhi);
                Vector128<short> ab = Vector128.Narrow(a, b);
                Vector128<byte> bytes = Vector128.Narrow(ab, ab).AsByte();
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref y, i), bytes.AsUInt64().ToScalar());
            }
        }

        for (; i < values.Length; i++)
        {
            float scaled = values[i] / scale; // a division, as TFLite's reference quantizer, not a multiply by 1/scale
            int q = float.IsNaN(scaled) ? 0 : (int)Math.Clamp(MathF.Round(scaled, MidpointRounding.AwayFromZero), -1e9f, 1e9f);
            destination[i] = (byte)Math.Clamp(q + zeroPoint, lo, hi);
        }
    }

    /// <summary>
    /// 32 values per step; returns how many it did. The division is by scale / 2, which gives exactly twice the
    /// quotient x / scale (halving a scale and doubling a quotient only move exponents), so rounding half away from
    /// zero is integer work: with u = trunc(|2q|) (vcvttps2dq), round(|q|) = (u + 1) >> 1, and vpsignd puts the
    /// sign back. The clamp is the saturation of the narrowing packs: vpackssdw to int16, then vpacksswb to
    /// [−128, 127] (int8) or vpackuswb to [0, 255] (uint8). Values are within ±(2³⁰ + |zp|) before it, so the sum
    /// cannot wrap, and a value the first pack saturates is beyond every int8 and uint8 bound with its sign kept.
    /// </summary>
    private static unsafe int QuantizeAvx2(ReadOnlySpan<float> values, float scale, int zeroPoint, bool signed, Span<byte> destination)
    {
        int n = values.Length & ~31;
        fixed (float* x = values)
        fixed (byte* y = destination)
        {
            Vector256<float> halfScale = Vector256.Create(scale * 0.5f);
            Vector256<int> zp = Vector256.Create(zeroPoint);
            for (int i = 0; i < n; i += 32)
            {
                Vector256<int> a = RoundHalfAvx2(Avx.LoadVector256(x + i) / halfScale) + zp;
                Vector256<int> b = RoundHalfAvx2(Avx.LoadVector256(x + i + 8) / halfScale) + zp;
                Vector256<int> c = RoundHalfAvx2(Avx.LoadVector256(x + i + 16) / halfScale) + zp;
                Vector256<int> d = RoundHalfAvx2(Avx.LoadVector256(x + i + 24) / halfScale) + zp;
                Vector256<short> ab = Avx2.PackSignedSaturate(a, b);
                Vector256<short> cd = Avx2.PackSignedSaturate(c, d);
                Vector256<byte> bytes = signed ? Avx2.PackSignedSaturate(ab, cd).AsByte() : Avx2.PackUnsignedSaturate(ab, cd);
                Avx.Store(y + i, Int8Requantizer.InRowOrder(bytes.AsSByte()).AsByte());
            }
        }

        return n;
    }

    /// <summary>
    /// Round half away from zero of v / 2 (NaN → 0), as int32. No clamp is needed: vcvttps2dq gives 0x80000000 for
    /// |v| ≥ 2³¹ and ∞, which (u + 1) >> 1 turns into 2³⁰, and every magnitude from 2¹¹ on saturates alike in the packs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> RoundHalfAvx2(Vector256<float> v)
    {
        Vector256<float> c = v & Avx.CompareEqual(v, v);
        Vector256<int> u = Avx.ConvertToVector256Int32WithTruncation(Avx.AndNot(Vector256.Create(-0f), c));
        return Avx2.Sign(Avx2.ShiftRightLogical(u + Vector256<int>.One, 1), c.AsInt32());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Round128(Vector128<float> v)
    {
        Vector128<float> ok = Vector128.Equals(v, v);
        Vector128<float> c = Vector128.Min(Vector128.Max(v, Vector128.Create(-1024f)), Vector128.Create(1024f)) & ok;
        Vector128<float> sign = c & Vector128.Create(-0f);
        Vector128<float> a = Vector128.Abs(c);
        Vector128<float> f = Vector128.Floor(a);
        Vector128<float> up = Vector128.GreaterThanOrEqual(a - f, Vector128.Create(0.5f)) & Vector128<float>.One;
        return Vector128.ConvertToInt32((f + up) | sign);
    }

    public static void Dequantize(ReadOnlySpan<byte> values, float scale, int zeroPoint, DataType type, Span<float> destination)
    {
        for (int i = 0; i < values.Length; i++)
        {
            int q = type == DataType.Int8 ? (sbyte)values[i] : values[i];
            destination[i] = scale * (q - zeroPoint);
        }
    }
}
