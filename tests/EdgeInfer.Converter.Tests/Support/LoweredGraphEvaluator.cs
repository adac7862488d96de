using EdgeInfer.Converter.Ir;
using EdgeInfer.Format;

namespace EdgeInfer.Converter.Tests.Support;

/// <summary>
/// A deliberately plain evaluator of a lowered graph, written from the operator contracts in OpCode.cs/OpOptions.cs
/// (NHWC convolution and pooling, OHWI weights, [N,K] FullyConnected weights, explicit pads, output clamps). It lets
/// the converter's passes be checked against ONNX Runtime independently of the runtime's optimized kernels; the
/// end-to-end tests then run the real Interpreter. Average pooling with count_include_pad divides by the window
/// clipped to the padded input (ONNX/PyTorch semantics).
/// </summary>
internal static class LoweredGraphEvaluator
{
    public static float[][] Run(Graph graph, params float[][] inputs)
    {
        var values = new Dictionary<Value, float[]>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < graph.Inputs.Count; i++)
        {
            values[graph.Inputs[i]] = inputs[i];
        }

        float[] Get(Value v) => v.Constant is { } c ? c.ToFloatArray() : values[v];
        foreach (Node n in graph.Nodes)
        {
            Assert.True(n.IsLowered, $"{n} is not lowered");
            float[]?[] x = [.. n.Inputs.Select(v => v is null ? null : Get(v))];
            int[][] s = [.. n.Inputs.Select(v => v?.Shape ?? [])];
            int[] ys = n.Output(0).Shape!;
            values[n.Output(0)] = n.Code switch
            {
                OpCode.FullyConnected => FullyConnected(x[0]!, x[1]!, x[2], s[1], (ClampOptions)n.Options!),
                OpCode.Conv2D => Conv(x[0]!, s[0], x[1]!, s[1], x[2], ys, (Conv2DOptions)n.Options!),
                OpCode.MaxPool2D or OpCode.AveragePool2D => Pool(x[0]!, s[0], ys, (Pool2DOptions)n.Options!, n.Code == OpCode.MaxPool2D),
                OpCode.GlobalAveragePool => GlobalAverage(x[0]!, s[0]),
                OpCode.Add => Binary(x[0]!, s[0], x[1]!, s[1], ys, (a, b) => a + b, (ClampOptions)n.Options!),
                OpCode.Sub => Binary(x[0]!, s[0], x[1]!, s[1], ys, (a, b) => a - b, (ClampOptions)n.Options!),
                OpCode.Mul => Binary(x[0]!, s[0], x[1]!, s[1], ys, (a, b) => a * b, (ClampOptions)n.Options!),
                OpCode.Div => Binary(x[0]!, s[0], x[1]!, s[1], ys, (a, b) => a / b, (ClampOptions)n.Options!),
                OpCode.Relu => Array.ConvertAll(x[0]!, v => MathF.Max(v, 0)),
                OpCode.Clip => Array.ConvertAll(x[0]!, v => Clamp(v, (ClampOptions)n.Options!)),
                OpCode.LeakyRelu => Array.ConvertAll(x[0]!, v => v >= 0 ? v : v * ((LeakyReluOptions)n.Options!).Alpha),
                OpCode.Sigmoid => Array.ConvertAll(x[0]!, v => 1f / (1f + MathF.Exp(-v))),
                OpCode.Tanh => Array.ConvertAll(x[0]!, MathF.Tanh),
                OpCode.HardSigmoid => Array.ConvertAll(x[0]!, v => MathF.Max(0, MathF.Min(1, ((HardSigmoidOptions)n.Options!).Alpha * v + ((HardSigmoidOptions)n.Options!).Beta))),
                OpCode.HardSwish => Array.ConvertAll(x[0]!, v => v * MathF.Max(0, MathF.Min(1, v / 6f + 0.5f))),
                OpCode.Swish => Array.ConvertAll(x[0]!, v => v * (1f / (1f + MathF.Exp(-v)))),
                OpCode.Abs => Array.ConvertAll(x[0]!, MathF.Abs),
                OpCode.Sqrt => Array.ConvertAll(x[0]!, MathF.Sqrt),
                OpCode.Exp => Array.ConvertAll(x[0]!, MathF.Exp),
                OpCode.Elu => Array.ConvertAll(x[0]!, v => Elu(v, (EluOptions)n.Options!)),
                OpCode.Softmax => Softmax(x[0]!, s[0], ((SoftmaxOptions)n.Options!).Axis),
                OpCode.LogSoftmax => LogSoftmax(x[0]!, s[0], (SoftmaxOptions)n.Options!),
                OpCode.Concat => Concat(x, s, ((ConcatOptions)n.Options!).Axis),
                OpCode.Reshape => (float[])x[0]!.Clone(),
                OpCode.Transpose => Transpose(x[0]!, s[0], ((TransposeOptions)n.Options!).Perm.ToArray()),
                OpCode.MatMul => MatMul(x[0]!, s[0], x[1]!, s[1], ys, (ClampOptions)n.Options!),
                OpCode.Slice => Slice(x[0]!, s[0], ys, (SliceOptions)n.Options!),
                OpCode.Lstm => Lstm(x[0]!, s[0], x[1]!, (RecurrentOptions)n.Options!),
                OpCode.Gru => Gru(x[0]!, s[0], x[1]!, x.Length > 2 ? x[2] : null, (RecurrentOptions)n.Options!),
                _ => throw new NotSupportedException(n.Code.ToString()),
            };
            Assert.Equal(Count(ys), values[n.Output(0)].Length);
        }

        return [.. graph.Outputs.Select(Get)];
    }

    private static long Count(int[] s) => s.Aggregate(1L, (a, d) => a * d);

    private static float Elu(float v, EluOptions o) => o.Scale * (v > 0 ? v : o.Alpha * (MathF.Exp(v) - 1));

    private static float Clamp(float v, ClampOptions c) => MathF.Min(MathF.Max(v, c.Min), c.Max);

    private static float[] FullyConnected(float[] x, float[] w, float[]? b, int[] ws, ClampOptions clamp)
    {
        int units = ws[0], depth = ws[1], rows = x.Length / depth;
        var y = new float[rows * units];
        for (int r = 0; r < rows; r++)
        {
            for (int u = 0; u < units; u++)
            {
                double sum = 0;
                for (int k = 0; k < depth; k++)
                {
                    sum += x[r * depth + k] * w[u * depth + k];
                }

                y[r * units + u] = Clamp((float)(sum + (b?[u] ?? 0)), clamp);
            }
        }

        return y;
    }

    private static float[] Conv(float[] x, int[] xs, float[] w, int[] ws, float[]? b, int[] ys, Conv2DOptions o)
    {
        int n = xs[0], h = xs[1], wd = xs[2], c = xs[3];
        int oc = ws[0], kh = ws[1], kw = ws[2], icg = ws[3];
        int oh = ys[1], ow = ys[2];
        int ocg = oc / o.Groups;
        var y = new float[n * oh * ow * oc];
        for (int b0 = 0; b0 < n; b0++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    for (int m = 0; m < oc; m++)
                    {
                        int g = m / ocg;
                        double sum = 0;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = oy * o.StrideH - o.PadTop + ky * o.DilationH;
                            if (iy < 0 || iy >= h)
                            {
                                continue;
                            }

                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ox * o.StrideW - o.PadLeft + kx * o.DilationW;
                                if (ix < 0 || ix >= wd)
                                {
                                    continue;
                                }

                                for (int ci = 0; ci < icg; ci++)
                                {
                                    sum += x[((b0 * h + iy) * wd + ix) * c + g * icg + ci] * w[((m * kh + ky) * kw + kx) * icg + ci];
                                }
                            }
                        }

                        y[((b0 * oh + oy) * ow + ox) * oc + m] = Clamp((float)(sum + (b?[m] ?? 0)), o.Clamp);
                    }
                }
            }
        }

        return y;
    }

    private static float[] Pool(float[] x, int[] xs, int[] ys, Pool2DOptions o, bool max)
    {
        int n = xs[0], h = xs[1], wd = xs[2], c = xs[3], oh = ys[1], ow = ys[2];
        var y = new float[n * oh * ow * c];
        for (int b = 0; b < n; b++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        float acc = max ? float.NegativeInfinity : 0;
                        int count = 0, padded = 0;
                        for (int ky = 0; ky < o.KernelH; ky++)
                        {
                            int iy = oy * o.StrideH - o.PadTop + ky * o.DilationH;
                            for (int kx = 0; kx < o.KernelW; kx++)
                            {
                                int ix = ox * o.StrideW - o.PadLeft + kx * o.DilationW;
                                if (iy < h + o.PadBottom && ix < wd + o.PadRight)
                                {
                                    padded++;
                                }

                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                                {
                                    continue;
                                }

                                float v = x[((b * h + iy) * wd + ix) * c + ch];
                                acc = max ? MathF.Max(acc, v) : acc + v;
                                count++;
                            }
                        }

                        y[((b * oh + oy) * ow + ox) * c + ch] = Clamp(max ? acc : acc / (o.CountIncludePad ? padded : count), o.Clamp);
                    }
                }
            }
        }

        return y;
    }

    private static float[] GlobalAverage(float[] x, int[] xs)
    {
        int n = xs[0], hw = xs[1] * xs[2], c = xs[3];
        var y = new float[n * c];
        for (int b = 0; b < n; b++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                double sum = 0;
                for (int i = 0; i < hw; i++)
                {
                    sum += x[(b * hw + i) * c + ch];
                }

                y[b * c + ch] = (float)(sum / hw);
            }
        }

        return y;
    }

    private static int[] Map(int[] input, int[] output)
    {
        int rank = output.Length;
        var strides = new long[rank];
        long step = 1;
        for (int i = input.Length - 1; i >= 0; i--)
        {
            int k = i + rank - input.Length;
            strides[k] = input[i] == 1 ? 0 : step;
            step *= input[i];
        }

        var map = new int[Count(output)];
        var index = new int[rank];
        for (int f = 0; f < map.Length; f++)
        {
            long off = 0;
            for (int d = 0; d < rank; d++)
            {
                off += index[d] * strides[d];
            }

            map[f] = (int)off;
            for (int d = rank - 1; d >= 0 && ++index[d] == output[d]; d--)
            {
                index[d] = 0;
            }
        }

        return map;
    }

    private static float[] Binary(float[] a, int[] as_, float[] b, int[] bs, int[] ys, Func<float, float, float> f, ClampOptions clamp)
    {
        int[] am = Map(as_, ys), bm = Map(bs, ys);
        return [.. Enumerable.Range(0, am.Length).Select(i => Clamp(f(a[am[i]], b[bm[i]]), clamp))];
    }

    /// <summary>(β·x − m) − log Σ exp(β·x − m) along the axis, in double.</summary>
    private static float[] LogSoftmax(float[] x, int[] s, SoftmaxOptions o)
    {
        int outer = (int)Count(s[..o.Axis]), dim = s[o.Axis], inner = (int)Count(s[(o.Axis + 1)..]);
        var y = new float[x.Length];
        for (int b = 0; b < outer; b++)
        {
            for (int i = 0; i < inner; i++)
            {
                double m = double.NegativeInfinity, sum = 0;
                for (int d = 0; d < dim; d++)
                {
                    m = Math.Max(m, (double)o.Beta * x[(b * dim + d) * inner + i]);
                }

                for (int d = 0; d < dim; d++)
                {
                    sum += Math.Exp((double)o.Beta * x[(b * dim + d) * inner + i] - m);
                }

                for (int d = 0; d < dim; d++)
                {
                    y[(b * dim + d) * inner + i] = (float)((double)o.Beta * x[(b * dim + d) * inner + i] - m - Math.Log(sum));
                }
            }
        }

        return y;
    }

    private static float[] Softmax(float[] x, int[] s, int axis)
    {
        int outer = (int)Count(s[..axis]), dim = s[axis], inner = (int)Count(s[(axis + 1)..]);
        var y = new float[x.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                float m = float.NegativeInfinity;
                for (int d = 0; d < dim; d++)
                {
                    m = MathF.Max(m, x[(o * dim + d) * inner + i]);
                }

                float sum = 0;
                for (int d = 0; d < dim; d++)
                {
                    sum += y[(o * dim + d) * inner + i] = MathF.Exp(x[(o * dim + d) * inner + i] - m);
                }

                for (int d = 0; d < dim; d++)
                {
                    y[(o * dim + d) * inner + i] /= sum;
                }
            }
        }

        return y;
    }

    private static float[] Concat(float[]?[] x, int[][] s, int axis)
    {
        var y = new List<float>();
        int outer = (int)Count(s[0][..axis]);
        for (int o = 0; o < outer; o++)
        {
            for (int p = 0; p < x.Length; p++)
            {
                int block = (int)Count(s[p][axis..]);
                y.AddRange(x[p]!.Skip(o * block).Take(block));
            }
        }

        return [.. y];
    }

    /// <summary>Output [i₀, …] = input [Begin₀ + i₀·Step₀, …].</summary>
    private static float[] Slice(float[] x, int[] s, int[] ys, SliceOptions o)
    {
        var y = new float[Count(ys)];
        var index = new int[ys.Length];
        for (int f = 0; f < y.Length; f++)
        {
            long off = 0;
            for (int d = 0; d < ys.Length; d++)
            {
                off = off * s[d] + o.Begin[d] + (long)index[d] * o.Step[d];
            }

            y[f] = x[off];
            for (int d = ys.Length - 1; d >= 0 && ++index[d] == ys[d]; d--)
            {
                index[d] = 0;
            }
        }

        return y;
    }

    /// <summary>The steps of a [T, N, G] (time axis 0) or [N, T, G] (1) sequence in the order a recurrence reads them.</summary>
    private static (int Steps, int Batch, int[] Order) Sequence(int[] ps, RecurrentOptions o)
    {
        int steps = ps[o.TimeAxis], batch = ps[1 - o.TimeAxis];
        int[] order = [.. Enumerable.Range(0, steps)];
        if (o.Reverse)
        {
            Array.Reverse(order);
        }

        return (steps, batch, order);
    }

    /// <summary>Offset of (t, b) in a [T, N, width] or [N, T, width] tensor.</summary>
    private static int At(RecurrentOptions o, int t, int b, int steps, int batch, int width)
        => (o.TimeAxis == 0 ? t * batch + b : b * steps + t) * width;

    private static double Activation(RecurrentActivation a, double v) => a.Op switch
    {
        OpCode.Sigmoid => 1 / (1 + Math.Exp(-v)),
        OpCode.Tanh => Math.Tanh(v),
        OpCode.Relu => Math.Max(v, 0),
        OpCode.HardSigmoid => Math.Max(0, Math.Min(1, a.Alpha * v + a.Beta)),
        _ => throw new NotSupportedException($"recurrent activation {a}"),
    };

    /// <summary>Σ_k w[row, k]·v[k] over a [rows, width] matrix.</summary>
    private static double Dot(float[] w, int row, double[] v)
    {
        double sum = 0;
        for (int k = 0; k < v.Length; k++)
        {
            sum += w[row * v.Length + k] * v[k];
        }

        return sum;
    }

    /// <summary>
    /// OpCode.Lstm from its definition, in double: per step z = P_t + R·h (gate blocks i, f, g, o), c = f·c + i·g
    /// (clamped to ±CellClip when that is positive), h = o·output(c), states starting at zero; the hidden states listed
    /// in time order.
    /// </summary>
    private static float[] Lstm(float[] p, int[] ps, float[] r, RecurrentOptions o)
    {
        int hidden = ps[2] / 4;
        (int steps, int batch, int[] order) = Sequence(ps, o);
        var y = new float[steps * batch * hidden];
        for (int b = 0; b < batch; b++)
        {
            var h = new double[hidden];
            var c = new double[hidden];
            foreach (int t in order)
            {
                int pAt = At(o, t, b, steps, batch, 4 * hidden);
                var next = new double[hidden];
                for (int u = 0; u < hidden; u++)
                {
                    double Gate(int g) => p[pAt + g * hidden + u] + Dot(r, g * hidden + u, h);
                    double i = Activation(o.Gate, Gate(0)), f = Activation(o.Gate, Gate(1));
                    double g = Activation(o.Candidate, Gate(2)), og = Activation(o.Gate, Gate(3));
                    c[u] = f * c[u] + i * g;
                    if (o.CellClip > 0)
                    {
                        c[u] = Math.Clamp(c[u], -o.CellClip, o.CellClip);
                    }

                    next[u] = og * Activation(o.Output, c[u]);
                }

                h = next;
                for (int u = 0; u < hidden; u++)
                {
                    y[At(o, t, b, steps, batch, hidden) + u] = (float)h[u];
                }
            }
        }

        return y;
    }

    /// <summary>
    /// OpCode.Gru from its definition, in double: per step z, r = gate(P_zr + R_zr·h); n = candidate(P_n + r·(R_n·h + b))
    /// (reset-after) or candidate(P_n + R_n·(r·h)); h = (1 − z)·n + z·h, from h = 0.
    /// </summary>
    private static float[] Gru(float[] p, int[] ps, float[] r, float[]? candidateBias, RecurrentOptions o)
    {
        int hidden = ps[2] / 3;
        (int steps, int batch, int[] order) = Sequence(ps, o);
        var y = new float[steps * batch * hidden];
        for (int b = 0; b < batch; b++)
        {
            var h = new double[hidden];
            foreach (int t in order)
            {
                int pAt = At(o, t, b, steps, batch, 3 * hidden);
                var z = new double[hidden];
                var reset = new double[hidden];
                for (int u = 0; u < hidden; u++)
                {
                    z[u] = Activation(o.Gate, p[pAt + u] + Dot(r, u, h));
                    reset[u] = Activation(o.Gate, p[pAt + hidden + u] + Dot(r, hidden + u, h));
                }

                double[] resetH = [.. h.Select((v, u) => reset[u] * v)];
                var next = new double[hidden];
                for (int u = 0; u < hidden; u++)
                {
                    double recurrent = o.ResetAfter
                        ? reset[u] * (Dot(r, 2 * hidden + u, h) + candidateBias![u])
                        : Dot(r, 2 * hidden + u, resetH);
                    double n = Activation(o.Candidate, p[pAt + 2 * hidden + u] + recurrent);
                    next[u] = (1 - z[u]) * n + z[u] * h[u];
                }

                h = next;
                for (int u = 0; u < hidden; u++)
                {
                    y[At(o, t, b, steps, batch, hidden) + u] = (float)h[u];
                }
            }
        }

        return y;
    }

    private static float[] Transpose(float[] x, int[] s, int[] perm)
    {
        int[] ys = [.. perm.Select(p => s[p])];
        var inStrides = new long[s.Length];
        long step = 1;
        for (int i = s.Length - 1; i >= 0; i--)
        {
            inStrides[i] = step;
            step *= s[i];
        }

        var y = new float[x.Length];
        var index = new int[ys.Length];
        for (int f = 0; f < y.Length; f++)
        {
            long off = 0;
            for (int d = 0; d < ys.Length; d++)
            {
                off += index[d] * inStrides[perm[d]];
            }

            y[f] = x[off];
            for (int d = ys.Length - 1; d >= 0 && ++index[d] == ys[d]; d--)
            {
                index[d] = 0;
            }
        }

        return y;
    }

    private static float[] MatMul(float[] a, int[] as_, float[] b, int[] bs, int[] ys, ClampOptions clamp)
    {
        int m = as_[^2], k = as_[^1], n = bs[^1];
        int[] batch = ys[..^2];
        int[] am = Map([.. as_[..^2], 1, 1], [.. batch, 1, 1]), bm = Map([.. bs[..^2], 1, 1], [.. batch, 1, 1]);
        var y = new float[Count(ys)];
        for (int p = 0; p < am.Length; p++)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int t = 0; t < k; t++)
                    {
                        sum += a[am[p] * m * k + i * k + t] * b[bm[p] * k * n + t * n + j];
                    }

                    y[(p * m + i) * n + j] = Clamp((float)sum, clamp);
                }
            }
        }

        return y;
    }
}
