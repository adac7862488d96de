namespace EdgeInfer.Format;

/// <summary>
/// The operators a .eim graph can hold. The numbers are stored in the file: append only, never renumber.
/// Layout-sensitive operators (convolution, pooling) work on channels-last tensors (NHWC; a 1-D signal is
/// N,1,W,C); the converter rewrites channels-first graphs before emitting them.
/// </summary>
public enum OpCode : ushort
{
    /// <summary>Y[M,N] = X[M,K]·W[N,K]ᵀ + B[N], clamped. X may have any rank whose trailing size is K.</summary>
    FullyConnected = 1,
    /// <summary>NHWC convolution, weights [Cout, KH, KW, Cin/groups], optional bias [Cout], clamped. Depthwise is groups == Cin.</summary>
    Conv2D = 2,
    MaxPool2D = 3,
    AveragePool2D = 4,
    /// <summary>NHWC [N,H,W,C] → [N,1,1,C] mean over H and W.</summary>
    GlobalAveragePool = 5,
    /// <summary>Elementwise with NumPy broadcasting, clamped.</summary>
    Add = 6,
    Sub = 7,
    Mul = 8,
    Div = 9,
    Relu = 10,
    Clip = 11,
    LeakyRelu = 12,
    Sigmoid = 13,
    Tanh = 14,
    HardSigmoid = 15,
    HardSwish = 16,
    Softmax = 17,
    Concat = 18,
    /// <summary>Copies the input into an output of the same element count; the output record holds the new shape.</summary>
    Reshape = 19,
    Transpose = 20,
    /// <summary>Batched matrix product of two activations, [..., M, K] × [..., K, N] with broadcast batch dimensions.</summary>
    MatMul = 21,
    /// <summary>float32 → int8/uint8 with the output tensor's quantization.</summary>
    Quantize = 22,
    /// <summary>int8/uint8 → float32 with the input tensor's quantization.</summary>
    Dequantize = 23,
    /// <summary>y = x · sigmoid(x) (SiLU, Swish with β = 1): EfficientNet's and YOLO's activation.</summary>
    Swish = 24,
    /// <summary>
    /// A strided box of the input: output element [i₀, …] is input element [Begin₀ + i₀·Step₀, …]; the output record
    /// holds the box's size. Steps ≥ 1. Split, Crop and the gate slices of recurrent cells are Slices.
    /// </summary>
    Slice = 25,
    /// <summary>y = |x| (the sign bit cleared: −0 → +0, NaN stays NaN).</summary>
    Abs = 26,
    /// <summary>y = √x, IEEE (correctly rounded; x &lt; 0 gives NaN, −0 gives −0).</summary>
    Sqrt = 27,
    /// <summary>y = eˣ (EdgeInfer's deterministic exp, the one Softmax and Sigmoid use).</summary>
    Exp = 28,
    /// <summary>y = Scale · (x &gt; 0 ? x : Alpha · (eˣ − 1)): ONNX Elu (Scale 1) and Selu (Scale = γ).</summary>
    Elu = 29,
    /// <summary>
    /// An LSTM over a whole sequence, its input projection already done. Input 0: the projected gates P, float32
    /// [T, N, 4H] (<see cref="RecurrentOptions.TimeAxis"/> 0) or [N, T, 4H] (1), gate blocks i, f, g, o, both biases
    /// already added; input 1: the recurrent weights R [4H, H], a constant or derived tensor. Output: the hidden state
    /// of every step, [T, N, H] or [N, T, H], in time order. Initial states are zero. Per step (first step: h = c = 0,
    /// so the product is skipped and c = i·g): z = P_t + R·h; i, f, o = gate(z); g = cell(z); c = f·c + i·g, clamped
    /// to ±CellClip when that is positive; h = o·output(c). Options: <see cref="RecurrentOptions"/>.
    /// </summary>
    Lstm = 30,
    /// <summary>
    /// A GRU over a whole sequence, its input projection already done. Input 0: P [T, N, 3H] or [N, T, 3H], gate
    /// blocks z, r, n, with the recurrent biases of z and r (and of n, unless reset-after) already added; input 1: R
    /// [3H, H], constant or derived; input 2 (reset-after only): the candidate's recurrent bias [H]. Output as
    /// <see cref="Lstm"/>. Per step (first step: h = 0): z, r = gate(P_t + R_zr·h); reset-after: n = candidate(P_n +
    /// r·(R_n·h + b)), otherwise n = candidate(P_n + R_n·(r·h)); h = n + z·(h − n) (first step: n − z·n).
    /// </summary>
    Gru = 31,
}

public static class OpCodes
{
    /// <summary>The highest opcode this build knows. Readers reject anything above it or unnamed below it.</summary>
    public const OpCode Max = OpCode.Gru;

    public static bool IsKnown(OpCode op) => op >= OpCode.FullyConnected && op <= Max;

    /// <summary>The exact options length, in bytes, that a node of this operator carries in format version 1.</summary>
    public static int OptionsSize(OpCode op) => op switch
    {
        OpCode.FullyConnected => ClampOptions.Size,
        OpCode.Conv2D => Conv2DOptions.Size,
        OpCode.MaxPool2D or OpCode.AveragePool2D => Pool2DOptions.Size,
        OpCode.Add or OpCode.Sub or OpCode.Mul or OpCode.Div => ClampOptions.Size,
        OpCode.Clip => ClampOptions.Size,
        OpCode.LeakyRelu => LeakyReluOptions.Size,
        OpCode.HardSigmoid => HardSigmoidOptions.Size,
        OpCode.Softmax => SoftmaxOptions.Size,
        OpCode.Concat => ConcatOptions.Size,
        OpCode.Transpose => TransposeOptions.Size,
        OpCode.Slice => SliceOptions.Size,
        OpCode.Elu => EluOptions.Size,
        OpCode.Lstm or OpCode.Gru => RecurrentOptions.Size,
        OpCode.MatMul => ClampOptions.Size,
        _ => 0,
    };
}
