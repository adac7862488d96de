using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace EdgeInfer.Runtime;

/// <summary>
/// Which instruction set the kernels use. Every path computes the same bytes (see docs/kernels.md): float kernels
/// keep one accumulation order on every path, integer kernels are exact. Tests force each supported path.
/// </summary>
public enum KernelPath
{
    /// <summary>The best path this CPU supports, or the one EDGEINFER_KERNELS names.</summary>
    Auto = 0,
    /// <summary>Plain C#, no SIMD: the reference the other paths are checked against.</summary>
    Scalar = 1,
    /// <summary>128-bit vectors: SSE on x64, AdvSimd (NEON) on arm64 (Raspberry Pi 3/4).</summary>
    Vector128 = 2,
    /// <summary>x64 AVX2 and FMA, 256-bit vectors.</summary>
    Avx2 = 3,
    /// <summary>arm64 AdvSimd with the SDOT dot-product instructions (Raspberry Pi 5, Cortex-A76).</summary>
    DotProduct = 4,
    /// <summary>
    /// x64 AVX2 and FMA, with AVX-512 (F, BW) where 512-bit vectors measured faster on Zen 4: the int8 GEMM's
    /// streamed form for K ≤ 8 in the folded ReLU requantization (docs/kernels.md). Every other kernel runs its Avx2 code.
    /// </summary>
    Avx512 = 5,
}

public static class KernelPaths
{
    /// <summary>The environment variable that forces a path: scalar, vector128, avx2, avx512 or dotproduct.</summary>
    public const string EnvironmentVariable = "EDGEINFER_KERNELS";

    public static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Auto or KernelPath.Scalar => true,
        KernelPath.Vector128 => Vector128.IsHardwareAccelerated,
        KernelPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        KernelPath.DotProduct => Dp.IsSupported && AdvSimd.Arm64.IsSupported,
        KernelPath.Avx512 => Avx2.IsSupported && Fma.IsSupported && Avx512F.IsSupported && Avx512BW.IsSupported,
        _ => false,
    };

    /// <summary>Whether <paramref name="path"/> runs the AVX2 kernels (Avx2, and Avx512, which builds on them) on this CPU.</summary>
    public static bool UsesAvx2(KernelPath path) => (path == KernelPath.Avx2 || path == KernelPath.Avx512) && Avx2.IsSupported;

    /// <summary>The fastest path this CPU supports.</summary>
    public static KernelPath Best =>
        IsSupported(KernelPath.Avx512) ? KernelPath.Avx512
        : IsSupported(KernelPath.Avx2) ? KernelPath.Avx2
        : IsSupported(KernelPath.DotProduct) ? KernelPath.DotProduct
        : IsSupported(KernelPath.Vector128) ? KernelPath.Vector128
        : KernelPath.Scalar;

    /// <summary>Every path this CPU can run, the reference first.</summary>
    public static IReadOnlyList<KernelPath> Supported { get; } =
        [.. new[] { KernelPath.Scalar, KernelPath.Vector128, KernelPath.Avx2, KernelPath.Avx512, KernelPath.DotProduct }.Where(IsSupported)];

    /// <summary>Turns Auto into a concrete path; refuses a path this CPU cannot run.</summary>
    public static KernelPath Resolve(KernelPath requested)
    {
        if (requested == KernelPath.Auto)
        {
            string? forced = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (string.IsNullOrWhiteSpace(forced))
            {
                return Best;
            }

            if (!TryParse(forced, out requested) || requested == KernelPath.Auto)
            {
                throw new NotSupportedException($"{EnvironmentVariable}='{forced}' is not one of scalar, vector128, avx2, avx512, dotproduct");
            }
        }

        if (!IsSupported(requested))
        {
            throw new NotSupportedException($"kernel path {requested} is not supported by this CPU (supported: {string.Join(", ", Supported)})");
        }

        return requested;
    }

    public static bool TryParse(string text, out KernelPath path)
    {
        path = text.Trim().ToLowerInvariant() switch
        {
            "auto" => KernelPath.Auto,
            "scalar" or "reference" => KernelPath.Scalar,
            "vector128" or "sse" or "neon" or "advsimd" => KernelPath.Vector128,
            "avx2" or "vector256" => KernelPath.Avx2,
            "avx512" or "avx-512" => KernelPath.Avx512,
            "dotproduct" or "dp" or "sdot" => KernelPath.DotProduct,
            _ => (KernelPath)(-1),
        };
        return path >= 0;
    }
}
