using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>
/// The canonical order of the plain reductions (sums and maxima: pooling, Softmax), one order every kernel path
/// shares, so that the scalar, 128-bit and 256-bit paths produce identical bits:
/// <list type="number">
/// <item>eight lanes: lane j accumulates x[k] for k ≡ j (mod 8), k &lt; K8 = K − K mod 8, in increasing k;</item>
/// <item>the lanes reduce as m_j = l_j + l_{j+4} (j = 0..3), then s = (m0 + m2) + (m1 + m3);</item>
/// <item>the tail k = K8..K−1 continues s in increasing k.</item>
/// </list>
/// The 256-bit path holds the eight lanes in one vector, the 128-bit path in two, the scalar path in eight locals;
/// a maximum replaces the additions by IEEE maximum (lanes start at −∞). Kernels that vectorize across independent
/// outputs keep eight accumulators per lane (<see cref="FloatColumns"/>), so an output's bits depend on its terms
/// alone. Products are different: the matrix products and convolutions sum their products as one sequential
/// fused multiply-add chain (<see cref="FloatGemm"/>), the order of the usual GEMM micro-kernels.
/// </summary>
internal static partial class FloatDot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(float m0, float m1, float m2, float m3) => (m0 + m2) + (m1 + m3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(Vector128<float> m) => Reduce(m.GetElement(0), m.GetElement(1), m.GetElement(2), m.GetElement(3));
}
