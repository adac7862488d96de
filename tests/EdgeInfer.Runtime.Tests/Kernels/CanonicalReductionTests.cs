using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Tests.Kernels;

/// <summary>The shared reductions and the matrix product, on every path, against the orders written out in the test.</summary>
public unsafe class CanonicalReductionTests
{
    public static TheoryData<KernelPath> Paths => [.. KernelPaths.Supported];

    [Theory]
    [MemberData(nameof(Paths))]
    public void SumMax_FollowTheCanonicalOrder_ForEveryLength(KernelPath path)
    {
        var rng = new Random(17);
        for (int length = 0; length <= 70; length++)
        {
            // Wide magnitudes make the rounding depend on the order, so a different order shows.
            float[] a = [.. KernelAssert.Random(rng, length).Select((v, i) => v * MathF.Pow(10, i % 7 - 3))];
            Assert.Equal(CanonicalOrder.Sum(a), Sum(path, a));
            Assert.Equal(length == 0 ? float.NegativeInfinity : a.Max(), Max(path, a));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Gemm_GivesEveryOutputItsSequentialChain_ForEveryShapeOfTile(KernelPath path)
    {
        // Shapes around the register tile (4 rows × 2 vectors of 1, 4 or 8 columns), the 8-column panels, the
        // 16-row block, and K from empty to long; wide magnitudes so that any other order of the terms shows.
        var rng = new Random(5);
        foreach (int k in new[] { 0, 1, 7, 9, 23, 64, 99 })
        {
            foreach (int m in new[] { 1, 2, 3, 4, 5, 9, 17 })
            {
                foreach (int n in new[] { 1, 3, 4, 7, 8, 9, 15, 16, 17, 33 })
                {
                    float[] a = [.. KernelAssert.Random(rng, m * k).Select((v, i) => v * MathF.Pow(10, i % 7 - 3))];
                    float[] bt = KernelAssert.Random(rng, n * k, -100, 100);
                    float[] b = new float[k * n];
                    for (int j = 0; j < n; j++)
                    {
                        for (int t = 0; t < k; t++)
                        {
                            b[t * n + j] = bt[j * k + t];
                        }
                    }

                    float[] bias = KernelAssert.Random(rng, n);
                    (float min, float max) = (-50f, 60f);
                    var fromRows = new float[m * n];
                    var fromColumns = new float[m * n];
                    var packed = new float[FloatGemm.PackedLength(n, k) + 1];
                    fixed (float* pa = a, pbt = bt, pb = b, pp = packed, pbias = bias, c1 = fromRows, c2 = fromColumns)
                    {
                        FloatGemm.PackRows(pbt, k, n, k, pp);
                        FloatGemm.Multiply(path, pa, k, m, pp, n, k, c1, n, pbias, min, max);
                        FloatGemm.PackColumns(pb, n, n, k, pp);
                        FloatGemm.Multiply(path, pa, k, m, pp, n, k, c2, n, pbias, min, max);
                    }

                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            float chain = CanonicalOrder.Chain(new ArraySegment<float>(a, i * k, k), new ArraySegment<float>(bt, j * k, k));
                            float expected = CanonicalOrder.Clamp(chain + bias[j], min, max);
                            Assert.Equal(expected, fromRows[i * n + j]);
                            Assert.Equal(expected, fromColumns[i * n + j]);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void ColumnReductions_GiveEachLaneItsCanonicalResult_AtEveryWidth()
    {
        const int Columns = 13;
        var rng = new Random(9);
        foreach (int rows in new[] { 1, 5, 8, 9, 17, 40 })
        {
            float[] x = [.. KernelAssert.Random(rng, rows * Columns).Select((v, i) => v * MathF.Pow(10, i % 5 - 2))];
            float[] w = KernelAssert.Random(rng, rows * Columns);
            x[(rows - 1) * Columns + 3] = float.NaN;
            for (int c = 0; c < Columns; c++)
            {
                float[] column = [.. Enumerable.Range(0, rows).Select(t => x[t * Columns + c])];
                float[] weights = [.. Enumerable.Range(0, rows).Select(t => w[t * Columns + c])];
                float sum = CanonicalOrder.Sum(column), dot = CanonicalOrder.Chain(column, weights), max = column.Contains(float.NaN) ? float.NaN : column.Max();
                AssertColumn<ScalarFloat>(x, w, rows, Columns, c, sum, dot, max);
                if (c + 4 <= Columns && System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
                {
                    AssertColumn<Float128>(x, w, rows, Columns, c, sum, dot, max);
                }

                if (c + 8 <= Columns && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
                {
                    AssertColumn<Float256>(x, w, rows, Columns, c, sum, dot, max);
                }
            }
        }
    }

    /// <summary>Checks lane 0 of each reduction started at column c (lane 0 holds column c at every width).</summary>
    private static void AssertColumn<T>(float[] x, float[] w, int rows, int columns, int c, float sum, float dot, float max) where T : struct, IFloatVector<T>
    {
        var lanes = new float[T.Count];
        fixed (float* px = x, pw = w, pl = lanes)
        {
            float** taps = stackalloc float*[rows];
            for (int t = 0; t < rows; t++)
            {
                taps[t] = px + t * columns;
            }

            T.Store(FloatColumns.SumStrided<T>(px, rows, columns, c), ref lanes[0], 0);
            Assert.Equal(sum, lanes[0]);
            T.Store(FloatColumns.SumTaps<T>(taps, rows, c), ref lanes[0], 0);
            Assert.Equal(sum, lanes[0]);
            T.Store(FloatColumns.ChainTaps<T>(taps, rows, pw, columns, c), ref lanes[0], 0);
            Assert.Equal(dot, lanes[0]);
            T.Store(FloatColumns.MaxStrided<T>(px, rows, columns, c), ref lanes[0], 0);
            Assert.Equal(max, lanes[0]);
            T.Store(FloatColumns.MaxTaps<T>(taps, rows, c), ref lanes[0], 0);
            Assert.Equal(max, lanes[0]);
        }
    }

    private static float Sum(KernelPath path, float[] a) => a.Length == 0 ? FloatDot.Sum(path, ref Dummy(), 0) : FloatDot.Sum(path, ref a[0], a.Length);

    private static float Max(KernelPath path, float[] a) => a.Length == 0 ? FloatDot.Max(path, ref Dummy(), 0) : FloatDot.Max(path, ref a[0], a.Length);

    private static ref float Dummy() => ref DummyArray[0];

    private static readonly float[] DummyArray = new float[1];
}
