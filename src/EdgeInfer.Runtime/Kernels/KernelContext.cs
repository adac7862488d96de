using System.Diagnostics.CodeAnalysis;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// What a kernel sees while it prepares one node: the node, its tensors and their resolved buffers, its options,
/// the chosen kernel path, and the means to request scratch memory or refuse the node with a typed error.
/// </summary>
public ref struct KernelContext
{
    private readonly Model _model;
    private readonly TensorBuffer[] _buffers;
    private readonly SparseConstants _sparse;
    private int _scratchBytes;
    private long _persistentBytes;

    internal KernelContext(Model model, NodeInfo node, TensorBuffer[] buffers, SparseConstants sparse, KernelPath path)
    {
        _model = model;
        _sparse = sparse;
        Node = node;
        _buffers = buffers;
        Path = path;
    }

    public NodeInfo Node { get; }
    public readonly OpCode OpCode => Node.OpCode;
    public KernelPath Path { get; }
    public readonly int InputCount => Node.Inputs.Length;
    public readonly int OutputCount => Node.Outputs.Length;
    public readonly ReadOnlySpan<byte> Options => _model.OptionsBytes(Node);
    internal readonly int ScratchBytes => _scratchBytes;
    internal readonly long PersistentBytes => _persistentBytes;

    /// <summary>True when input <paramref name="index"/> exists and is not marked absent.</summary>
    public readonly bool HasInput(int index) => index < Node.Inputs.Length && Node.Inputs[index] >= 0;

    public readonly TensorInfo Input(int index)
    {
        if (!HasInput(index))
        {
            Fail($"input {index} is missing");
        }

        return _model.Graph.Tensors[Node.Inputs[index]];
    }

    public readonly TensorInfo Output(int index) => _model.Graph.Tensors[Node.Outputs[index]];

    /// <summary>
    /// True when the tensor's bytes are final before this node is prepared: a constant, or a derived tensor (the
    /// interpreter runs a derived tensor's producer right after preparing it, and producers come first in execution
    /// order). A kernel may pack such an input at Prepare, as it would a constant.
    /// </summary>
    public static bool IsFixedAtPrepare(TensorInfo tensor) => tensor.Storage is TensorStorage.Constant or TensorStorage.Derived;

    /// <summary>
    /// The input's bytes, dense. A constant stored sparse is expanded here (once per model, shared by every reader),
    /// so a kernel that can use the blocks in place asks <see cref="SparseInput"/> first.
    /// </summary>
    public readonly TensorBuffer InputBuffer(int index)
    {
        if (!HasInput(index))
        {
            return default;
        }

        TensorInfo tensor = _model.Graph.Tensors[Node.Inputs[index]];
        return tensor.Sparse is null ? _buffers[tensor.Index] : _sparse.Dense(tensor);
    }

    /// <summary>
    /// The blocks of input <paramref name="index"/> when it is a constant stored sparse with
    /// <paramref name="blockWidth"/>-element blocks, read in place; false otherwise (then use <see cref="InputBuffer"/>).
    /// </summary>
    public readonly bool SparseInput(int index, int blockWidth, out SparseMatrix matrix)
    {
        matrix = default;
        if (!HasInput(index) || _model.Graph.Tensors[Node.Inputs[index]].Sparse is not { } layout || layout.BlockWidth != blockWidth)
        {
            return false;
        }

        matrix = _sparse.Matrix(_model.Graph.Tensors[Node.Inputs[index]]);
        return true;
    }

    public readonly TensorBuffer OutputBuffer(int index) => _buffers[Node.Outputs[index]];

    /// <summary>Asks for scratch memory available to Invoke; the interpreter provides the largest request of any node.</summary>
    public void RequestScratch(long bytes)
    {
        if (bytes < 0 || bytes > int.MaxValue)
        {
            Fail($"needs {bytes} bytes of scratch, above the 2 GiB limit");
        }

        _scratchBytes = Math.Max(_scratchBytes, (int)bytes);
    }

    /// <summary>Allocates load-time memory that lives as long as the interpreter (packed weights, tables).</summary>
    public T[] AllocatePersistent<T>(int count) where T : unmanaged
    {
        if (count < 0)
        {
            Fail($"asked for {count} persistent elements");
        }

        _persistentBytes += (long)count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return GC.AllocateArray<T>(count, pinned: true);
    }

    public readonly void RequireInputs(int min, int max)
    {
        if (InputCount < min || InputCount > max)
        {
            Fail(min == max ? $"takes {min} inputs, has {InputCount}" : $"takes {min} to {max} inputs, has {InputCount}");
        }
    }

    public readonly void RequireOutputs(int count)
    {
        if (OutputCount != count)
        {
            Fail($"produces {count} outputs, has {OutputCount}");
        }
    }

    public readonly void Require([DoesNotReturnIf(false)] bool condition, string problem)
    {
        if (!condition)
        {
            Fail(problem);
        }
    }

    public readonly void RequireType(TensorInfo tensor, DataType type, string role)
    {
        if (tensor.DataType != type)
        {
            Fail($"{role} {tensor} must be {DataTypes.Name(type)}");
        }
    }

    public readonly void RequireShape(TensorInfo tensor, ReadOnlySpan<int> expected, string role)
    {
        if (!tensor.Shape.SequenceEqual(expected))
        {
            Fail($"{role} {tensor} should have shape [{string.Join(",", expected.ToArray())}]");
        }
    }

    public readonly void RequireSameElements(TensorInfo a, TensorInfo b)
    {
        if (a.ElementCount != b.ElementCount)
        {
            Fail($"{a} and {b} must have the same number of elements");
        }
    }

    /// <summary>Refuses the node: the model loads no further.</summary>
    [DoesNotReturn]
    public readonly void Fail(string problem)
        => throw new EdgeInferModelException(ModelError.InvalidNode, _model.Source, $"{Node}: {problem}");
}
