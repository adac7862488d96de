using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// NHWC convolution: X [N,H,W,Cin], W [Cout,KH,KW,Cin/groups] (OHWI), optional B [Cout], Y [N,OH,OW,Cout],
/// Y = clamp(conv(X, W) + B).
/// <para><b>What is computed.</b> Output (n, oy, ox, co) in group g = co / (Cout/groups) is the canonical
/// <see cref="FloatDot"/> dot product of its weight row W[co] (KH·KW·Cin/g values, in (ky, kx, ci) order) with the
/// input patch in the same order, where a tap outside the input contributes a zero term; then + B[co]; then the
/// clamp. Every strategy below evaluates exactly those terms in exactly that order, so they agree bit for bit with
/// each other, with FullyConnected on the same numbers, and across kernel paths.</para>
/// <para><b>Strategies</b> (chosen in Prepare from the geometry):</para>
/// <list type="bullet">
/// <item>pointwise (1×1, no padding, any stride or groups): the input pixels already are the patch rows, so the
/// convolution is a matrix product over the input in place (<see cref="FloatGemm"/>), no copy;</item>
/// <item>depthwise (groups == Cin &gt; 1, any multiplier): vectorized across channels with the eight canonical
/// accumulators per lane (<see cref="FloatColumns.DotTaps{T}"/>), over per-pixel tap pointers in which padded taps
/// point at a row of zeros; weights are repacked tap-major at load;</item>
/// <item>everything else: im2col of <see cref="PatchRows"/> output pixels at a time into scratch, then the matrix
/// product of the patches with the weight rows. A block of 16 patches keeps scratch small (16·K floats) and in
/// L1; docs/kernels.md records the measurement behind copying rather than indexing the input directly.</item>
/// </list>
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
            constantBias = bias.Storage == TensorStorage.Constant;
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
        }
        else if (o.Groups == inChannels && inChannels > 1)
        {
            kernel._strategy = Strategy.Depthwise;
            kernel.PrepareDepthwise(ref context, weights.Storage == TensorStorage.Constant && constantBias);
        }
        else
        {
            kernel._strategy = Strategy.Im2Col;
            context.RequestScratch((long)PatchRows * kernel._patchLength * sizeof(float));
        }

        return kernel;
    }

    /// <summary>floor((size + padBefore + padAfter − dilation·(kernel − 1) − 1) / stride) + 1, in 64 bits.</summary>
    internal static long OutputSize(int size, int padBefore, int padAfter, int kernel, int stride, int dilation)
    {
        long span = (long)size + padBefore + padAfter - (long)dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : span / stride + 1;
    }

    public void Invoke(Span<byte> scratch)
    {
        byte* scratchBase = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(scratch));
        switch (_strategy)
        {
            case Strategy.Pointwise:
                InvokePointwise();
                break;
            case Strategy.Depthwise:
                InvokeDepthwise(scratchBase);
                break;
            default:
                InvokeIm2Col((float*)scratchBase);
                break;
        }
    }
}
