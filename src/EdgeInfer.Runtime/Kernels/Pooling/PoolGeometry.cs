using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// The window geometry MaxPool2D and AveragePool2D share, validated once. Window (oy, ox) covers input rows
/// oy·strideH − padTop + ky·dilationH (ky &lt; KH) and the matching columns; it is clipped to the input, so only
/// in-input positions are terms, in (ky, kx) order. The output size is the output record's (the converter encodes
/// ceil_mode that way); it must lie between the floor and ceil formulas, and every window must keep at least one
/// in-input position (otherwise its maximum or mean would be undefined).
/// </summary>
internal unsafe struct PoolGeometry
{
    public float* Input;
    public float* Output;
    public int Batch;
    public int Height;
    public int Width;
    public int Channels;
    public int OutHeight;
    public int OutWidth;
    public int KernelHeight;
    public int KernelWidth;
    public int StrideH;
    public int StrideW;
    public int DilationH;
    public int DilationW;
    public int PadTop;
    public int PadLeft;
    public int PadBottom;
    public int PadRight;
    public bool CountIncludePad;
    public float Min;
    public float Max;
    public FloatLanes Lanes;

    public static PoolGeometry Prepare(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(output, DataType.Float32, "output");
        context.Require(input.Rank == 4, $"input {input} must be rank 4 [N,H,W,C]");
        context.Require(output.Rank == 4, $"output {output} must be rank 4 [N,OH,OW,C]");
        Pool2DOptions o = Pool2DOptions.Read(context.Options);
        context.Require(o.KernelH >= 1 && o.KernelW >= 1, $"kernel {o.KernelH}×{o.KernelW} must be positive");
        context.Require(o.StrideH >= 1 && o.StrideW >= 1, $"strides {o.StrideH}×{o.StrideW} must be positive");
        context.Require(o.DilationH >= 1 && o.DilationW >= 1, $"dilations {o.DilationH}×{o.DilationW} must be positive");
        context.Require(o.PadTop >= 0 && o.PadLeft >= 0 && o.PadBottom >= 0 && o.PadRight >= 0,
            $"pads (top {o.PadTop}, left {o.PadLeft}, bottom {o.PadBottom}, right {o.PadRight}) must not be negative");
        ClampOptions clamp = FusedClamp.Validate(ref context, o.Clamp);
        int height = input.Dim(1), width = input.Dim(2);
        context.Require(output.Dim(0) == input.Dim(0) && output.Dim(3) == input.Dim(3), $"output {output} must keep the batch and channels of input {input}");
        RequireOutputSize(ref context, "height", height, o.PadTop, o.PadBottom, o.KernelH, o.StrideH, o.DilationH, output.Dim(1));
        RequireOutputSize(ref context, "width", width, o.PadLeft, o.PadRight, o.KernelW, o.StrideW, o.DilationW, output.Dim(2));
        var geometry = new PoolGeometry
        {
            Input = (float*)context.InputBuffer(0).Pointer,
            Output = (float*)context.OutputBuffer(0).Pointer,
            Batch = input.Dim(0),
            Height = height,
            Width = width,
            Channels = input.Dim(3),
            OutHeight = output.Dim(1),
            OutWidth = output.Dim(2),
            KernelHeight = o.KernelH,
            KernelWidth = o.KernelW,
            StrideH = o.StrideH,
            StrideW = o.StrideW,
            DilationH = o.DilationH,
            DilationW = o.DilationW,
            PadTop = o.PadTop,
            PadLeft = o.PadLeft,
            PadBottom = o.PadBottom,
            PadRight = o.PadRight,
            CountIncludePad = o.CountIncludePad,
            Min = clamp.Min,
            Max = clamp.Max,
            Lanes = FloatVector.LanesFor(context.Path),
        };
        context.RequestScratch((long)o.KernelH * o.KernelW * sizeof(nint));
        return geometry;
    }

    /// <summary>Requires an output size between the floor and ceil formulas whose every window holds an input position.</summary>
    internal static void RequireOutputSize(ref KernelContext context, string axis, int size, int padBefore, int padAfter, int kernel, int stride, int dilation, int actual)
    {
        long span = (long)size + padBefore + padAfter - (long)dilation * (kernel - 1) - 1;
        context.Require(span >= 0, $"the {axis} window ({kernel} taps, dilation {dilation}) does not fit the padded input {axis} {size}");
        long floor = span / stride + 1;
        long ceil = (span + stride - 1) / stride + 1;
        context.Require(actual >= floor && actual <= ceil, $"output {axis} {actual} is neither the floor ({floor}) nor the ceil ({ceil}) pooling size");
        for (int o = 0; o < actual; o++)
        {
            (int first, int count) = Valid(o * stride - padBefore, kernel, dilation, 0, size);
            context.Require(count > 0, $"pooling window {o} along {axis} holds no input position (first tap {first})");
        }
    }

    /// <summary>The taps start + k·dilation (k &lt; kernel) that fall in [lo, hi): the first such k and how many.</summary>
    public static (int First, int Count) Valid(long start, int kernel, int dilation, long lo, long hi)
    {
        // k ≥ ceil((lo − start) / dilation) and k ≤ floor((hi − 1 − start) / dilation), intersected with [0, kernel).
        long first = start >= lo ? 0 : (lo - start + dilation - 1) / dilation;
        long last = hi - 1 - start < 0 ? -1 : (hi - 1 - start) / dilation;
        last = Math.Min(last, kernel - 1);
        return last < first ? ((int)first, 0) : ((int)first, (int)(last - first + 1));
    }

    /// <summary>
    /// Lists the in-input positions of window (oy, ox) of one image as pixel pointers, in (ky, kx) order; returns how
    /// many, and the number of window positions inside the padded extent (the CountIncludePad divisor).
    /// </summary>
    public readonly int ListWindow(float** taps, float* image, int oy, int ox, out int paddedCount)
    {
        int iy0 = oy * StrideH - PadTop, ix0 = ox * StrideW - PadLeft;
        (int firstY, int countY) = Valid(iy0, KernelHeight, DilationH, 0, Height);
        (int firstX, int countX) = Valid(ix0, KernelWidth, DilationW, 0, Width);
        paddedCount = Valid(iy0, KernelHeight, DilationH, -PadTop, Height + PadBottom).Count
            * Valid(ix0, KernelWidth, DilationW, -PadLeft, Width + PadRight).Count;
        int t = 0;
        for (int ky = firstY; ky < firstY + countY; ky++)
        {
            float* row = image + (long)(iy0 + ky * DilationH) * Width * Channels;
            for (int kx = firstX; kx < firstX + countX; kx++)
            {
                taps[t++] = row + (long)(ix0 + kx * DilationW) * Channels;
            }
        }

        return t;
    }
}
