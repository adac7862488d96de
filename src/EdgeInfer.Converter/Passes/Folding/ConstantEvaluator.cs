using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Folding;

/// <summary>
/// Evaluates an ONNX node whose inputs are all constants, at conversion time. Covers the shape arithmetic exporters
/// emit (Shape→Gather→Unsqueeze→Concat→Reshape, ConstantOfShape, Range, Slice, Expand, Where...) and elementwise math
/// on constants (weight preprocessing). Float math is float32, as ONNX Runtime computes it; integer math is int64.
/// Operators outside this set are not folded (they are lowered, or unsupported). Expects canonical (newest-opset)
/// forms, see <see cref="CanonicalizeOpsets"/>.
/// </summary>
internal static class ConstantEvaluator
{
    /// <summary>The outputs, or null when the operator is not one this evaluator folds.</summary>
    /// <exception cref="ArgumentException">The node is malformed for its inputs.</exception>
    public static HostTensor[]? Evaluate(Node n, IReadOnlyList<HostTensor?> x)
    {
        HostTensor In(int i) => i < x.Count && x[i] is { } t ? t : throw new ArgumentException($"input {i} is missing");
        HostTensor? Opt(int i) => i < x.Count ? x[i] : null;

        return n.OpType switch
        {
            "Identity" or "Dropout" => [In(0)],
            "Cast" => [Cast(In(0), (int)n.GetInt("to"))],
            "Gather" => [Gather(In(0), In(1), n.GetInt("axis", 0))],
            "Unsqueeze" => [In(0).WithShape(ShapeMath.Unsqueeze(In(0).Shape, In(1).AsLongs()))],
            "Squeeze" => [In(0).WithShape(ShapeMath.Squeeze(In(0).Shape, Opt(1)?.AsLongs()))],
            "Reshape" => [In(0).WithShape(ShapeMath.Reshape(In(0).Shape, In(1).AsLongs(), n.GetInt("allowzero", 0) != 0))],
            "Flatten" => [In(0).WithShape(ShapeMath.Flatten(In(0).Shape, n.GetInt("axis", 1)))],
            "Concat" => [HostTensor.Concat([.. x.OfType<HostTensor>()], ShapeMath.Axis(n.GetInt("axis"), In(0).Shape.Length))],
            "Transpose" => [Transpose(In(0), n.GetInts("perm"))],
            "ConstantOfShape" => [ConstantOfShape(n, In(0))],
            "Expand" => [Expand(In(0), In(1))],
            "Tile" => [Tile(In(0), In(1))],
            "Slice" => [Slice(In(0), In(1), In(2), Opt(3), Opt(4))],
            "Range" => [Range(In(0), In(1), In(2))],
            "Where" => [Where(In(0), In(1), In(2))],
            "Split" => Split(n, In(0), Opt(1)),
            "Add" => [Binary(In(0), In(1), (a, b) => a + b, (a, b) => a + b)],
            "Sub" => [Binary(In(0), In(1), (a, b) => a - b, (a, b) => a - b)],
            "Mul" => [Binary(In(0), In(1), (a, b) => a * b, (a, b) => a * b)],
            "Div" => [Binary(In(0), In(1), (a, b) => a / b, (a, b) => b == 0 ? throw new ArgumentException("integer division by zero") : a / b)],
            "Mod" => [Binary(In(0), In(1), (a, b) => a % b, (a, b) => b == 0 ? throw new ArgumentException("integer division by zero") : ((a % b) + b) % b)],
            "Pow" => [Binary(In(0), In(1), MathF.Pow, (a, b) => (long)Math.Pow(a, b))],
            "Max" => [Variadic(x, MathF.Max, Math.Max)],
            "Min" => [Variadic(x, MathF.Min, Math.Min)],
            "Sum" => [Variadic(x, (a, b) => a + b, (a, b) => a + b)],
            "Mean" => [Mean(x)],
            "Equal" => [Compare(In(0), In(1), c => c == 0)],
            "Less" => [Compare(In(0), In(1), c => c < 0)],
            "LessOrEqual" => [Compare(In(0), In(1), c => c <= 0)],
            "Greater" => [Compare(In(0), In(1), c => c > 0)],
            "GreaterOrEqual" => [Compare(In(0), In(1), c => c >= 0)],
            "And" => [Logic(In(0), In(1), (a, b) => a && b)],
            "Or" => [Logic(In(0), In(1), (a, b) => a || b)],
            "Not" => [HostTensor.Integer(DataType.Bool, In(0).Shape, Array.ConvertAll(In(0).AsLongs(), v => v == 0 ? 1L : 0L))],
            "Neg" => [Unary(In(0), v => -v, v => -v)],
            "Abs" => [Unary(In(0), MathF.Abs, Math.Abs)],
            "Sign" => [Unary(In(0), v => MathF.Sign(v), v => Math.Sign(v))],
            "Floor" => [Unary(In(0), MathF.Floor, v => v)],
            "Ceil" => [Unary(In(0), MathF.Ceiling, v => v)],
            "Sqrt" => [FloatOnly(In(0), MathF.Sqrt)],
            "Exp" => [FloatOnly(In(0), MathF.Exp)],
            "Log" => [FloatOnly(In(0), MathF.Log)],
            "Reciprocal" => [FloatOnly(In(0), v => 1f / v)],
            "Relu" => [Unary(In(0), v => v > 0 ? v : 0, v => Math.Max(v, 0))],
            "Sigmoid" => [FloatOnly(In(0), v => 1f / (1f + MathF.Exp(-v)))],
            "Tanh" => [FloatOnly(In(0), MathF.Tanh)],
            "Clip" => [Clip(In(0), Opt(1), Opt(2))],
            "ReduceSum" => [Reduce(n, In(0), Opt(1), 0, (a, b) => a + b, null)],
            "ReduceMean" => [Reduce(n, In(0), Opt(1), 0, (a, b) => a + b, count => 1.0 / count)],
            "ReduceProd" => [Reduce(n, In(0), Opt(1), 1, (a, b) => a * b, null)],
            "ReduceMax" => [Reduce(n, In(0), Opt(1), double.NegativeInfinity, Math.Max, null)],
            "ReduceMin" => [Reduce(n, In(0), Opt(1), double.PositiveInfinity, Math.Min, null)],
            _ => null,
        };
    }

    private static HostTensor Cast(HostTensor t, int onnxType)
    {
        DataType to = OnnxTensors.IrType(onnxType) ?? throw new ArgumentException($"cannot cast to {OnnxTensors.OnnxTypeName(onnxType)}");
        if (to == DataType.Float32)
        {
            // float16/double/bfloat16 targets are represented as float32 (EdgeInfer computes in float32).
            return HostTensor.Float(t.Shape, t.AsFloats());
        }

        long[] values = t.Floats is { } f ? Array.ConvertAll(f, v => float.IsNaN(v) ? 0 : (long)v) : t.Ints!;
        values = to switch
        {
            DataType.Int32 => Array.ConvertAll(values, v => (long)(int)v),
            DataType.Int16 => Array.ConvertAll(values, v => (long)(short)v),
            DataType.Int8 => Array.ConvertAll(values, v => (long)(sbyte)v),
            DataType.UInt8 => Array.ConvertAll(values, v => (long)(byte)v),
            _ => values,
        };
        return HostTensor.Integer(to, t.Shape, values);
    }

    private static HostTensor Gather(HostTensor data, HostTensor indices, long axisAttr)
    {
        int axis = ShapeMath.Axis(axisAttr, data.Shape.Length);
        long[] idx = indices.AsLongs();
        int dim = data.Shape[axis];
        int[] shape = [.. data.Shape.Take(axis), .. indices.Shape, .. data.Shape.Skip(axis + 1)];
        long outer = ShapeMath.Count(data.Shape.AsSpan(0, axis));
        long inner = ShapeMath.Count(data.Shape.AsSpan(axis + 1));
        var map = new int[ShapeMath.Count(shape)];
        int at = 0;
        for (long o = 0; o < outer; o++)
        {
            foreach (long raw in idx)
            {
                long i = raw < 0 ? raw + dim : raw;
                if (i < 0 || i >= dim)
                {
                    throw new ArgumentException($"gather index {raw} is out of range for dimension {dim}");
                }

                for (long k = 0; k < inner; k++)
                {
                    map[at++] = (int)((o * dim + i) * inner + k);
                }
            }
        }

        return data.Take(map, shape);
    }

    private static HostTensor Transpose(HostTensor t, long[]? perm)
    {
        int[] p = perm is null ? ShapeMath.DefaultPerm(t.Shape.Length) : ShapeMath.CheckPerm(perm, t.Shape.Length);
        return t.Take(ShapeMath.TransposeIndex(t.Shape, p), ShapeMath.Permute(t.Shape, p));
    }

    private static HostTensor ConstantOfShape(Node n, HostTensor shapeTensor)
    {
        int[] shape = [.. shapeTensor.AsLongs().Select(d => d is >= 0 and <= int.MaxValue ? (int)d : throw new ArgumentException($"shape has dimension {d}"))];
        int count = (int)ShapeMath.Count(shape);
        if (n.Attributes.TryGetValue("value", out AttributeValue? a) && a.Tensor is { } value)
        {
            if (value.Type == DataType.Float32)
            {
                return HostTensor.Float(shape, Enumerable.Repeat(value.Floats[0], count).ToArray());
            }

            return HostTensor.Integer(value.Type, shape, Enumerable.Repeat(value.ToInt64Array()[0], count).ToArray());
        }

        return HostTensor.Float(shape, new float[count]);
    }

    private static HostTensor Expand(HostTensor t, HostTensor shapeTensor)
    {
        int[] target = [.. shapeTensor.AsLongs().Select(d => (int)d)];
        int[] shape = ShapeMath.Broadcast(t.Shape, target);
        return t.Take(ShapeMath.BroadcastIndex(t.Shape, shape), shape);
    }

    private static HostTensor Tile(HostTensor t, HostTensor repeatsTensor)
    {
        long[] repeats = repeatsTensor.AsLongs();
        if (repeats.Length != t.Shape.Length)
        {
            throw new ArgumentException("repeats must have one value per axis");
        }

        int[] shape = [.. t.Shape.Select((d, i) => (int)(d * repeats[i]))];
        long[] inStrides = ShapeMath.Strides(t.Shape);
        var map = new int[ShapeMath.Count(shape)];
        var index = new int[shape.Length];
        for (int flat = 0; flat < map.Length; flat++)
        {
            long offset = 0;
            for (int d = 0; d < shape.Length; d++)
            {
                offset += index[d] % t.Shape[d] * inStrides[d];
            }

            map[flat] = (int)offset;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        return t.Take(map, shape);
    }

    private static HostTensor Slice(HostTensor data, HostTensor startsT, HostTensor endsT, HostTensor? axesT, HostTensor? stepsT)
    {
        int rank = data.Shape.Length;
        (long[] start, long[] step, int[] shape) = ShapeMath.SliceBox(data.Shape, startsT.AsLongs(), endsT.AsLongs(), axesT?.AsLongs(), stepsT?.AsLongs());
        long[] strides = ShapeMath.Strides(data.Shape);
        var map = new int[ShapeMath.Count(shape)];
        var index = new int[rank];
        for (int flat = 0; flat < map.Length; flat++)
        {
            long offset = 0;
            for (int d = 0; d < rank; d++)
            {
                offset += (start[d] + index[d] * step[d]) * strides[d];
            }

            map[flat] = (int)offset;
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        return data.Take(map, shape);
    }

    private static HostTensor Range(HostTensor start, HostTensor limit, HostTensor delta)
    {
        if (start.IsFloat)
        {
            float s = start.Floats![0], l = limit.AsFloats()[0], d = delta.AsFloats()[0];
            int count = Math.Max((int)Math.Ceiling((l - s) / d), 0);
            return HostTensor.Float([count], [.. Enumerable.Range(0, count).Select(i => s + i * d)]);
        }

        long si = start.Ints![0], li = limit.AsLongs()[0], di = delta.AsLongs()[0];
        if (di == 0)
        {
            throw new ArgumentException("range delta is 0");
        }

        long n = Math.Max((long)Math.Ceiling((double)(li - si) / di), 0);
        return HostTensor.Integer(start.Type, [(int)n], [.. Enumerable.Range(0, (int)n).Select(i => si + i * di)]);
    }

    private static HostTensor Where(HostTensor cond, HostTensor a, HostTensor b)
    {
        int[] shape = ShapeMath.Broadcast(cond.Shape, a.Shape, b.Shape);
        int[] ci = ShapeMath.BroadcastIndex(cond.Shape, shape), ai = ShapeMath.BroadcastIndex(a.Shape, shape), bi = ShapeMath.BroadcastIndex(b.Shape, shape);
        long[] c = cond.AsLongs();
        if (a.IsFloat)
        {
            float[] af = a.Floats!, bf = b.AsFloats();
            return HostTensor.Float(shape, [.. Enumerable.Range(0, ci.Length).Select(i => c[ci[i]] != 0 ? af[ai[i]] : bf[bi[i]])]);
        }

        long[] al = a.Ints!, bl = b.AsLongs();
        return HostTensor.Integer(a.Type, shape, [.. Enumerable.Range(0, ci.Length).Select(i => c[ci[i]] != 0 ? al[ai[i]] : bl[bi[i]])]);
    }

    private static HostTensor[] Split(Node n, HostTensor t, HostTensor? splitT)
    {
        int axis = ShapeMath.Axis(n.GetInt("axis", 0), t.Shape.Length);
        int dim = t.Shape[axis];
        int parts = n.Outputs.Count;
        long[] sizes = ShapeMath.SplitSizes(dim, parts, splitT?.AsLongs(), splitT is null && n.HasAttribute("num_outputs"));
        var result = new HostTensor[parts];
        long begin = 0;
        for (int i = 0; i < parts; i++)
        {
            HostTensor axes = HostTensor.Integer(DataType.Int64, [1], [axis]);
            result[i] = Slice(t, HostTensor.Integer(DataType.Int64, [1], [begin]), HostTensor.Integer(DataType.Int64, [1], [begin + sizes[i]]), axes, null);
            begin += sizes[i];
        }

        return result;
    }

    private static HostTensor Binary(HostTensor a, HostTensor b, Func<float, float, float> f, Func<long, long, long> g)
    {
        int[] shape = ShapeMath.Broadcast(a.Shape, b.Shape);
        int[] ai = ShapeMath.BroadcastIndex(a.Shape, shape), bi = ShapeMath.BroadcastIndex(b.Shape, shape);
        if (a.IsFloat || b.IsFloat)
        {
            float[] af = a.AsFloats(), bf = b.AsFloats();
            return HostTensor.Float(shape, [.. Enumerable.Range(0, ai.Length).Select(i => f(af[ai[i]], bf[bi[i]]))]);
        }

        long[] al = a.Ints!, bl = b.Ints!;
        return HostTensor.Integer(a.Type, shape, [.. Enumerable.Range(0, ai.Length).Select(i => g(al[ai[i]], bl[bi[i]]))]);
    }

    private static HostTensor Variadic(IReadOnlyList<HostTensor?> inputs, Func<float, float, float> f, Func<long, long, long> g)
    {
        HostTensor acc = inputs[0] ?? throw new ArgumentException("input 0 is missing");
        for (int i = 1; i < inputs.Count; i++)
        {
            acc = Binary(acc, inputs[i] ?? throw new ArgumentException($"input {i} is missing"), f, g);
        }

        return acc;
    }

    private static HostTensor Mean(IReadOnlyList<HostTensor?> inputs)
    {
        HostTensor sum = Variadic(inputs, (a, b) => a + b, (a, b) => a + b);
        float scale = inputs.Count;
        return HostTensor.Float(sum.Shape, Array.ConvertAll(sum.AsFloats(), v => v / scale));
    }

    private static HostTensor Compare(HostTensor a, HostTensor b, Func<int, bool> test)
    {
        int[] shape = ShapeMath.Broadcast(a.Shape, b.Shape);
        int[] ai = ShapeMath.BroadcastIndex(a.Shape, shape), bi = ShapeMath.BroadcastIndex(b.Shape, shape);
        long[] r = new long[ai.Length];
        bool isFloat = a.IsFloat || b.IsFloat;
        float[]? af = isFloat ? a.AsFloats() : null, bf = isFloat ? b.AsFloats() : null;
        for (int i = 0; i < r.Length; i++)
        {
            int c = isFloat ? af![ai[i]].CompareTo(bf![bi[i]]) : a.Ints![ai[i]].CompareTo(b.Ints![bi[i]]);
            r[i] = test(c) ? 1 : 0;
        }

        return HostTensor.Integer(DataType.Bool, shape, r);
    }

    private static HostTensor Logic(HostTensor a, HostTensor b, Func<bool, bool, bool> f)
    {
        int[] shape = ShapeMath.Broadcast(a.Shape, b.Shape);
        int[] ai = ShapeMath.BroadcastIndex(a.Shape, shape), bi = ShapeMath.BroadcastIndex(b.Shape, shape);
        long[] al = a.AsLongs(), bl = b.AsLongs();
        return HostTensor.Integer(DataType.Bool, shape, [.. Enumerable.Range(0, ai.Length).Select(i => f(al[ai[i]] != 0, bl[bi[i]] != 0) ? 1L : 0L)]);
    }

    private static HostTensor Unary(HostTensor t, Func<float, float> f, Func<long, long> g)
        => t.IsFloat ? HostTensor.Float(t.Shape, Array.ConvertAll(t.Floats!, v => f(v))) : HostTensor.Integer(t.Type, t.Shape, Array.ConvertAll(t.Ints!, v => g(v)));

    private static HostTensor FloatOnly(HostTensor t, Func<float, float> f)
        => t.IsFloat ? HostTensor.Float(t.Shape, Array.ConvertAll(t.Floats!, v => f(v))) : throw new ArgumentException($"needs a float input, got {DataTypes.Name(t.Type)}");

    private static HostTensor Clip(HostTensor t, HostTensor? min, HostTensor? max)
    {
        if (t.IsFloat)
        {
            float lo = min?.AsFloats()[0] ?? float.NegativeInfinity, hi = max?.AsFloats()[0] ?? float.PositiveInfinity;
            return HostTensor.Float(t.Shape, Array.ConvertAll(t.Floats!, v => MathF.Min(MathF.Max(v, lo), hi)));
        }

        long li = min?.AsLongs()[0] ?? long.MinValue, hi2 = max?.AsLongs()[0] ?? long.MaxValue;
        return HostTensor.Integer(t.Type, t.Shape, Array.ConvertAll(t.Ints!, v => Math.Min(Math.Max(v, li), hi2)));
    }

    private static HostTensor Reduce(Node n, HostTensor t, HostTensor? axesT, double seed, Func<double, double, double> f, Func<long, double>? scale)
    {
        (int[] shape, bool[] reduced) = ShapeMath.Reduce(t.Shape, axesT?.AsLongs(), n.GetInt("keepdims", 1) != 0, n.GetInt("noop_with_empty_axes", 0) != 0);
        int rank = t.Shape.Length;
        int[] keptShape = [.. t.Shape.Select((d, i) => reduced[i] ? 1 : d)];
        long[] keptStrides = ShapeMath.Strides(keptShape);
        var acc = new double[ShapeMath.Count(keptShape)];
        Array.Fill(acc, seed);
        var index = new int[rank];
        float[]? fv = t.Floats;
        long[]? iv = t.Ints;
        for (int flat = 0; flat < t.Count; flat++)
        {
            long o = 0;
            for (int d = 0; d < rank; d++)
            {
                o += reduced[d] ? 0 : index[d] * keptStrides[d];
            }

            acc[o] = f(acc[o], fv is not null ? fv[flat] : iv![flat]);
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < t.Shape[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        long count = t.Count / Math.Max(1, acc.Length);
        if (scale is not null)
        {
            double s = scale(count);
            for (int i = 0; i < acc.Length; i++)
            {
                acc[i] *= s;
            }
        }

        return t.IsFloat ? HostTensor.Float(shape, Array.ConvertAll(acc, v => (float)v)) : HostTensor.Integer(t.Type, shape, Array.ConvertAll(acc, v => (long)v));
    }
}
