using EdgeInfer.Runtime.Kernels.Common;

namespace EdgeInfer.Runtime.Tests.Kernels;

/// <summary>The shared reductions, on every path and every length 0..70, against the order written out in the test.</summary>
public unsafe class CanonicalReductionTests
{
    public static TheoryData<KernelPath> Paths => [.. KernelPaths.Supported];

    [Theory]
    [MemberData(nameof(Paths))]
    public void DotSumMax_FollowTheCanonicalOrder_ForEveryLength(KernelPath path)
    {
        var rng = new Random(17);
        for (int length = 0; length <= 70; length++)
        {
            // Wide magnitudes make the rounding depend on the order, so a different order shows.
            float[] a = [.. KernelAssert.Random(rng, length).Select((v, i) => v * MathF.Pow(10, i % 7 - 3))];
            float[] b = KernelAssert.Random(rng, length);
            Assert.Equal(CanonicalOrder.Dot(a, b), Dot(path, a, b));
            Assert.Equal(CanonicalOrder.Sum(a), Sum(path, a));
            Assert.Equal(length == 0 ? float.NegativeInfinity : a.Max(), Max(path, a));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Tile_GivesEightCanonicalDotProducts_ForEveryShapeOfTile(KernelPath path)
    {
        var rng = new Random(5);
        foreach (int length in new[] { 1, 7, 8, 9, 16, 23, 64, 99 })
        {
            float[][] a = [KernelAssert.Random(rng, length), KernelAssert.Random(rng, length)];
            float[][] b = [.. Enumerable.Range(0, 4).Select(_ => KernelAssert.Random(rng, length, -100, 100))];
            for (int rows = 1; rows <= 2; rows++)
            {
                for (int cols = 1; cols <= 4; cols++)
                {
                    var c = new float[2 * 4];
                    fixed (float* a0 = a[0], a1 = a[1], b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], c0 = c)
                    {
                        FloatDot.Tile2x4(path, a0, rows > 1 ? a1 : a0, b0, cols > 1 ? b1 : b0, cols > 2 ? b2 : b0, cols > 3 ? b3 : b0, length, c0, c0 + 4, rows, cols);
                    }

                    for (int r = 0; r < 2; r++)
                    {
                        for (int j = 0; j < 4; j++)
                        {
                            float expected = r < rows && j < cols ? CanonicalOrder.Dot(a[r], b[j]) : 0f;
                            Assert.Equal(expected, c[r * 4 + j]);
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
                float sum = CanonicalOrder.Sum(column), dot = CanonicalOrder.Dot(column, weights), max = column.Contains(float.NaN) ? float.NaN : column.Max();
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
            T.Store(FloatColumns.DotTaps<T>(taps, rows, pw, columns, c), ref lanes[0], 0);
            Assert.Equal(dot, lanes[0]);
            T.Store(FloatColumns.MaxStrided<T>(px, rows, columns, c), ref lanes[0], 0);
            Assert.Equal(max, lanes[0]);
            T.Store(FloatColumns.MaxTaps<T>(taps, rows, c), ref lanes[0], 0);
            Assert.Equal(max, lanes[0]);
        }
    }

    private static float Dot(KernelPath path, float[] a, float[] b) => a.Length == 0 ? FloatDot.Dot(path, ref Dummy(), ref Dummy(), 0) : FloatDot.Dot(path, ref a[0], ref b[0], a.Length);

    private static float Sum(KernelPath path, float[] a) => a.Length == 0 ? FloatDot.Sum(path, ref Dummy(), 0) : FloatDot.Sum(path, ref a[0], a.Length);

    private static float Max(KernelPath path, float[] a) => a.Length == 0 ? FloatDot.Max(path, ref Dummy(), 0) : FloatDot.Max(path, ref a[0], a.Length);

    private static ref float Dummy() => ref DummyArray[0];

    private static readonly float[] DummyArray = new float[1];
}
