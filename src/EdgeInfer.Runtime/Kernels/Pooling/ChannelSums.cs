using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>Per-channel int32 running sums of int8 pixels, what the int8 average pools accumulate.</summary>
internal static unsafe class ChannelSums
{
    /// <summary>
    /// sums[ch] += x[ch] for ch &lt; <paramref name="count"/>, 16 channels per step when Vector128 is accelerated and
    /// <paramref name="vector"/>, the rest one at a time. Integer sums are exact in any grouping: every path agrees.
    /// </summary>
    public static void Add(sbyte* x, int* sums, int count, bool vector)
    {
        int ch = 0;
        if (vector && Vector128.IsHardwareAccelerated)
        {
            for (; ch <= count - 16; ch += 16)
            {
                (Vector128<short> lo, Vector128<short> hi) = Vector128.Widen(Vector128.Load(x + ch));
                (Vector128.Load(sums + ch) + Vector128.WidenLower(lo)).Store(sums + ch);
                (Vector128.Load(sums + ch + 4) + Vector128.WidenUpper(lo)).Store(sums + ch + 4);
                (Vector128.Load(sums + ch + 8) + Vector128.WidenLower(hi)).Store(sums + ch + 8);
                (Vector128.Load(sums + ch + 12) + Vector128.WidenUpper(hi)).Store(sums + ch + 12);
            }
        }

        for (; ch < count; ch++)
        {
            sums[ch] += x[ch];
        }
    }
}
