using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace EdgeInfer.Format;

/// <summary>
/// A validated .eim model and the bytes it lives in. The bytes are pinned for the model's lifetime, so
/// interpreters use constants in place (no copy of the weights) through <see cref="DangerousGetPointer"/>.
/// <para>Ownership: a model from <see cref="Load"/> owns a pinned copy of the file; from <see cref="FromBytes"/>
/// it pins the caller's array, which must not change afterwards; from <see cref="MapFile"/> it maps the file
/// read-only, and the file must not change while mapped (the hashes were checked once, at open).
/// Dispose the model after every interpreter that uses it.</para>
/// </summary>
public sealed unsafe class Model : IDisposable
{
    private readonly byte* _pointer;
    private readonly int _length;
    private readonly ModelGraph _graph;
    private readonly int _weightsOffset;
    private readonly int _optionsOffset;
    private GCHandle _pin;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private bool _disposed;

    private Model(string source, byte* pointer, int length, GCHandle pin, MemoryMappedFile? map, MemoryMappedViewAccessor? view, ModelLoadOptions? options)
    {
        Source = source;
        _pointer = pointer;
        _length = length;
        _pin = pin;
        _map = map;
        _view = view;
        try
        {
            var bytes = new ReadOnlySpan<byte>(pointer, length);
            _graph = new ModelReader(bytes, source).ReadGraph(options);
            Signature = ModelSignature.Find(bytes, _graph.Sections, source);
            if (options is { RequiresSignature: true })
            {
                TrustedSigner = ModelSignature.TrustedKey(options.TrustedKeys, Signature!.KeyId);
            }
        }
        catch
        {
            Release();
            throw;
        }

        _weightsOffset = (int)_graph.Section(SectionKind.Weights).Offset;
        _optionsOffset = (int)_graph.Section(SectionKind.Options).Offset;
    }

    /// <summary>The file path, or the name given to <see cref="FromBytes"/>; error messages start with it.</summary>
    public string Source { get; }

    public ModelGraph Graph
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _graph;
        }
    }

    public int FileLength => _length;

    /// <summary>The SIGN section, or null for an unsigned model. Its presence alone proves nothing: see <see cref="TrustedSigner"/>.</summary>
    public ModelSignature? Signature { get; }

    /// <summary>The trusted key whose signature was verified at load; null when the model was loaded without trusted keys.</summary>
    public ModelPublicKey? TrustedSigner { get; }

    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return new ReadOnlySpan<byte>(_pointer, _length);
        }
    }

    /// <summary>Reads the file into a pinned, 64-byte aligned buffer and validates it.</summary>
    public static Model Load(string path, ModelLoadOptions? options = null)
    {
        byte[] buffer;
        int start;
        int length;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long size = RandomAccess.GetLength(handle);
            if (size > int.MaxValue - FormatConstants.Alignment)
            {
                throw new EdgeInferModelException(ModelError.FileUnreadable, path, $"file of {size} bytes exceeds the 2 GiB limit");
            }

            length = (int)size;
            buffer = GC.AllocateUninitializedArray<byte>(length + FormatConstants.Alignment, pinned: true);
            fixed (byte* p = buffer)
            {
                start = (int)(FormatConstants.AlignUp((long)p) - (long)p);
            }

            int read = 0;
            while (read < length)
            {
                int n = RandomAccess.Read(handle, buffer.AsSpan(start + read, length - read), read);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            length = read; // a file that shrank while being read is judged on what was read
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new EdgeInferModelException(ModelError.FileUnreadable, path, $"cannot read the file: {e.Message}", e);
        }

        var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        byte* pointer = (byte*)pin.AddrOfPinnedObject() + start;
        return new Model(path, pointer, length, pin, null, null, options);
    }

    /// <summary>Uses the caller's array in place (pinned until Dispose) and validates it.</summary>
    public static Model FromBytes(byte[] bytes, string source = "<memory>", ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var pin = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        return new Model(source, (byte*)pin.AddrOfPinnedObject(), bytes.Length, pin, null, null, options);
    }

    /// <summary>
    /// Maps the file read-only and validates it; pages are shared with the page cache. With trusted keys, prefer
    /// <see cref="Load"/>: whoever can write the file can change mapped bytes after the signature was checked.
    /// </summary>
    public static Model MapFile(string path, ModelLoadOptions? options = null)
    {
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            long size = new FileInfo(path).Length;
            if (size == 0 || size > int.MaxValue)
            {
                // Mapping an empty file fails with an unhelpful message; the reader gives the real one.
                return size == 0 ? FromBytes([], path, options) : throw new EdgeInferModelException(ModelError.FileUnreadable, path, $"file of {size} bytes exceeds the 2 GiB limit");
            }

            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = map.CreateViewAccessor(0, size, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            return new Model(path, pointer, (int)size, default, map, view, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            view?.Dispose();
            map?.Dispose();
            throw new EdgeInferModelException(ModelError.FileUnreadable, path, $"cannot map the file: {e.Message}", e);
        }
    }

    /// <summary>Checks a file or buffer the way <see cref="Load"/> does, without keeping it.</summary>
    public static ModelGraph Verify(ReadOnlySpan<byte> bytes, string source, ModelLoadOptions? options = null) => new ModelReader(bytes, source).ReadGraph(options);

    /// <summary>
    /// A constant's bytes, in place: for a constant stored sparse, its stored blocks and indices (<see cref="TensorInfo.Sparse"/>;
    /// <see cref="SparseBlocks.Expand"/> gives the dense tensor).
    /// </summary>
    public ReadOnlySpan<byte> ConstantBytes(TensorInfo tensor)
    {
        if (tensor.Storage != TensorStorage.Constant)
        {
            throw new ArgumentException($"{tensor} is not a constant", nameof(tensor));
        }

        return Bytes.Slice(_weightsOffset + (int)tensor.Offset, (int)tensor.ByteLength);
    }

    /// <summary>A node's options record.</summary>
    public ReadOnlySpan<byte> OptionsBytes(NodeInfo node) => Bytes.Slice(_optionsOffset + node.OptionsOffset, node.OptionsLength);

    /// <summary>
    /// The first byte of the file. Valid until Dispose; readers must stay inside <see cref="FileLength"/>.
    /// Interpreters use it to reach constants without copying them.
    /// </summary>
    public byte* DangerousGetPointer()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _pointer;
    }

    /// <summary>Byte offset of a constant's data from <see cref="DangerousGetPointer"/>.</summary>
    public long ConstantFileOffset(TensorInfo tensor) => _weightsOffset + tensor.Offset;

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Release();
        }
    }

    private void Release()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _view = null;
        }

        _map?.Dispose();
        _map = null;
        if (_pin.IsAllocated)
        {
            _pin.Free();
        }
    }
}
