using EdgeInfer.Format;
using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Tests.Kernels;

/// <summary>
/// The fused Lstm and Gru cells written out plainly in float, step by step, row by row, element by element, in the
/// order the operators' definitions give (each elementwise operation rounded on its own), around a recurrent product
/// the test supplies: the float chain (FloatGemm's order) or the hybrid int8 product. The kernels must match it bit
/// for bit.
/// </summary>
/// <param name="product">Rows [first, first + count) of R times h: (first, count, h) → count values.</param>
internal sealed class RecurrentCellReference(int steps, int rows, int hidden, int timeAxis, bool reverse, Func<int, int, float[], float[]> product)
{
    public int Index(int t, int n, int width) => (timeAxis == 0 ? t * rows + n : n * steps + t) * width;

    public float[] RowOf(float[] y, int t, int n, int width) => y[Index(t, n, width)..(Index(t, n, width) + width)];

    public void Fill(float[] p, int t, int n, int width, int from, int count, float value)
        => Array.Fill(p, value, Index(t, n, width) + from, count);

    public IEnumerable<int> Order => reverse ? Enumerable.Range(0, steps).Reverse() : Enumerable.Range(0, steps);

    public float[] Lstm(float[] p, RecurrentOptions o)
    {
        int h = hidden;
        var y = new float[steps * rows * h];
        for (int n = 0; n < rows; n++)
        {
            float[]? hPrev = null;
            var c = new float[h];
            foreach (int t in Order)
            {
                int at = Index(t, n, 4 * h);
                float[]? rh = hPrev is null ? null : product(0, 4 * h, hPrev);
                float[] z = [.. Enumerable.Range(0, 4 * h).Select(j => rh is null ? p[at + j] : p[at + j] + rh[j])];
                var hNew = new float[h];
                for (int j = 0; j < h; j++)
                {
                    float i = Act(o.Gate, z[j]), f = Act(o.Gate, z[h + j]), g = Act(o.Candidate, z[2 * h + j]), og = Act(o.Gate, z[3 * h + j]);
                    float ig = i * g;
                    c[j] = hPrev is null ? ig : (f * c[j]) + ig;
                    c[j] = o.CellClip > 0 ? CanonicalOrder.Clamp(c[j], -o.CellClip, o.CellClip) : c[j];
                    hNew[j] = og * Act(o.Output, c[j]);
                }

                hNew.CopyTo(y, Index(t, n, h));
                hPrev = hNew;
            }
        }

        return y;
    }

    public float[] Gru(float[] p, float[] b, RecurrentOptions o)
    {
        int h = hidden;
        var y = new float[steps * rows * h];
        for (int n = 0; n < rows; n++)
        {
            float[]? hPrev = null;
            foreach (int t in Order)
            {
                int at = Index(t, n, 3 * h);
                float[]? gates = hPrev is null ? null : product(0, o.ResetAfter ? 3 * h : 2 * h, hPrev);
                float[] zr = [.. Enumerable.Range(0, 2 * h).Select(j => Act(o.Gate, gates is null ? p[at + j] : p[at + j] + gates[j]))];
                float[]? candidateProduct = hPrev is null || o.ResetAfter
                    ? null
                    : product(2 * h, h, [.. Enumerable.Range(0, h).Select(j => zr[h + j] * hPrev[j])]);
                var hNew = new float[h];
                for (int j = 0; j < h; j++)
                {
                    float candidate;
                    if (o.ResetAfter)
                    {
                        float hh = gates is null ? b[j] : gates[2 * h + j] + b[j];
                        candidate = p[at + 2 * h + j] + (zr[h + j] * hh);
                    }
                    else
                    {
                        candidate = candidateProduct is null ? p[at + 2 * h + j] : p[at + 2 * h + j] + candidateProduct[j];
                    }

                    float nj = Act(o.Candidate, candidate);
                    hNew[j] = hPrev is null ? nj - (zr[j] * nj) : nj + (zr[j] * (hPrev[j] - nj));
                }

                hNew.CopyTo(y, Index(t, n, h));
                hPrev = hNew;
            }
        }

        return y;
    }

    /// <summary>The float product: each value one fused multiply-add chain from +0 over k (FloatGemm's order).</summary>
    public static Func<int, int, float[], float[]> FloatChain(float[] r, int hidden) => (first, count, h) =>
    {
        var y = new float[count];
        for (int j = 0; j < count; j++)
        {
            float s = 0;
            for (int k = 0; k < hidden; k++)
            {
                s = MathF.FusedMultiplyAdd(h[k], r[(first + j) * hidden + k], s);
            }

            y[j] = s;
        }

        return y;
    };

    private static float Act(RecurrentActivation a, float x) => a.Op switch
    {
        OpCode.Sigmoid => FloatMath.Sigmoid(x),
        OpCode.Tanh => FloatMath.Tanh(x),
        OpCode.Relu => x < 0 ? 0 : x,
        _ => CanonicalOrder.Clamp(MathF.FusedMultiplyAdd(a.Alpha, x, a.Beta), 0, 1),
    };
}
