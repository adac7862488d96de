using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// NHWC convolution: X [N,H,W,Cin], W [Cout,KH,KW,Cin/groups] (OHWI), optional B [Cout], Y [N,OH,OW,Cout],
/// Y = clamp(conv(X, W) + B).
/// <para><b>What is computed.</b> Output (n, oy, ox, co) in group g = co / (Cout/groups) is one sequential chain of
/// fused multiply-adds from zero over its KH·KW·Cin/g terms in <b>(ci, ky, kx) order</b> — input channel outermost,
/// the order of the ONNX/PyTorch OIHW weight layout and of the definition of the operator — where a tap outside
/// the input contributes a zero term (adding fma(0, w) to a chain started at +0 changes nothing, so the zero terms
/// may equally be skipped); then + B[co] (one rounding); then the clamp. Every strategy below evaluates exactly
/// that chain, so they agree bit for bit with each other, with FullyConnected and MatMul on the same numbers
/// (<see cref="FloatGemm"/>), and across kernel paths (the vectors run across output channels, one chain per lane).
/// ONNX Runtime's CPU convolution (im2col in NCHW order, then MLAS SGEMM, then the bias) computes the same chain
/// while K fits in one of its K blocks; docs/kernels.md has the details.</para>
/// <para><b>Strategies</b> (chosen in Prepare from the geometry):</para>
/// <list type="bullet">
/// <item>pointwise (1×1, no padding, any stride or groups): the input pixels already are the patch rows, so the
/// convolution is a matrix product over the input in place (<see cref="FloatGemm"/>), no copy;</item>
/// <item>depthwise (groups == Cin &gt; 1, any multiplier): vectorized across channels, one chain per lane over the
/// (ky, kx) taps (<see cref="FloatColumns.ChainTaps{T}"/>), over per-pixel tap pointers in which padded taps point
/// at a row of zeros; weights are repacked tap-major at load;</item>
/// <item>everything else: im2col of <see cref="PatchRows"/> output pixels at a time into scratch, each patch row
/// copied in the input's (ky, kx, ci) layout and walked in (ci, ky, kx) order by the matrix product with the group's
/// packed weights. A block of 16 patches keeps
/// scratch small (16·K floats) and in L1; docs/kernels.md records the measurement behind copying rather than
/// indexing the input directly.</item>
/// </list>
/// <para>Pointwise and im2col weights are packed into <see cref="FloatGemm"/> panels in (ci, ky, kx) term order,
/// once at load when they are constants, otherwise into scratch on each invoke.</para>
/// </summary>
public unsafe partial struct Conv2DKernel : IKernel<Conv2DKernel>
{
    /// <summary>Output pixels whose patches are gathered and multiplied together.</summary>
    private const int PatchRows = 16;

    private float* _input;
    private float* _weights;
    private float* _bias;
    private float* _output;
    private int _batch;
    private int _height;
    private int _width;
    private int _inChannels;
    private int _outHeight;
    private int _outWidth;
    private int _outChannels;
    private int _kernelHeight;
    private int _kernelWidth;
    private int _strideH;
    private int _strideW;
    private int _dilationH;
    private int _dilationW;
    private int _padTop;
    private int _padLeft;
    private int _groups;
    private int _groupInChannels;
    private int _groupOutChannels;
    private int _patchLength;
    private float _min;
    private float _max;
    private KernelPath _path;
    private Strategy _strategy;
    private float[]? _packed;     // pointwise/im2col weights in FloatGemm panels, per group (pinned), or null
    private long _packedGroup;    // floats of one group's panels
    private int[]? _termOrder;    // im2col: term t = (ci, ky, kx) → its position (ky·KW + kx)·Cin/g + ci in a patch row (pinned)
    private DepthwiseState _depthwise;

    private enum Strategy
    {
        Pointwise,
        Depthwise,
        Im2Col,
    }

    public static OpCode OpCode => OpCode.Conv2D;

    public static Conv2DKernel Prepare(ref KernelContext context)
    {
        context.RequireInputs(2, 3);
        context.RequireOutputs(1);
        TensorInfo input = context.Input(0);
        TensorInfo weights = context.Input(1);
        TensorInfo output = context.Output(0);
        context.RequireType(input, DataType.Float32, "input");
        context.RequireType(weights, DataType.Float32, "weights");
        context.RequireType(output, DataType.Float32, "output");
        context.Require(input.Rank == 4, $"input {input} must be rank 4 [N,H,W,C]");
        context.Require(weights.Rank == 4, $"weights {weights} must be rank 4 [Cout,KH,KW,Cin/groups]");
        context.Require(output.Rank == 4, $"output {output} must be rank 4 [N,OH,OW,Cout]");
        Conv2DOptions o = Conv2DOptions.Read(context.Options);
        context.Require(o.StrideH >= 1 && o.StrideW >= 1, $"strides {o.StrideH}×{o.StrideW} must be positive");
        context.Require(o.DilationH >= 1 && o.DilationW >= 1, $"dilations {o.DilationH}×{o.DilationW} must be positive");
        context.Require(o.PadTop >= 0 && o.PadLeft >= 0 && o.PadBottom >= 0 && o.PadRight >= 0,
            $"pads (top {o.PadTop}, left {o.PadLeft}, bottom {o.PadBottom}, right {o.PadRight}) must not be negative");
        ClampOptions clamp = FusedClamp.Validate(ref context, o.Clamp);

        int batch = input.Dim(0), height = input.Dim(1), width = input.Dim(2), inChannels = input.Dim(3);
        int outChannels = weights.Dim(0), kernelHeight = weights.Dim(1), kernelWidth = weights.Dim(2);
        context.Require(o.Groups >= 1 && inChannels % o.Groups == 0 && outChannels % o.Groups == 0,
            $"groups {o.Groups} must divide the {inChannels} input and {outChannels} output channels");
        int groupInChannels = inChannels / o.Groups;
        context.Require(weights.Dim(3) == groupInChannels, $"weights {weights} should have {groupInChannels} input channels per group (Cin {inChannels} / groups {o.Groups})");
        long outHeight = OutputSize(height, o.PadTop, o.PadBottom, kernelHeight, o.StrideH, o.DilationH);
        long outWidth = OutputSize(width, o.PadLeft, o.PadRight, kernelWidth, o.StrideW, o.DilationW);
        context.Require(outHeight >= 1 && outWidth >= 1, $"the {kernelHeight}×{kernelWidth} kernel (dilation {o.DilationH}×{o.DilationW}) does not fit the padded {height}×{width} input");
        context.RequireShape(output, [batch, (int)outHeight, (int)outWidth, outChannels], "output");
        bool constantBias = true;
        if (context.HasInput(2))
        {
            TensorInfo bias = context.Input(2);
            context.RequireType(bias, DataType.Float32, "bias");
            context.Require(bias.ElementCount == outChannels, $"bias {bias} should hold {outChannels} values");
            constantBias = KernelContext.IsFixedAtPrepare(bias);
        }

        var kernel = new Conv2DKernel
        {
            _input = (float*)context.InputBuffer(0).Pointer,
            _weights = (float*)context.InputBuffer(1).Pointer,
            _bias = (float*)context.InputBuffer(2).Pointer,
            _output = (float*)context.OutputBuffer(0).Pointer,
            _batch = batch,
            _height = height,
            _width = width,
            _inChannels = inChannels,
            _outHeight = (int)outHeight,
            _outWidth = (int)outWidth,
            _outChannels = outChannels,
            _kernelHeight = kernelHeight,
            _kernelWidth = kernelWidth,
            _strideH = o.StrideH,
            _strideW = o.StrideW,
            _dilationH = o.DilationH,
            _dilationW = o.DilationW,
            _padTop = o.PadTop,
            _padLeft = o.PadLeft,
            _groups = o.Groups,
            _groupInChannels = groupInChannels,
            _groupOutChannels = outChannels / o.Groups,
            _patchLength = kernelHeight * kernelWidth * groupInChannels,
            _min = clamp.Min,
            _max = clamp.Max,
            _path = context.Path,
        };

        if (kernelHeight == 1 && kernelWidth == 1 && o.PadTop == 0 && o.PadLeft == 0 && o.PadBottom == 0 && o.PadRight == 0)
        {
            kernel._strategy = Strategy.Pointwise;
            kernel.PrepareGemmWeights(ref context, KernelContext.IsFixedAtPrepare(weights));
        }
        else if (o.Groups == inChannels && inChannels > 1)
        {
            kernel._strategy = Strategy.Depthwise;
            kernel.PrepareDepthwise(ref context, KernelContext.IsFixedAtPrepare(weights) && constantBias);
        }
        else
        {
            kernel._strategy = Strategy.Im2Col;
            context.RequestScratch((long)PatchRows * kernel._patchLength * sizeof(float));
            kernel._termOrder = context.AllocatePersistent<int>(kernel._patchLength);
            for (int ci = 0, t = 0; ci < groupInChannels; ci++)
            {
                for (int ky = 0; ky < kernelHeight; ky++)
                {
                    for (int kx = 0; kx < kernelWidth; kx++)
                    {
                        kernel._termOrder[t++] = (ky * kernelWidth + kx) * groupInChannels + ci;
                    }
                }
            }

            kernel.PrepareGemmWeights(ref context, KernelContext.IsFixedAtPrepare(weights));
        }

        return kernel;
    }

    /// <summary>floor((size + padBefore + padAfter − dilation·(kernel − 1) − 1) / stride) + 1, in 64 bits.</summary>
    internal static long OutputSize(int size, int padBefore, int padAfter, int kernel, int stride, int dilation)
    {
        long span = (long)size + padBefore + padAfter - (long)dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : span / stride + 1;
    }

    /// <summary>
    /// Sizes (and, for constant weights, fills) the packed weights of the pointwise and im2col strategies. Constant
    /// weights are packed here; otherwise scratch past the strategy's own (the patches) holds them per invoke.
    /// </summary>
    private void PrepareGemmWeights(ref KernelContext context, bool packAtLoad)
    {
        _packedGroup = FloatGemm.PackedLength(_groupOutChannels, _patchLength);
        long length = _packedGroup * _groups;
        if (packAtLoad)
        {
            _packed = context.AllocatePersistent<float>(checked((int)length));
            fixed (float* packed = _packed)
            {
                PackGemmWeights(packed);
            }
        }
        else
        {
            context.RequestScratch(GemmScratchOffset + length * sizeof(float));
        }
    }

    /// <summary>Bytes of scratch before the per-invoke packed weights: the im2col patch block.</summary>
    private readonly long GemmScratchOffset => _strategy == Strategy.Im2Col ? AlignUp((long)PatchRows * _patchLength * sizeof(float)) : 0;

    /// <summary>W[co][ky][kx][ci] (OHWI) → group g's panels, term t = (ci·KH + ky)·KW + kx.</summary>
    private readonly void PackGemmWeights(float* packed)
    {
        int k = _patchLength, cg = _groupInChannels, kh = _kernelHeight, kw = _kernelWidth;
        for (int g = 0; g < _groups; g++)
        {
            float* groupPacked = packed + g * _packedGroup;
            new Span<float>(groupPacked, checked((int)_packedGroup)).Clear();
            for (int j = 0; j < _groupOutChannels; j++)
            {
                float* row = _weights + (long)(g * _groupOutChannels + j) * k;
                for (int ci = 0; ci < cg; ci++)
                {
                    for (int ky = 0; ky < kh; ky++)
                    {
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int t = (ci * kh + ky) * kw + kx;
                            groupPacked[FloatGemm.PackedIndex(j, t, k)] = row[(ky * kw + kx) * cg + ci];
                        }
                    }
                }
            }
        }
    }

    public void Invoke(Span<byte> scratch)
    {
        byte* scratchBase = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(scratch));
        if (_strategy == Strategy.Depthwise)
        {
            InvokeDepthwise(scratchBase);
            return;
        }

        float* packed;
        if (_packed is { } atLoad)
        {
            packed = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(atLoad)); // pinned at allocation
        }
        else
        {
            packed = (float*)(scratchBase + GemmScratchOffset);
            PackGemmWeights(packed);
        }

        if (_strategy == Strategy.Pointwise)
        {
            InvokePointwise(packed);
        }
        else
        {
            InvokeIm2Col((float*)scratchBase, packed);
        }
    }
}
