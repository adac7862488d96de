namespace EdgeInfer.Runtime.Kernels.Quantized;

/// <summary>Prepare-time checks and reads of the quantization parameters int8 kernels rely on.</summary>
internal static class QuantizedTensors
{
    /// <summary>An int8 activation (or constant operand) with one scale and one zero point.</summary>
    public static (float Scale, int ZeroPoint) PerTensor(ref KernelContext context, TensorInfo tensor, string role)
    {
        context.RequireType(tensor, DataType.Int8, role);
        QuantizationInfo? q = tensor.Quantization;
        context.Require(q is not null, $"{role} {tensor} has no quantization parameters");
        context.Require(q.Scales.Length == 1 && !q.IsPerChannel, $"{role} {tensor} must be quantized per tensor, not per channel");
        return (q.Scales[0], q.ZeroPoints[0]);
    }

    /// <summary>
    /// Constant int8 weights, symmetric (every zero point 0), per tensor or per output channel on axis 0 with
    /// <paramref name="channels"/> channels. Returns the scales (1 or <paramref name="channels"/> of them).
    /// </summary>
    public static float[] SymmetricWeights(ref KernelContext context, TensorInfo weights, int channels, string role)
    {
        context.RequireType(weights, DataType.Int8, role);
        context.Require(weights.Storage == TensorStorage.Constant, $"{role} {weights} must be a constant (int8 weights are packed at load)");
        QuantizationInfo? q = weights.Quantization;
        context.Require(q is not null, $"{role} {weights} has no quantization parameters");
        context.Require(q.Scales.Length == 1 || (q.Axis == 0 && q.Scales.Length == channels),
            $"{role} {weights} must be quantized per tensor or per output channel (axis 0, {channels} channels)");
        foreach (int z in q.ZeroPoints)
        {
            context.Require(z == 0, $"{role} {weights} must be symmetric (zero point 0), has {z}");
        }

        return q.Scales;
    }

    /// <summary>An optional constant int32 bias of <paramref name="channels"/> values; null when absent.</summary>
    public static unsafe int* Bias(ref KernelContext context, int index, int channels)
    {
        if (!context.HasInput(index))
        {
            return null;
        }

        TensorInfo bias = context.Input(index);
        context.RequireType(bias, DataType.Int32, "bias");
        context.Require(bias.ElementCount == channels, $"bias {bias} should hold {channels} values");
        context.Require(bias.Storage == TensorStorage.Constant, $"bias {bias} must be a constant (it is folded at load)");
        context.Require(bias.Quantization is null || bias.Quantization.ZeroPoints.All(z => z == 0), $"bias {bias} must have zero point 0");
        return (int*)context.InputBuffer(index).Pointer;
    }

    /// <summary>Requires <paramref name="b"/> to have exactly the quantization of <paramref name="a"/> (pass-through operators).</summary>
    public static void RequireSameQuantization(ref KernelContext context, TensorInfo a, TensorInfo b)
    {
        (float sa, int za) = PerTensor(ref context, a, "input");
        (float sb, int zb) = PerTensor(ref context, b, "output");
        context.Require(sa == sb && za == zb, $"{b} must keep the quantization of {a} (scale {sa}, zero point {za}); has scale {sb}, zero point {zb}");
    }
}
