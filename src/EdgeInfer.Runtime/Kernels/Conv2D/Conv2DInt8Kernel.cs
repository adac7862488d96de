using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 NHWC convolution: y = clamp(zy + MBQM(Σ (x − zx)·w + bias, M_c, shift_c)), weights symmetric per tensor or
/// per output channel. Three strategies, chosen at Prepare:
/// <list type="bullet">
/// <item>pointwise (1×1, stride 1, no padding, one group): the input is already the GEMM's X [N·H·W, Cin];</item>
/// <item>depthwise (groups = Cin): <see cref="DepthwiseConv2DInt8"/>, direct, vectorised over channels;</item>
/// <item>otherwise im2col per group: a chunk of output pixels becomes rows of [KH·KW·Cin/groups] int8 values in
/// scratch (padding written as zx, which the folded bias cancels), then <see cref="Int8Gemm"/> into the group's
/// output channels.</item>
/// </list>
/// Weights stored block-sparse (one group, fewer than four output pixels) take the pointwise or im2col route through
/// <see cref="SparseInt8Gemm"/>.
/// </summary>
public unsafe partial struct Conv2DInt8Kernel : IKernel<Conv2DInt8Kernel>
{
    private const int Im2ColBudget = 32 * 1024;

    private TensorBuffer _input;
    private TensorBuffer _output;
    private ConvGeometry _g;
    private int _mode; // 0 pointwise, 1 depthwise, 2 im2col, 3 int16 strips (Conv2DInt8Kernel.Strips.cs)
    private int _paddedHeight;
    private int _paddedWidth;
    private int _stripOffset;
    private int _inputZero;
    private int _depth;
    private int _chunkRows;
    private int _gemmScratchOffset;
    private Int8Gemm[] _gemms;
    private SparseInt8Gemm _sparse;
    private bool _isSparse;
    private DepthwiseConv2DInt8 _depthwise;

    public static OpCode OpCode => OpCode.Conv2D;

    public static DataType InputType => DataType.Int8;

    public static Conv2DInt8Kernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 3);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo weights = context.Input(1);
        TensorInfo output = context.Output(0);
        Conv2DOptions options = Conv2DOptions.Read(context.Options);
        context.Require(!(options.Clamp.Min > options.Clamp.Max), $"clamp [{options.Clamp.Min}, {options.Clamp.Max}] is empty");
        ConvGeometry g = ConvGeometry.Read(ref context, input, weights, output, options);
        (float inputScale, int inputZero) = QuantizedTensors.PerTensor(ref context, input, "input");
        (float outputScale, int outputZero) = QuantizedTensors.PerTensor(ref context, output, "output");
        float[] weightScales = QuantizedTensors.SymmetricWeights(ref context, weights, g.OutputChannels, "weights");
        int* bias = QuantizedTensors.Bias(ref context, 2, g.OutputChannels);
        var kernel = new Conv2DInt8Kernel
        {
            _input = context.InputBuffer(0),
            _output = context.OutputBuffer(0),
            _g = g,
            _inputZero = inputZero,
            _gemms = [],
        };

        if (g.IsDepthwise)
        {
            kernel._mode = 1;
            kernel._depthwise = DepthwiseConv2DInt8.Create(ref context, g, (sbyte*)context.InputBuffer(1).Pointer, bias, inputScale, inputZero, weightScales, outputScale, outputZero, options.Clamp);
            return kernel;
        }

        int groupIn = g.InputChannels / g.Groups;
        int groupOut = g.OutputChannels / g.Groups;
        int depth = g.KernelHeight * g.KernelWidth * groupIn;
        kernel._depth = depth;
        int gemmScratch = 0;
        if (g.Groups == 1 && SparseInt8Gemm.Serves(g.Batch * g.OutputHeight * g.OutputWidth)
            && context.SparseInput(1, SparseInt8Gemm.BlockWidth, out SparseMatrix sparse))
        {
            // Pruned weights stored as 16-wide blocks along [KH·KW·Cin], on fewer than four output pixels (a 1×1
            // convolution on one pixel: squeeze-and-excitation, a convolutional classifier): the sparse product
            // (same bytes as dense). On more pixels the blocks are expanded and the dense strategies run.
            kernel._sparse = SparseInt8Gemm.Create(ref context, sparse, bias, inputZero, inputScale, weightScales, outputScale, outputZero, options.Clamp);
            kernel._isSparse = true;
            gemmScratch = kernel._sparse.ScratchBytes;
        }

        // Dense weights (or sparse ones expanded here, once: InputBuffer expands on first use).
        sbyte* w = kernel._isSparse ? null : (sbyte*)context.InputBuffer(1).Pointer;
        kernel._gemms = new Int8Gemm[kernel._isSparse ? 0 : g.Groups];
        for (int group = 0; group < kernel._gemms.Length; group++)
        {
            ReadOnlySpan<float> scales = weightScales.Length == 1 ? weightScales : weightScales.AsSpan(group * groupOut, groupOut);
            kernel._gemms[group] = Int8Gemm.Create(ref context, w + (long)group * groupOut * depth, groupOut, depth,
                bias == null ? null : bias + group * groupOut, inputZero, inputScale, scales, outputScale, outputZero, options.Clamp);
            gemmScratch = Math.Max(gemmScratch, kernel._gemms[group].ScratchBytes);
        }

        if (g.IsPointwise)
        {
            kernel._mode = 0;
            context.RequestScratch(gemmScratch);
            return kernel;
        }

        if (g.Groups == 1 && !kernel._isSparse && kernel._gemms[0].HasAvx2Strips)
        {
            kernel.PrepareStrips(ref context);
            return kernel;
        }

        kernel._mode = 2;
        int pixels = g.OutputHeight * g.OutputWidth;
        kernel._chunkRows = Math.Min(pixels, Math.Max(4, Im2ColBudget / depth & ~3));
        kernel._gemmScratchOffset = (int)FormatConstants.AlignUp((long)kernel._chunkRows * depth);
        context.RequestScratch((long)kernel._gemmScratchOffset + gemmScratch);
        return kernel;
    }

    public readonly void Invoke(Span<byte> scratch)
    {
        sbyte* x = (sbyte*)_input.Pointer;
        sbyte* y = (sbyte*)_output.Pointer;
        ConvGeometry g = _g;
        if (_mode == 0)
        {
            if (_isSparse)
            {
                _sparse.Run(x, g.InputChannels, g.Batch * g.Height * g.Width, y, g.OutputChannels, scratch);
                return;
            }

            _gemms[0].Run(x, g.InputChannels, g.Batch * g.Height * g.Width, y, g.OutputChannels, scratch);
            return;
        }

        if (_mode == 1)
        {
            _depthwise.Run(x, y, scratch);
            return;
        }

        if (_mode == 3)
        {
            RunStrips(x, y, scratch);
            return;
        }

        int pixels = g.OutputHeight * g.OutputWidth;
        int groupOut = g.OutputChannels / g.Groups;
        Span<byte> gemmScratch = scratch[_gemmScratchOffset..];
        fixed (byte* columns = scratch)
        {
            for (int b = 0; b < g.Batch; b++)
            {
                for (int group = 0; group < g.Groups; group++)
                {
                    for (int r0 = 0; r0 < pixels; r0 += _chunkRows)
                    {
                        int rows = Math.Min(_chunkRows, pixels - r0);
                        Im2Col(x, b, group, r0, rows, (sbyte*)columns);
                        sbyte* yr = y + ((long)b * pixels + r0) * g.OutputChannels + group * groupOut;
                        if (_isSparse)
                        {
                            _sparse.Run((sbyte*)columns, _depth, rows, yr, g.OutputChannels, gemmScratch);
                        }
                        else
                        {
                            _gemms[group].Run((sbyte*)columns, _depth, rows, yr, g.OutputChannels, gemmScratch);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Rows r0..r0+rows−1 (output pixels of image b) as [KH][KW][Cin/groups] patches; out-of-bounds taps read zx.</summary>
    private readonly void Im2Col(sbyte* x, int b, int group, int r0, int rows, sbyte* columns)
    {
        ConvGeometry g = _g;
        int groupIn = g.InputChannels / g.Groups;
        sbyte* xb = x + (long)b * g.Height * g.Width * g.InputChannels + group * groupIn;
        sbyte zero = (sbyte)_inputZero;
        for (int r = 0; r < rows; r++)
        {
            int pixel = r0 + r;
            int oh = pixel / g.OutputWidth;
            int ow = pixel - oh * g.OutputWidth;
            sbyte* dst = columns + (long)r * _depth;
            for (int kh = 0; kh < g.KernelHeight; kh++)
            {
                int ih = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                if ((uint)ih >= (uint)g.Height)
                {
                    new Span<sbyte>(dst, g.KernelWidth * groupIn).Fill(zero);
                    dst += g.KernelWidth * groupIn;
                    continue;
                }

                sbyte* row = xb + (long)ih * g.Width * g.InputChannels;
                int iwFirst = ow * g.StrideW - g.PadLeft;
                int iwLast = iwFirst + (g.KernelWidth - 1) * g.DilationW;
                if (g.Groups == 1 && g.DilationW == 1 && iwFirst >= 0 && iwLast < g.Width)
                {
                    // The whole kernel row is one contiguous run of the input row.
                    SmallCopy(row + (long)iwFirst * g.InputChannels, dst, g.KernelWidth * groupIn);
                    dst += g.KernelWidth * groupIn;
                    continue;
                }

                for (int kw = 0; kw < g.KernelWidth; kw++)
                {
                    int iw = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                    if ((uint)iw >= (uint)g.Width)
                    {
                        new Span<sbyte>(dst, groupIn).Fill(zero);
                    }
                    else
                    {
                        SmallCopy(row + (long)iw * g.InputChannels, dst, groupIn);
                    }

                    dst += groupIn;
                }
            }
        }
    }

    /// <summary>Copies a short run (im2col copies a few to a few hundred bytes at a time) without a call into memmove.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void SmallCopy(sbyte* source, sbyte* destination, int count)
    {
        if (count >= 16)
        {
            int i = 0;
            for (; i <= count - 16; i += 16)
            {
                System.Runtime.Intrinsics.Vector128.Store(System.Runtime.Intrinsics.Vector128.Load(source + i), destination + i);
            }

            if (i < count)
            {
                System.Runtime.Intrinsics.Vector128.Store(System.Runtime.Intrinsics.Vector128.Load(source + count - 16), destination + count - 16);
            }
        }
        else if (count >= 8)
        {
            *(long*)destination = *(long*)source;
            *(long*)(destination + count - 8) = *(long*)(source + count - 8);
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                destination[i] = source[i];
            }
        }
    }
}
