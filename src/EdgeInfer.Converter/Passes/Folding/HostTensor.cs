using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Folding;

/// <summary>
/// A constant being folded: float32 values, or integer/bool values widened to long (so int64 shape arithmetic such
/// as INT64_MAX slice ends is exact). Converted to and from <see cref="TensorData"/> at the edges of folding.
/// </summary>
internal sealed class HostTensor
{
    private HostTensor(DataType type, int[] shape, float[]? floats, long[]? ints)
    {
        Type = type;
        Shape = shape;
        Floats = floats;
        Ints = ints;
    }

    public DataType Type { get; }
    public int[] Shape { get; }
    public float[]? Floats { get; }
    public long[]? Ints { get; }
    public bool IsFloat => Floats is not null;
    public int Count => Floats?.Length ?? Ints!.Length;

    public static HostTensor Float(int[] shape, float[] values) => new(DataType.Float32, shape, values, null);

    public static HostTensor Integer(DataType type, int[] shape, long[] values)
    {
        if (type == DataType.Bool)
        {
            values = Array.ConvertAll(values, v => v != 0 ? 1L : 0L);
        }

        return new(type, shape, null, values);
    }

    public static HostTensor Of(Value v) => v.Constant is { } c
        ? c.Type == DataType.Float32 ? Float(v.Shape!, c.ToFloatArray()) : Integer(c.Type, v.Shape!, c.ToInt64Array())
        : throw new InvalidOperationException($"{v} is not a constant");

    public TensorData ToData() => IsFloat ? TensorData.FromFloats(Floats) : TensorData.FromIntegers(Type, Ints);

    public long[] AsLongs() => Ints ?? Array.ConvertAll(Floats!, f => (long)f);

    public float[] AsFloats() => Floats ?? Array.ConvertAll(Ints!, i => (float)i);

    /// <summary>A tensor of the same type whose element i is this tensor's element map[i].</summary>
    public HostTensor Take(int[] map, int[] shape) => IsFloat
        ? Float(shape, Array.ConvertAll(map, i => Floats![i]))
        : Integer(Type, shape, Array.ConvertAll(map, i => Ints![i]));

    public HostTensor WithShape(int[] shape) => ShapeMath.Count(shape) == Count
        ? new HostTensor(Type, shape, Floats, Ints)
        : throw new ArgumentException($"cannot view {Count} values as {ShapeMath.Text(shape)}");

    /// <summary>Concatenation along an axis.</summary>
    public static HostTensor Concat(IReadOnlyList<HostTensor> parts, int axis)
    {
        int[] shape = ShapeMath.Concat([.. parts.Select(p => p.Shape)], axis);
        long outer = ShapeMath.Count(shape.AsSpan(0, axis));
        var map = new List<(int Part, int Index)>((int)ShapeMath.Count(shape));
        for (long o = 0; o < outer; o++)
        {
            for (int p = 0; p < parts.Count; p++)
            {
                long block = ShapeMath.Count(parts[p].Shape.AsSpan(axis));
                for (long i = 0; i < block; i++)
                {
                    map.Add((p, (int)(o * block + i)));
                }
            }
        }

        bool isFloat = parts[0].IsFloat;
        return isFloat
            ? Float(shape, [.. map.Select(m => parts[m.Part].AsFloats()[m.Index])])
            : Integer(parts[0].Type, shape, [.. map.Select(m => parts[m.Part].AsLongs()[m.Index])]);
    }
}
