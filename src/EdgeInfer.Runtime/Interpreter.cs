using System.Runtime.InteropServices;

namespace EdgeInfer.Runtime;

/// <summary>Choices made when an interpreter is built.</summary>
public sealed class InterpreterOptions
{
    /// <summary>The instruction-set path for every kernel; Auto takes EDGEINFER_KERNELS or the best supported.</summary>
    public KernelPath KernelPath { get; init; } = KernelPath.Auto;

    /// <summary>The kernels to use; the built-in set when null.</summary>
    public KernelRegistry? Registry { get; init; }
}

/// <summary>Called after each node of an observed <see cref="Interpreter.Invoke(INodeObserver)"/>, while the node's outputs are valid.</summary>
public interface INodeObserver
{
    void OnNodeInvoked(Interpreter interpreter, NodeInfo node);
}

/// <summary>
/// Runs a validated model. All memory is taken here, at construction: one pinned arena of the size the converter
/// planned (every activation, graph input and output lives in it at its planned offset), one scratch buffer of the
/// largest size any kernel asked for, and whatever kernels keep from Prepare. Constants are read in place from the
/// model; tensors the file marks as derived are computed once here, by their nodes, into memory of their own.
/// <see cref="Invoke()"/> then allocates nothing and writes only into the arena and scratch.
/// <para>Ownership: the interpreter borrows the model, which must outlive it. Input and output views point into
/// the arena and stay valid for the interpreter's lifetime; Invoke never overwrites graph inputs, so the same
/// inputs may be invoked again. Not thread-safe: one Invoke at a time.</para>
/// </summary>
public sealed unsafe class Interpreter
{
    private readonly Model _model;
    private readonly KernelNode[] _nodes;
    private readonly TensorBuffer[] _buffers;
    private readonly byte[] _arena;
    private readonly byte[] _scratch;
    private readonly int _scratchStart;
    private readonly int _scratchLength;
    private readonly List<byte[]> _derived = [];
    private readonly List<NodeInfo> _nodeInfo = [];
    private readonly SparseConstants _sparse;

    public Interpreter(Model model, InterpreterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        options ??= new InterpreterOptions();
        KernelPath = KernelPaths.Resolve(options.KernelPath);
        KernelRegistry registry = options.Registry ?? KernelRegistry.Builtin;
        ModelGraph graph = model.Graph;

        _arena = AllocateAligned(graph.ArenaBytes, out int arenaStart);
        byte* arenaBase = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_arena, arenaStart);
        byte* modelBase = model.DangerousGetPointer();
        _buffers = new TensorBuffer[graph.Tensors.Count];
        long persistent = 0;
        foreach (TensorInfo t in graph.Tensors)
        {
            // Offsets were checked against the arena and WGHT by the reader; these pointers stay in bounds.
            switch (t.Storage)
            {
                case TensorStorage.Arena:
                    _buffers[t.Index] = new TensorBuffer(arenaBase + t.Offset, (int)t.ByteLength);
                    break;
                case TensorStorage.Constant when t.Sparse is not null:
                    break; // read in place by sparse kernels, expanded for any other reader (SparseConstants)
                case TensorStorage.Constant:
                    _buffers[t.Index] = new TensorBuffer(modelBase + model.ConstantFileOffset(t), (int)t.ByteLength);
                    break;
                default:
                    byte[] own = AllocateAligned(t.ByteLength, out int start);
                    _derived.Add(own);
                    _buffers[t.Index] = new TensorBuffer((byte*)Marshal.UnsafeAddrOfPinnedArrayElement(own, start), (int)t.ByteLength);
                    persistent += t.ByteLength;
                    break;
            }
        }

        _sparse = new SparseConstants(model, _buffers);
        var invoked = new List<KernelNode>(graph.Nodes.Count);
        int scratchBytes = 0;
        foreach (NodeInfo node in graph.Nodes)
        {
            // Every node has a first input (the reader requires an execution order over existing tensors and
            // every operator takes at least one), so the kernel is chosen by that input's type.
            DataType inputType = node.Inputs.Length > 0 && node.Inputs[0] >= 0 ? graph.Tensors[node.Inputs[0]].DataType : DataType.Float32;
            KernelRegistry.Factory factory = registry.Get(node.OpCode, inputType)
                ?? throw new EdgeInferModelException(ModelError.KernelNotRegistered, model.Source, $"{node}: this runtime has no {DataTypes.Name(inputType)} kernel for {node.OpCode}");
            var context = new KernelContext(model, node, _buffers, _sparse, KernelPath);
            KernelNode prepared = factory(ref context);
            bool runsAtLoad = graph.Tensors[node.Outputs[0]].Storage == TensorStorage.Derived;
            if (runsAtLoad)
            {
                // Its inputs are constants and earlier derived tensors, all computed by now: run it at once, so that
                // the nodes prepared after it find its output final and may pack it as they pack constants (a
                // weight-only int8 model then runs the float kernels' packed paths, as the float model does).
                byte[] loadScratch = AllocateAligned(context.ScratchBytes, out int loadStart);
                prepared.Invoke(loadScratch.AsSpan(loadStart, context.ScratchBytes));
            }
            else
            {
                invoked.Add(prepared);
                _nodeInfo.Add(node);
                scratchBytes = Math.Max(scratchBytes, context.ScratchBytes);
            }

            persistent += context.PersistentBytes;
        }

        persistent += _sparse.ExpandedBytes;
        _nodes = [.. invoked];
        _scratch = AllocateAligned(scratchBytes, out _scratchStart);
        _scratchLength = scratchBytes;
        PersistentBytes = persistent;
    }

    public Model Model => _model;
    public KernelPath KernelPath { get; }

    /// <summary>Bytes of the activation arena (as planned by the converter and written in the file).</summary>
    public long ArenaBytes => _model.Graph.ArenaBytes;

    /// <summary>Bytes of scratch the kernels asked for (im2col buffers and the like).</summary>
    public long ScratchBytes => _scratchLength;

    /// <summary>Bytes kept outside the arena: what kernels kept from Prepare (packed weights, tables) and load-time tensors.</summary>
    public long PersistentBytes { get; }

    public int InputCount => _model.Graph.Inputs.Length;
    public int OutputCount => _model.Graph.Outputs.Length;

    public TensorView Input(int index) => Tensor(_model.Graph.Inputs[index]);

    public TensorView Output(int index) => Tensor(_model.Graph.Outputs[index]);

    /// <summary>
    /// Any tensor. An intermediate tensor's bytes are meaningful only inside <see cref="INodeObserver.OnNodeInvoked"/>
    /// for its producer (the arena reuses them afterwards).
    /// </summary>
    public TensorView Tensor(int index)
    {
        TensorInfo tensor = _model.Graph.Tensors[index];
        return new(tensor, tensor.Sparse is null ? _buffers[index] : _sparse.Dense(tensor));
    }

    /// <summary>Runs every node once, in order.</summary>
    public void Invoke()
    {
        Span<byte> scratch = _scratch.AsSpan(_scratchStart, _scratchLength);
        KernelNode[] nodes = _nodes;
        for (int i = 0; i < nodes.Length; i++)
        {
            nodes[i].Invoke(scratch);
        }
    }

    /// <summary>Runs every node once, calling <paramref name="observer"/> after each (per-layer taps for evaluation).</summary>
    public void Invoke(INodeObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        Span<byte> scratch = _scratch.AsSpan(_scratchStart, _scratchLength);
        for (int i = 0; i < _nodes.Length; i++)
        {
            _nodes[i].Invoke(scratch);
            observer.OnNodeInvoked(this, _nodeInfo[i]);
        }
    }

    /// <summary>A pinned array with a 64-byte aligned start; pinned arrays live on the pinned heap and never move.</summary>
    private static byte[] AllocateAligned(long bytes, out int start)
    {
        var array = GC.AllocateArray<byte>((int)bytes + FormatConstants.Alignment, pinned: true);
        long address = (long)Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        start = (int)(FormatConstants.AlignUp(address) - address);
        return array;
    }
}
