using System.Runtime.Intrinsics;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>Int8 NHWC pooling geometry and the checks both pooling kernels share (same quantization in and out).</summary>
internal struct Pool2DInt8Geometry
{
    public int Batch, Height, Width, Channels, OutputHeight, OutputWidth;
    public int KernelH, KernelW, StrideH, StrideW, DilationH, DilationW, PadTop, PadLeft, PadBottom, PadRight;
    public bool CountIncludePad;
    public int Min, Max, ZeroPoint;

    public static Pool2DInt8Geometry Read(ref KernelContext context)
    {
        context.RequireInputs(1, 1);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo output = context.Output(0);
        Pool2DOptions o = Pool2DOptions.Read(context.Options);
        QuantizedTensors.RequireSameQuantization(ref context, input, output);
        context.Require(input.Rank == 4 && output.Rank == 4, $"pooling works on NHWC tensors, not {input} → {output}");
        context.Require(o.KernelH >= 1 && o.KernelW >= 1 && o.StrideH >= 1 && o.StrideW >= 1 && o.DilationH >= 1 && o.DilationW >= 1,
            "window, strides and dilations must be at least 1");
        context.Require(o.PadTop >= 0 && o.PadLeft >= 0 && o.PadBottom >= 0 && o.PadRight >= 0, "pads must not be negative");
        var g = new Pool2DInt8Geometry
        {
            Batch = input.Dim(0), Height = input.Dim(1), Width = input.Dim(2), Channels = input.Dim(3),
            KernelH = o.KernelH, KernelW = o.KernelW, StrideH = o.StrideH, StrideW = o.StrideW,
            DilationH = o.DilationH, DilationW = o.DilationW, PadTop = o.PadTop, PadLeft = o.PadLeft, PadBottom = o.PadBottom, PadRight = o.PadRight,
            CountIncludePad = o.CountIncludePad,
        };
        context.Require(output.Dim(0) == g.Batch && output.Dim(3) == g.Channels, $"output {output} must keep the batch and channels of input {input}");
        // The output size is the output record's, floor or ceil (the converter encodes ceil_mode that way), as for
        // float pooling; windows are clipped to the input.
        PoolGeometry.RequireOutputSize(ref context, "height", g.Height, o.PadTop, o.PadBottom, o.KernelH, o.StrideH, o.DilationH, output.Dim(1));
        PoolGeometry.RequireOutputSize(ref context, "width", g.Width, o.PadLeft, o.PadRight, o.KernelW, o.StrideW, o.DilationW, output.Dim(2));
        g.OutputHeight = output.Dim(1);
        g.OutputWidth = output.Dim(2);
        context.Require(!(o.Clamp.Min > o.Clamp.Max), $"clamp [{o.Clamp.Min}, {o.Clamp.Max}] is empty");
        QuantizationInfo q = output.Quantization!;
        (g.Min, g.Max) = QuantizedMath.ActivationRange(o.Clamp.Min, o.Clamp.Max, q.Scales[0], q.ZeroPoints[0]);
        context.Require(g.Min <= g.Max, $"clamp [{o.Clamp.Min}, {o.Clamp.Max}] is empty once quantized");
        g.ZeroPoint = q.ZeroPoints[0];
        return g;
    }
}

/// <summary>Int8 max pooling: the largest value of the in-bounds window, clamped. Same quantization in and out.</summary>
public unsafe struct MaxPool2DInt8Kernel : IKernel<MaxPool2DInt8Kernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private Pool2DInt8Geometry _g;
    private bool _vector;

    public static OpCode OpCode => OpCode.MaxPool2D;

    public static DataType InputType => DataType.Int8;

    public static MaxPool2DInt8Kernel Prepare(ref KernelContext context)
        => new()
        {
            _g = Pool2DInt8Geometry.Read(ref context), _input = context.InputBuffer(0), _output = context.OutputBuffer(0),
            _vector = context.Path != KernelPath.Scalar && System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated,
        };

    public readonly void Invoke(Span<byte> scratch)
    {
        Pool2DInt8Geometry g = _g;
        sbyte* x = (sbyte*)_input.Pointer;
        sbyte* y = (sbyte*)_output.Pointer;
        int c = g.Channels;
        // Channels 0..c16−1 run 16 lanes at a time, then 8, the rest the scalar loop. The window's maximum stays in a
        // register across taps and is clamped there: a maximum is exact, so every path gives the same bytes.
        int c16 = _vector ? c & ~15 : 0;
        int c8 = _vector ? c & ~7 : 0;
        Vector128<sbyte> min = Vector128.Create((sbyte)g.Min);
        Vector128<sbyte> max = Vector128.Create((sbyte)g.Max);
        long rowBytes = (long)g.Width * c;
        if (_vector && c8 == c && IsUnpadded2x2(g))
        {
            Max2x2(g, x, y, min, max);
            return;
        }

        for (int b = 0; b < g.Batch; b++)
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            int ih0 = oh * g.StrideH - g.PadTop;
            (int khFirst, int khEnd) = TapRange(ih0, g.KernelH, g.DilationH, g.Height);
            for (int ow = 0; ow < g.OutputWidth; ow++)
            {
                int iw0 = ow * g.StrideW - g.PadLeft;
                (int kwFirst, int kwEnd) = TapRange(iw0, g.KernelW, g.DilationW, g.Width);
                sbyte* yp = y + (((long)b * g.OutputHeight + oh) * g.OutputWidth + ow) * c;
                sbyte* window = x + ((long)b * g.Height + ih0) * rowBytes + (long)iw0 * c;
                long khStep = g.DilationH * rowBytes;
                long kwStep = (long)g.DilationW * c;
                int ch = 0;
                for (; ch < c16; ch += 16)
                {
                    Vector128<sbyte> m = Vector128.Create(sbyte.MinValue);
                    for (int kh = khFirst; kh < khEnd; kh++)
                    for (int kw = kwFirst; kw < kwEnd; kw++)
                    {
                        m = Vector128.Max(m, Vector128.Load(window + kh * khStep + kw * kwStep + ch));
                    }

                    Vector128.Min(Vector128.Max(m, min), max).Store(yp + ch);
                }

                for (; ch < c8; ch += 8)
                {
                    Vector128<sbyte> m = Vector128.Create(sbyte.MinValue);
                    for (int kh = khFirst; kh < khEnd; kh++)
                    for (int kw = kwFirst; kw < kwEnd; kw++)
                    {
                        m = Vector128.Max(m, Vector128.CreateScalar(*(long*)(window + kh * khStep + kw * kwStep + ch)).AsSByte());
                    }

                    *(long*)(yp + ch) = Vector128.Min(Vector128.Max(m, min), max).AsInt64().ToScalar();
                }

                for (; ch < c; ch++)
                {
                    int m = sbyte.MinValue;
                    for (int kh = khFirst; kh < khEnd; kh++)
                    for (int kw = kwFirst; kw < kwEnd; kw++)
                    {
                        m = Math.Max(m, window[kh * khStep + kw * kwStep + ch]);
                    }

                    yp[ch] = (sbyte)Math.Clamp(m, g.Min, g.Max);
                }
            }
        }
    }

    /// <summary>A 2×2 window without dilation whose every tap is in bounds (the usual CNN pooling).</summary>
    private static bool IsUnpadded2x2(in Pool2DInt8Geometry g)
        => g.KernelH == 2 && g.KernelW == 2 && g.DilationH == 1 && g.DilationW == 1 && g.PadTop == 0 && g.PadLeft == 0
            && (g.OutputHeight - 1) * g.StrideH + 2 <= g.Height && (g.OutputWidth - 1) * g.StrideW + 2 <= g.Width;

    /// <summary>
    /// The 2×2 in-bounds case with channels a multiple of 8: four loads and three maxima per block, no tap-range
    /// search or window loops per pixel (which cost more than the maxima on the digits model's 8-channel pooling).
    /// </summary>
    private static void Max2x2(in Pool2DInt8Geometry g, sbyte* x, sbyte* y, Vector128<sbyte> min, Vector128<sbyte> max)
    {
        int c = g.Channels;
        long rowBytes = (long)g.Width * c;
        long pixelStep = (long)g.StrideW * c;
        for (int b = 0; b < g.Batch; b++)
        for (int oh = 0; oh < g.OutputHeight; oh++)
        {
            sbyte* top = x + ((long)b * g.Height + (long)oh * g.StrideH) * rowBytes;
            sbyte* yp = y + ((long)b * g.OutputHeight + oh) * g.OutputWidth * c;
            for (int ow = 0; ow < g.OutputWidth; ow++, top += pixelStep, yp += c)
            {
                sbyte* bottom = top + rowBytes;
                int ch = 0;
                for (; ch <= c - 16; ch += 16)
                {
                    Vector128<sbyte> m = Vector128.Max(Vector128.Max(Vector128.Load(top + ch), Vector128.Load(top + c + ch)),
                        Vector128.Max(Vector128.Load(bottom + ch), Vector128.Load(bottom + c + ch)));
                    Vector128.Min(Vector128.Max(m, min), max).Store(yp + ch);
                }

                if (ch < c)
                {
                    Vector128<sbyte> m = Vector128.Max(Vector128.Max(Load8(top + ch), Load8(top + c + ch)), Vector128.Max(Load8(bottom + ch), Load8(bottom + c + ch)));
                    *(long*)(yp + ch) = Vector128.Min(Vector128.Max(m, min), max).AsInt64().ToScalar();
                }
            }
        }
    }

    private static Vector128<sbyte> Load8(sbyte* p) => Vector128.CreateScalar(*(long*)p).AsSByte();

    /// <summary>The taps first..end−1 of a window starting at <paramref name="origin"/> that fall inside 0..size−1.</summary>
    private static (int First, int End) TapRange(int origin, int kernel, int dilation, int size)
    {
        int first = 0;
        while (first < kernel && origin + first * dilation < 0)
        {
            first++;
        }

        int end = kernel;
        while (end > first && origin + (end - 1) * dilation >= size)
        {
            end--;
        }

        return (first, end);
    }
}

/// <summary>
/// Int8 average pooling as TFLite's reference: the sum of the window's raw values divided by the count, rounded half
/// away from zero, clamped; the count is the in-bounds taps, or the whole window when CountIncludePad (padded taps
/// then add the zero point, the quantized 0.0). Same quantization in and out.
/// </summary>
public unsafe struct AveragePool2DInt8Kernel : IKernel<AveragePool2DInt8Kernel>
{
    private TensorBuffer _input;
    private TensorBuffer _output;
    private Pool2DInt8Geometry _g;
    private int[] _sums;
    private bool _vector;

    public static OpCode OpCode => OpCode.AveragePool2D;

    public static DataType InputType => DataType.Int8;

    public static AveragePool2DInt8Kernel Prepare(ref KernelContext context)
    {
        Pool2DInt8Geometry g = Pool2DInt8Geometry.Read(ref context);
        return new()
        {
            _g = g, _input = context.InputBuffer(0), _output = context.OutputBuffer(0), _sums = context.AllocatePersistent<int>(g.Channels),
            _vector = context.Path != KernelPath.Scalar,
        };
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        Pool2DInt8Geometry g = _g;
        sbyte* x = (sbyte*)_input.Pointer;
        sbyte* y = (sbyte*)_output.Pointer;
        int c = g.Channels;
        Span<int> sums = _sums;
        for (int b = 0; b < g.Batch; b++)
        for (int oh = 0; oh < g.OutputHeight; oh++)
        for (int ow = 0; ow < g.OutputWidth; ow++)
        {
            sums.Clear();
            int count = 0;
            for (int kh = 0; kh < g.KernelH; kh++)
            {
                int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                if ((uint)ih >= (uint)g.Height)
                {
                    continue;
                }

                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    int iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                    if ((uint)iw >= (uint)g.Width)
                    {
                        continue;
                    }

                    count++;
                    sbyte* xp = x + (((long)b * g.Height + ih) * g.Width + iw) * c;
                    fixed (int* s = sums)
                    {
                        ChannelSums.Add(xp, s, c, _vector);
                    }
                }
            }

            int padded = 0;
            if (g.CountIncludePad)
            {
                // Every tap inside the padded extent counts; a ceil_mode window's overhang past it does not.
                int window = PoolGeometry.Valid((long)oh * g.StrideH - g.PadTop, g.KernelH, g.DilationH, -g.PadTop, g.Height + (long)g.PadBottom).Count
                    * PoolGeometry.Valid((long)ow * g.StrideW - g.PadLeft, g.KernelW, g.DilationW, -g.PadLeft, g.Width + (long)g.PadRight).Count;
                padded = window - count;
                count = window;
            }

            sbyte* yp = y + (((long)b * g.OutputHeight + oh) * g.OutputWidth + ow) * c;
            for (int ch = 0; ch < c; ch++)
            {
                int acc = sums[ch] + padded * g.ZeroPoint;
                int avg = count == 0 ? g.ZeroPoint : acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                yp[ch] = (sbyte)Math.Clamp(avg, g.Min, g.Max);
            }
        }
    }
}
