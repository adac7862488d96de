using System.Buffers.Binary;

namespace EdgeInfer.Format;

// Each operator's options are a fixed run of little-endian 4-byte fields. The writer and the reader share these
// structs, so the file layout of an options record is defined in exactly one place. Fields are appended, never
// reordered; a reader checks the exact length for the format version (OpCodes.OptionsSize).

/// <summary>Options a node carries in the OPTS section.</summary>
public interface IOpOptions
{
    /// <summary>Bytes this record occupies.</summary>
    int ByteSize { get; }
    void Write(Span<byte> destination);
}

internal static class OptionFields
{
    public static int I32(ReadOnlySpan<byte> s, int field) => BinaryPrimitives.ReadInt32LittleEndian(s[(field * 4)..]);
    public static float F32(ReadOnlySpan<byte> s, int field) => BinaryPrimitives.ReadSingleLittleEndian(s[(field * 4)..]);
    public static void I32(Span<byte> d, int field, int value) => BinaryPrimitives.WriteInt32LittleEndian(d[(field * 4)..], value);
    public static void F32(Span<byte> d, int field, float value) => BinaryPrimitives.WriteSingleLittleEndian(d[(field * 4)..], value);

    public static void CheckLength(ReadOnlySpan<byte> s, int size)
    {
        if (s.Length != size)
        {
            throw new ArgumentException($"options record is {s.Length} bytes, expected {size}");
        }
    }
}

/// <summary>An output clamp [Min, Max]: fused ReLU is [0, +∞), ReLU6 is [0, 6], none is (−∞, +∞).</summary>
public readonly record struct ClampOptions(float Min, float Max) : IOpOptions
{
    public const int Size = 8;
    public static ClampOptions None => new(float.NegativeInfinity, float.PositiveInfinity);
    public static ClampOptions Relu => new(0f, float.PositiveInfinity);
    public bool IsNone => float.IsNegativeInfinity(Min) && float.IsPositiveInfinity(Max);
    public int ByteSize => Size;

    public static ClampOptions Read(ReadOnlySpan<byte> s)
    {
        OptionFields.CheckLength(s, Size);
        return new(OptionFields.F32(s, 0), OptionFields.F32(s, 1));
    }

    public void Write(Span<byte> d)
    {
        OptionFields.F32(d, 0, Min);
        OptionFields.F32(d, 1, Max);
    }
}

/// <summary>NHWC convolution geometry. Padding is explicit per edge (the converter resolves auto_pad).</summary>
public readonly record struct Conv2DOptions(
    int StrideH, int StrideW, int DilationH, int DilationW,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int Groups, ClampOptions Clamp) : IOpOptions
{
    public const int Size = 44;
    public int ByteSize => Size;

    public static Conv2DOptions Read(ReadOnlySpan<byte> s)
    {
        OptionFields.CheckLength(s, Size);
        return new(OptionFields.I32(s, 0), OptionFields.I32(s, 1), OptionFields.I32(s, 2), OptionFields.I32(s, 3),
            OptionFields.I32(s, 4), OptionFields.I32(s, 5), OptionFields.I32(s, 6), OptionFields.I32(s, 7),
            OptionFields.I32(s, 8), new ClampOptions(OptionFields.F32(s, 9), OptionFields.F32(s, 10)));
    }

    public void Write(Span<byte> d)
    {
        OptionFields.I32(d, 0, StrideH); OptionFields.I32(d, 1, StrideW);
        OptionFields.I32(d, 2, DilationH); OptionFields.I32(d, 3, DilationW);
        OptionFields.I32(d, 4, PadTop); OptionFields.I32(d, 5, PadLeft);
        OptionFields.I32(d, 6, PadBottom); OptionFields.I32(d, 7, PadRight);
        OptionFields.I32(d, 8, Groups);
        OptionFields.F32(d, 9, Clamp.Min); OptionFields.F32(d, 10, Clamp.Max);
    }
}

/// <summary>NHWC pooling window. Windows are clipped to the input; <see cref="CountIncludePad"/> divides averages by the full window.</summary>
public readonly record struct Pool2DOptions(
    int KernelH, int KernelW, int StrideH, int StrideW, int DilationH, int DilationW,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    bool CountIncludePad, ClampOptions Clamp) : IOpOptions
{
    public const int Size = 52;
    public int ByteSize => Size;

    public static Pool2DOptions Read(ReadOnlySpan<byte> s)
    {
        OptionFields.CheckLength(s, Size);
        return new(OptionFields.I32(s, 0), OptionFields.I32(s, 1), OptionFields.I32(s, 2), OptionFields.I32(s, 3),
            OptionFields.I32(s, 4), OptionFields.I32(s, 5), OptionFields.I32(s, 6), OptionFields.I32(s, 7),
            OptionFields.I32(s, 8), OptionFields.I32(s, 9), (OptionFields.I32(s, 10) & 1) != 0,
            new ClampOptions(OptionFields.F32(s, 11), OptionFields.F32(s, 12)));
    }

    public void Write(Span<byte> d)
    {
        OptionFields.I32(d, 0, KernelH); OptionFields.I32(d, 1, KernelW);
        OptionFields.I32(d, 2, StrideH); OptionFields.I32(d, 3, StrideW);
        OptionFields.I32(d, 4, DilationH); OptionFields.I32(d, 5, DilationW);
        OptionFields.I32(d, 6, PadTop); OptionFields.I32(d, 7, PadLeft);
        OptionFields.I32(d, 8, PadBottom); OptionFields.I32(d, 9, PadRight);
        OptionFields.I32(d, 10, CountIncludePad ? 1 : 0);
        OptionFields.F32(d, 11, Clamp.Min); OptionFields.F32(d, 12, Clamp.Max);
    }
}

public readonly record struct LeakyReluOptions(float Alpha) : IOpOptions
{
    public const int Size = 4;
    public int ByteSize => Size;
    public static LeakyReluOptions Read(ReadOnlySpan<byte> s) { OptionFields.CheckLength(s, Size); return new(OptionFields.F32(s, 0)); }
    public void Write(Span<byte> d) => OptionFields.F32(d, 0, Alpha);
}

/// <summary>y = Scale · (x &gt; 0 ? x : Alpha · (eˣ − 1)).</summary>
public readonly record struct EluOptions(float Alpha, float Scale) : IOpOptions
{
    public const int Size = 8;
    public int ByteSize => Size;
    public static EluOptions Read(ReadOnlySpan<byte> s) { OptionFields.CheckLength(s, Size); return new(OptionFields.F32(s, 0), OptionFields.F32(s, 1)); }
    public void Write(Span<byte> d) { OptionFields.F32(d, 0, Alpha); OptionFields.F32(d, 1, Scale); }
}

/// <summary>
/// One activation of a recurrent cell: <see cref="OpCode.Sigmoid"/>, <see cref="OpCode.Tanh"/>,
/// <see cref="OpCode.Relu"/> or <see cref="OpCode.HardSigmoid"/> (with Alpha and Beta), computed exactly as that
/// operator's kernel computes it; <see cref="None"/> for a slot the cell does not use (a GRU's third).
/// </summary>
public readonly record struct RecurrentActivation(OpCode Op, float Alpha = 0, float Beta = 0)
{
    public static RecurrentActivation None => default;
    public static RecurrentActivation Sigmoid => new(OpCode.Sigmoid);
    public static RecurrentActivation Tanh => new(OpCode.Tanh);
    public static RecurrentActivation Relu => new(OpCode.Relu);

    public static RecurrentActivation HardSigmoid(float alpha, float beta) => new(OpCode.HardSigmoid, alpha, beta);

    public override string ToString() => Op == OpCode.HardSigmoid ? $"HardSigmoid({Alpha}, {Beta})" : Op.ToString();
}

/// <summary>
/// A fused recurrence (<see cref="OpCode.Lstm"/>, <see cref="OpCode.Gru"/>): the time axis of its sequences (0 or
/// 1), whether it reads the steps last to first (its output still lists them in time order), the GRU's reset-after
/// form, its activations: Gate (i, f, o / z, r), Candidate (g / n) and Output (the LSTM's on the cell state;
/// <see cref="RecurrentActivation.None"/> for a GRU), and the LSTM's cell clip: when positive, each new cell state
/// is clamped to [−CellClip, CellClip] (TFLite's cell_clip); 0 for none.
/// </summary>
public readonly record struct RecurrentOptions(int TimeAxis, bool Reverse, bool ResetAfter, RecurrentActivation Gate, RecurrentActivation Candidate, RecurrentActivation Output, float CellClip = 0) : IOpOptions
{
    public const int Size = 48;
    public int ByteSize => Size;

    /// <summary>Reads the record; the kernel validates the axis, the flags and the activations.</summary>
    public static RecurrentOptions Read(ReadOnlySpan<byte> s)
    {
        OptionFields.CheckLength(s, Size);
        int flags = OptionFields.I32(s, 1);
        if ((flags & ~3) != 0)
        {
            throw new ArgumentException($"recurrent flags 0x{flags:x} set unknown bits");
        }

        return new(OptionFields.I32(s, 0), (flags & 1) != 0, (flags & 2) != 0, Activation(s, 2), Activation(s, 5), Activation(s, 8), OptionFields.F32(s, 11));
    }

    public void Write(Span<byte> d)
    {
        OptionFields.I32(d, 0, TimeAxis);
        OptionFields.I32(d, 1, (Reverse ? 1 : 0) | (ResetAfter ? 2 : 0));
        Write(d, 2, Gate);
        Write(d, 5, Candidate);
        Write(d, 8, Output);
        OptionFields.F32(d, 11, CellClip);
    }

    private static RecurrentActivation Activation(ReadOnlySpan<byte> s, int field)
        => new((OpCode)OptionFields.I32(s, field), OptionFields.F32(s, field + 1), OptionFields.F32(s, field + 2));

    private static void Write(Span<byte> d, int field, RecurrentActivation a)
    {
        OptionFields.I32(d, field, (int)a.Op);
        OptionFields.F32(d, field + 1, a.Alpha);
        OptionFields.F32(d, field + 2, a.Beta);
    }
}

/// <summary>y = max(0, min(1, Alpha·x + Beta)).</summary>
public readonly record struct HardSigmoidOptions(float Alpha, float Beta) : IOpOptions
{
    public const int Size = 8;
    public int ByteSize => Size;
    public static HardSigmoidOptions Read(ReadOnlySpan<byte> s) { OptionFields.CheckLength(s, Size); return new(OptionFields.F32(s, 0), OptionFields.F32(s, 1)); }
    public void Write(Span<byte> d) { OptionFields.F32(d, 0, Alpha); OptionFields.F32(d, 1, Beta); }
}

/// <summary>Softmax over one axis (non-negative, already normalized), of exp(Beta·x).</summary>
public readonly record struct SoftmaxOptions(int Axis, float Beta) : IOpOptions
{
    public const int Size = 8;
    public int ByteSize => Size;
    public static SoftmaxOptions Read(ReadOnlySpan<byte> s) { OptionFields.CheckLength(s, Size); return new(OptionFields.I32(s, 0), OptionFields.F32(s, 1)); }
    public void Write(Span<byte> d) { OptionFields.I32(d, 0, Axis); OptionFields.F32(d, 1, Beta); }
}

/// <summary>Concatenation along a non-negative axis.</summary>
public readonly record struct ConcatOptions(int Axis) : IOpOptions
{
    public const int Size = 4;
    public int ByteSize => Size;
    public static ConcatOptions Read(ReadOnlySpan<byte> s) { OptionFields.CheckLength(s, Size); return new(OptionFields.I32(s, 0)); }
    public void Write(Span<byte> d) => OptionFields.I32(d, 0, Axis);
}

/// <summary>Output axis i takes input axis Perm[i]. Up to <see cref="FormatConstants.MaxRank"/> axes.</summary>
public readonly struct TransposeOptions : IOpOptions
{
    public const int Size = 4 + 4 * FormatConstants.MaxRank;
    private readonly int[] _perm;

    public TransposeOptions(ReadOnlySpan<int> perm)
    {
        if (perm.Length > FormatConstants.MaxRank)
        {
            throw new ArgumentException($"transpose of rank {perm.Length} exceeds {FormatConstants.MaxRank}", nameof(perm));
        }

        _perm = perm.ToArray();
    }

    public ReadOnlySpan<int> Perm => _perm;
    public int ByteSize => Size;

    /// <summary>Reads a permutation; <see cref="Perm"/> is validated by the kernel, not here.</summary>
    public static TransposeOptions Read(ReadOnlySpan<byte> s)
    {
        OptionFields.CheckLength(s, Size);
        int rank = OptionFields.I32(s, 0);
        if ((uint)rank > FormatConstants.MaxRank)
        {
            throw new ArgumentException($"transpose rank {rank} is outside 0..{FormatConstants.MaxRank}");
        }

        Span<int> perm = stackalloc int[FormatConstants.MaxRank];
        for (int i = 0; i < rank; i++)
        {
            perm[i] = OptionFields.I32(s, 1 + i);
        }

        return new TransposeOptions(perm[..rank]);
    }

    public void Write(Span<byte> d)
    {
        d[..Size].Clear();
        ReadOnlySpan<int> perm = Perm;
        OptionFields.I32(d, 0, perm.Length);
        for (int i = 0; i < perm.Length; i++)
        {
            OptionFields.I32(d, 1 + i, perm[i]);
        }
    }
}

/// <summary>Where a Slice starts on each axis and its step; the output tensor's shape gives how many it takes.</summary>
public readonly struct SliceOptions : IOpOptions
{
    public const int Size = 4 + 8 * FormatConstants.MaxRank;
    private readonly int[] _begin;
    private readonly int[] _step;

    public SliceOptions(ReadOnlySpan<int> begin, ReadOnlySpan<int> step)
    {
        if (begin.Length > FormatConstants.MaxRank || step.Length != begin.Length)
        {
            throw new ArgumentException($"slice of rank {begin.Length} with {step.Length} steps: at most {FormatConstants.MaxRank}, one step per axis");
        }

        _begin = begin.ToArray();
        _step = step.ToArray();
    }

    public ReadOnlySpan<int> Begin => _begin;
    public ReadOnlySpan<int> Step => _step;
    public int ByteSize => Size;

    /// <summary>Reads the record; the kernel checks the box against the input.</summary>
    public static SliceOptions Read(ReadOnlySpan<byte> s)
    {
        OptionFields.CheckLength(s, Size);
        int rank = OptionFields.I32(s, 0);
        if ((uint)rank > FormatConstants.MaxRank)
        {
            throw new ArgumentException($"slice rank {rank} is outside 0..{FormatConstants.MaxRank}");
        }

        Span<int> begin = stackalloc int[FormatConstants.MaxRank];
        Span<int> step = stackalloc int[FormatConstants.MaxRank];
        for (int i = 0; i < rank; i++)
        {
            begin[i] = OptionFields.I32(s, 1 + i);
            step[i] = OptionFields.I32(s, 1 + FormatConstants.MaxRank + i);
        }

        return new SliceOptions(begin[..rank], step[..rank]);
    }

    public void Write(Span<byte> d)
    {
        d[..Size].Clear();
        OptionFields.I32(d, 0, _begin.Length);
        for (int i = 0; i < _begin.Length; i++)
        {
            OptionFields.I32(d, 1 + i, _begin[i]);
            OptionFields.I32(d, 1 + FormatConstants.MaxRank + i, _step[i]);
        }
    }
}
