using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime.Kernels.Quantized;

// KernelPath.Avx512: the AVX2 GEMM's streamed form for K ≤ 8 on 512-bit vectors, where the requantization is most of
// the work. Same packed weights, same integer sums, same folded requantization: the bytes of every other path.
internal unsafe partial struct Int8Gemm
{
    private static bool UseAvx512(KernelPath path) => path == KernelPath.Avx512 && Avx512BW.IsSupported;

    /// <summary>
    /// <see cref="StreamRows16"/> four rows at a time on 512-bit vectors, for the whole groups of four in
    /// <paramref name="rows"/>, in the folded ReLU form (the other forms measured no faster on zmm: docs/kernels.md);
    /// returns how many rows it did. With K ≤ 8 the requantization is most of the work, and one zmm per row of
    /// sixteen channels halves its instruction count (8→48 at 48×48: 26.2 → 22.1 µs).
    /// </summary>
    private readonly int StreamRows16x512(short* w, int* x, int pairs, int rows, sbyte* y, int outputStride, int n0, int count)
    {
        int whole = rows & ~3;
        if (whole == 0 || Requantizer.Form != Int8Requantizer.Avx2Form.FoldedRelu)
        {
            return 0;
        }

        StreamRows16x512(w, x, pairs, whole, y, outputStride, n0, count, Requantizer.LoadAvx512(n0));
        return whole;
    }

    /// <summary>Rows 0..rows−1 (a multiple of four) of one 16-channel panel, its weights (k-pairs of sixteen channels, one zmm each) in registers.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly void StreamRows16x512(short* w, int* x, int pairs, int rows, sbyte* y, int outputStride, int n0, int count, in Int8Requantizer.Avx512Channels16 t)
    {
        Vector512<short> w0 = Vector512.Load(w);
        Vector512<short> w1 = pairs > 1 ? Vector512.Load(w + 32) : default;
        Vector512<short> w2 = pairs > 2 ? Vector512.Load(w + 64) : default;
        Vector512<short> w3 = pairs > 3 ? Vector512.Load(w + 96) : default;
        for (int r = 0; r < rows; r += 4, x += 4 * pairs, y += 4 * (long)outputStride)
        {
            Vector512<int> q0 = Int8Requantizer.Avx512ReluMbqm(StreamRow512(x, pairs, w0, w1, w2, w3), t);
            Vector512<int> q1 = Int8Requantizer.Avx512ReluMbqm(StreamRow512(x + pairs, pairs, w0, w1, w2, w3), t);
            Vector512<int> q2 = Int8Requantizer.Avx512ReluMbqm(StreamRow512(x + 2 * pairs, pairs, w0, w1, w2, w3), t);
            Vector512<int> q3 = Int8Requantizer.Avx512ReluMbqm(StreamRow512(x + 3 * pairs, pairs, w0, w1, w2, w3), t);
            Vector512<sbyte> v = Requantizer.PackAvx512(q0, q1, q2, q3);
            Int8Requantizer.StoreBytes(v.GetLower().GetLower(), y, count);
            Int8Requantizer.StoreBytes(v.GetLower().GetUpper(), y + outputStride, count);
            Int8Requantizer.StoreBytes(v.GetUpper().GetLower(), y + 2 * (long)outputStride, count);
            Int8Requantizer.StoreBytes(v.GetUpper().GetUpper(), y + 3 * (long)outputStride, count);
        }
    }

    /// <summary>One row's sixteen channels: Σ over its k-pairs of the broadcast pair times the pair's weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> StreamRow512(int* x, int pairs, Vector512<short> w0, Vector512<short> w1, Vector512<short> w2, Vector512<short> w3)
    {
        Vector512<int> a = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x[0]).AsInt16(), w0);
        if (pairs > 1)
        {
            a += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x[1]).AsInt16(), w1);
        }

        if (pairs > 2)
        {
            a += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x[2]).AsInt16(), w2);
        }

        if (pairs > 3)
        {
            a += Avx512BW.MultiplyAddAdjacent(Vector512.Create(x[3]).AsInt16(), w3);
        }

        return a;
    }
}
