namespace EdgeInfer.Runtime;

/// <summary>
/// Where a tensor's bytes are while an interpreter lives: in its pinned arena, or in the model's pinned bytes for
/// constants. The interpreter resolves these once, after validating every offset, so kernels index them freely.
/// Valid only while the interpreter and its model are alive.
/// </summary>
public readonly unsafe struct TensorBuffer
{
    public TensorBuffer(byte* pointer, int byteLength)
    {
        Pointer = pointer;
        ByteLength = byteLength;
    }

    public byte* Pointer { get; }
    public int ByteLength { get; }
    public bool IsNull => Pointer == null;

    public Span<T> AsSpan<T>() where T : unmanaged => new(Pointer, ByteLength / sizeof(T));

    public ReadOnlySpan<T> AsReadOnlySpan<T>() where T : unmanaged => new(Pointer, ByteLength / sizeof(T));

    public ref T Ref<T>() where T : unmanaged => ref *(T*)Pointer;
}
