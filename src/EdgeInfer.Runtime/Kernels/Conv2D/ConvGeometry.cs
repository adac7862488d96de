namespace EdgeInfer.Runtime.Kernels;

/// <summary>NHWC convolution geometry, validated once at Prepare (shared by the int8 convolution paths).</summary>
internal struct ConvGeometry
{
    public int Batch, Height, Width, InputChannels;
    public int OutputHeight, OutputWidth, OutputChannels;
    public int KernelHeight, KernelWidth, StrideH, StrideW, DilationH, DilationW, PadTop, PadLeft, Groups;

    /// <summary>Reads and checks input [N,H,W,Cin], weights [Cout,KH,KW,Cin/groups] and output [N,Ho,Wo,Cout] against the options.</summary>
    public static ConvGeometry Read(ref KernelContext context, TensorInfo input, TensorInfo weights, TensorInfo output, Conv2DOptions o)
    {
        context.Require(input.Rank == 4, $"input {input} must be NHWC (rank 4)");
        context.Require(weights.Rank == 4, $"weights {weights} must be [Cout, KH, KW, Cin/groups]");
        context.Require(output.Rank == 4, $"output {output} must be NHWC (rank 4)");
        context.Require(o.StrideH >= 1 && o.StrideW >= 1 && o.DilationH >= 1 && o.DilationW >= 1, "strides and dilations must be at least 1");
        context.Require(o.PadTop >= 0 && o.PadLeft >= 0 && o.PadBottom >= 0 && o.PadRight >= 0, "pads must not be negative");
        var g = new ConvGeometry
        {
            Batch = input.Dim(0), Height = input.Dim(1), Width = input.Dim(2), InputChannels = input.Dim(3),
            OutputChannels = weights.Dim(0), KernelHeight = weights.Dim(1), KernelWidth = weights.Dim(2),
            StrideH = o.StrideH, StrideW = o.StrideW, DilationH = o.DilationH, DilationW = o.DilationW,
            PadTop = o.PadTop, PadLeft = o.PadLeft, Groups = o.Groups,
        };
        context.Require(g.Groups >= 1 && g.InputChannels % g.Groups == 0 && g.OutputChannels % g.Groups == 0,
            $"groups {g.Groups} must divide input channels {g.InputChannels} and output channels {g.OutputChannels}");
        context.Require(weights.Dim(3) == g.InputChannels / g.Groups, $"weights {weights} should have {g.InputChannels / g.Groups} input channels per group");
        long spanH = (long)g.DilationH * (g.KernelHeight - 1) + 1;
        long spanW = (long)g.DilationW * (g.KernelWidth - 1) + 1;
        long outH = (g.Height + (long)o.PadTop + o.PadBottom - spanH) / g.StrideH + 1;
        long outW = (g.Width + (long)o.PadLeft + o.PadRight - spanW) / g.StrideW + 1;
        context.Require(outH >= 1 && outW >= 1, $"the kernel is larger than the padded input {input}");
        g.OutputHeight = (int)outH;
        g.OutputWidth = (int)outW;
        context.Require(output.Dim(0) == g.Batch && output.Dim(1) == outH && output.Dim(2) == outW && output.Dim(3) == g.OutputChannels,
            $"output {output} should be [{g.Batch},{outH},{outW},{g.OutputChannels}]");
        return g;
    }

    public readonly bool IsDepthwise => Groups > 1 && Groups == InputChannels;

    public readonly bool IsPointwise => KernelHeight == 1 && KernelWidth == 1 && StrideH == 1 && StrideW == 1 && PadTop == 0 && PadLeft == 0
        && OutputHeight == Height && OutputWidth == Width && Groups == 1;
}
