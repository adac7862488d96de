using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Quantization;

/// <summary>Per-tensor affine (de)quantization of whole buffers, for inputs and outputs at the graph boundary.</summary>
public static class QuantizeUtil
{
    /// <summary>q = clamp(round(x / scale) + zeroPoint), rounding half away from zero as TFLite does.</summary>
    public static void Quantize(ReadOnlySpan<float> values, float scale, int zeroPoint, DataType type, Span<byte> destination)
        => Quantize(values, scale, zeroPoint, type, destination, KernelPath.Scalar);

    /// <summary>
    /// <see cref="Quantize(ReadOnlySpan{float}, float, int, DataType, Span{byte})"/> on a kernel path. The vector
    /// forms give the scalar bytes: the division is the same IEEE division; values are clamped to ±1024 first (any
    /// value beyond saturates either way; NaN becomes 0, as in the scalar loop); round-half-away is floor(|v|) plus
    /// one when the exact remainder |v| − floor(|v|) is at least 0.5, with the sign put back; then + zp and the clamp.
    /// </summary>
    internal static void Quantize(ReadOnlySpan<float> values, float scale, int zeroPoint, DataType type, Span<byte> destination, KernelPath path)
    {
        (int lo, int hi) = type == DataType.Int8 ? (-128, 127) : (0, 255);
        int i = 0;
        if (path == KernelPath.Avx2 && Vector256.IsHardwareAccelerated)
        {
            ref float x = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(values);
            ref byte y = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination);
            var s = Vector256.Create(scale);
            var zp = Vector256.Create(zeroPoint);
            var vlo = Vector256.Create(lo);
            var vhi = Vector256.Create(hi);
            for (; i <= values.Length - 16; i += 16)
            {
                Vector256<int> a = Round256(Vector256.LoadUnsafe(ref x, (nuint)i) / s) + zp;
                Vector256<int> b = Round256(Vector256.LoadUnsafe(ref x, (nuint)i + 8) / s) + zp;
                a = Vector256.Min(Vector256.Max(a, vlo), vhi);
                b = Vector256.Min(Vector256.Max(b, vlo), vhi);
                Vector256<short> ab = Vector256.Narrow(a, b);
                Vector128<byte> bytes = Vector128.Narrow(ab.GetLower(), ab.GetUpper()).AsByte();
                bytes.StoreUnsafe(ref y, (nuint)i);
            }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Round256(Vector256<float> v)
    {
        Vector256<float> ok = Vector256.Equals(v, v);
        Vector256<float> c = Vector256.Min(Vector256.Max(v, Vector256.Create(-1024f)), Vector256.Create(1024f)) & ok;
        Vector256<float> sign = c & Vector256.Create(-0f);
        Vector256<float> a = Vector256.Abs(c);
        Vector256<float> f = Vector256.Floor(a);
        Vector256<float> up = Vector256.GreaterThanOrEqual(a - f, Vector256.Create(0.5f)) & Vector256<float>.One;
        return Vector256.ConvertToInt32((f + up) | sign);
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
