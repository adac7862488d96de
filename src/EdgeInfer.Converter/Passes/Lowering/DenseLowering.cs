using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Folding;
using EdgeInfer.Converter.Passes.Shapes;

namespace EdgeInfer.Converter.Passes.Lowering;

/// <summary>
/// Gemm and MatMul. With a constant right-hand side they become FullyConnected, whose weights are [N, K] (one row
/// per output): W = op(B)ᵀ·alpha, bias = beta·C when C is one value per output column; a C that varies per row, or
/// is an activation, becomes an Add after it. With an activation right-hand side they become MatMul, followed by a
/// Mul for alpha ≠ 1 and an Add for C. Both read the ONNX layout.
/// </summary>
internal static class DenseLowering
{
    public static void Gemm(LoweringContext ctx, Node n)
    {
        Value a = ctx.Onnx(n.Input(0)), b = n.Input(1);
        float alpha = n.GetFloat("alpha", 1f), beta = n.GetFloat("beta", 1f);
        Value? c = beta == 0 ? null : n.OptionalInput(2);
        Value y = n.Output(0);
        int m = y.Shape![0], units = y.Shape[1];
        if (n.GetInt("transA", 0) != 0)
        {
            a = Transposed(ctx, a);
        }

        bool transB = n.GetInt("transB", 0) != 0;
        bool constantB = b.Constant is not null;
        bool perColumnC = c is { Constant: not null } && (ShapeMath.Count(c.Shape!) == 1 || (ShapeMath.Count(c.Shape!) == units && c.Shape![^1] == units));
        bool fcBias = constantB && perColumnC;
        bool scaleStep = !constantB && alpha != 1f;
        bool addStep = c is not null && !fcBias;
        int steps = 1 + (scaleStep ? 1 : 0) + (addStep ? 1 : 0), done = 0;
        Value Next(string stem) => ++done == steps ? y : ctx.NewValue(y.Name + stem, [m, units]);

        Value current;
        if (constantB)
        {
            HostTensor bt = HostTensor.Of(b);
            // FullyConnected wants [N, K]: B is [K, N] unless transB.
            float[] w = transB ? bt.AsFloats() : Transpose2D(bt.AsFloats(), bt.Shape[0], bt.Shape[1]);
            if (alpha != 1f)
            {
                w = Array.ConvertAll(w, v => v * alpha);
            }

            Value? bias = null;
            if (fcBias)
            {
                float[] cv = c!.Constant!.ToFloatArray();
                bias = ctx.Constant(c.Name + "_bias", [units], [.. Enumerable.Range(0, units).Select(i => beta * cv[cv.Length == 1 ? 0 : i])]);
            }

            current = Next("_fc");
            ctx.Emit(OpCode.FullyConnected, ClampOptions.None, [a, ctx.Constant(b.Name + "_fc", [units, w.Length / units], w), bias], current);
        }
        else
        {
            Value bm = ctx.Onnx(b);
            if (transB)
            {
                bm = Transposed(ctx, bm);
            }

            current = Next("_matmul");
            ctx.Emit(OpCode.MatMul, ClampOptions.None, [a, bm], current);
            if (scaleStep)
            {
                Value scaled = Next("_alpha");
                ctx.Emit(OpCode.Mul, ClampOptions.None, [current, ctx.Constant(n.Name + "_alpha", [1], [alpha])], scaled);
                current = scaled;
            }
        }

        if (addStep)
        {
            Value cTerm;
            if (c!.Constant is { } cc)
            {
                cTerm = ctx.Constant(c.Name + "_beta", c.Shape!, Array.ConvertAll(cc.ToFloatArray(), v => v * beta));
            }
            else if (beta != 1f)
            {
                cTerm = ctx.NewValue(c.Name + "_beta", c.Shape!);
                ctx.Emit(OpCode.Mul, ClampOptions.None, [ctx.Onnx(c), ctx.Constant(n.Name + "_beta", [1], [beta])], cTerm);
            }
            else
            {
                cTerm = ctx.Onnx(c);
            }

            ctx.Emit(OpCode.Add, ClampOptions.None, [current, cTerm], Next(""));
        }

        ctx.ProducedOnnx(y);
    }

    public static void MatMul(LoweringContext ctx, Node n)
    {
        Value a = ctx.Onnx(n.Input(0)), b = n.Input(1);
        Value y = n.Output(0);
        if (b.Constant is not null && b.Shape!.Length == 2)
        {
            int k = b.Shape[0], units = b.Shape[1];
            Value weights = ctx.Constant(b.Name + "_fc", [units, k], Transpose2D(b.Constant.ToFloatArray(), k, units));
            ctx.Emit(OpCode.FullyConnected, ClampOptions.None, [a, weights, null], y);
            ctx.ProducedOnnx(y);
            return;
        }

        Value bm = ctx.Onnx(b);
        if (a.Shape!.Length >= 2 && bm.Shape!.Length >= 2)
        {
            ctx.Emit(OpCode.MatMul, ClampOptions.None, [a, bm], y);
            ctx.ProducedOnnx(y);
            return;
        }

        // NumPy's 1-D promotion: [K] is [1,K] on the left and [K,1] on the right; the added axis is then dropped.
        Value a2 = a.Shape.Length == 1 ? Reshaped(ctx, a, [1, a.Shape[0]]) : a;
        Value b2 = bm.Shape!.Length == 1 ? Reshaped(ctx, bm, [bm.Shape[0], 1]) : bm;
        int[] full = ShapeInference.MatMul(a2.Shape!, b2.Shape!);
        Value product = ctx.NewValue(y.Name + "_matmul", full);
        ctx.Emit(OpCode.MatMul, ClampOptions.None, [a2, b2], product);
        ctx.Emit(OpCode.Reshape, null, [product], y);
        ctx.ProducedOnnx(y);
    }

    private static Value Reshaped(LoweringContext ctx, Value v, int[] shape)
    {
        if (v.Constant is not null)
        {
            return Value.Const(ctx.Name(v.Name + "_2d"), shape, v.Constant);
        }

        Value r = ctx.NewValue(v.Name + "_2d", shape);
        ctx.Emit(OpCode.Reshape, null, [v], r, v.Name + "_to_2d");
        return r;
    }

    private static Value Transposed(LoweringContext ctx, Value v)
    {
        int[] s = v.Shape!;
        if (v.Constant is not null)
        {
            return ctx.Constant(v.Name + "_t", [s[1], s[0]], Transpose2D(v.Constant.ToFloatArray(), s[0], s[1]));
        }

        Value t = ctx.NewValue(v.Name + "_t", [s[1], s[0]]);
        ctx.Emit(OpCode.Transpose, new TransposeOptions([1, 0]), [v], t, v.Name + "_transpose");
        return t;
    }

    internal static float[] Transpose2D(float[] values, int rows, int cols)
    {
        var t = new float[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[c * rows + r] = values[r * cols + c];
            }
        }

        return t;
    }
}
