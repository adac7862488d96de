namespace EdgeInfer.Runtime.Kernels.Common;

/// <summary>Validation of the output clamp fused into an operator (ReLU, ReLU6 or none).</summary>
internal static class FusedClamp
{
    /// <summary>Refuses a NaN bound or an empty range; a fused activation never produces either.</summary>
    public static ClampOptions Validate(ref KernelContext context, ClampOptions clamp)
    {
        context.Require(!float.IsNaN(clamp.Min) && !float.IsNaN(clamp.Max) && clamp.Min <= clamp.Max,
            $"clamp [{clamp.Min}, {clamp.Max}] must be a non-empty range without NaN");
        return clamp;
    }
}
