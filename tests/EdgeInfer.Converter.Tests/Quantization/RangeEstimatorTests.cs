using EdgeInfer.Converter.Quantization;

namespace EdgeInfer.Converter.Tests.Quantization;

public class RangeEstimatorTests
{
    private static ActivationStatistics Observe(float[] values)
    {
        var s = new ActivationStatistics();
        s.ObserveRange(values);
        s.ObserveHistogram(values);
        return s;
    }

    /// <summary>10,000 values ~ N(0,1) folded to ≥ 0 (a ReLU output) plus one outlier at 100.</summary>
    private static float[] ReluWithOutlier()
    {
        var rng = new Random(5);
        float[] v = new float[10_001];
        for (int i = 0; i < 10_000; i++)
        {
            v[i] = (float)Math.Abs(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        }

        v[^1] = 100;
        return v;
    }

    [Fact]
    public void MinMax_KeepsTheOutlier()
    {
        (double min, double max) = RangeEstimator.Estimate(Observe(ReluWithOutlier()), CalibrationMethod.MinMax, 0);
        Assert.InRange(min, 0, 0.01);
        Assert.Equal(100, max);
    }

    [Theory]
    [InlineData(CalibrationMethod.Percentile)]
    [InlineData(CalibrationMethod.Entropy)]
    public void ClippingMethods_DropTheOutlier_AndKeepTheBulk(CalibrationMethod method)
    {
        (double min, double max) = RangeEstimator.Estimate(Observe(ReluWithOutlier()), method, 99.9);
        Assert.InRange(min, 0, 0.01);
        Assert.InRange(max, 2.0, 15.0); // the bulk reaches ~3.9; the outlier at 100 is clipped
    }

    [Fact]
    public void Mse_HeavyTails_BeatsMinMaxInSquaredError()
    {
        // Laplace-distributed values: many moderate outliers, where clipping pays.
        var rng = new Random(9);
        float[] v = [.. Enumerable.Range(0, 20_000).Select(_ => (float)(-Math.Log(1 - rng.NextDouble()) * (rng.Next(2) == 0 ? 1 : -1)))];
        ActivationStatistics s = Observe(v);
        double mse = SquaredError(v, RangeEstimator.Estimate(s, CalibrationMethod.Mse, 0));
        double minMax = SquaredError(v, RangeEstimator.Estimate(s, CalibrationMethod.MinMax, 0));
        Assert.True(mse < minMax, $"MSE range error {mse} should be below min/max's {minMax}");
    }

    private static double SquaredError(float[] values, (double Min, double Max) range)
    {
        (float scale, int zp) = QuantParams.Asymmetric(range.Min, range.Max);
        return values.Sum(x => Math.Pow(x - scale * (QuantParams.Quantize(x, scale, zp) - zp), 2));
    }

    [Fact]
    public void Percentile_100_IsTheMaximum()
    {
        float[] v = [.. Enumerable.Range(0, 1000).Select(i => i / 100f)];
        (_, double max) = RangeEstimator.Estimate(Observe(v), CalibrationMethod.Percentile, 100);
        Assert.Equal(9.99, max, 2);
    }

    [Fact]
    public void Estimate_NeverObserved_IsZeroRange()
        => Assert.Equal((0d, 0d), RangeEstimator.Estimate(new ActivationStatistics(), CalibrationMethod.Entropy, 99.99));

    [Theory]
    [InlineData(CalibrationMethod.Entropy)]
    [InlineData(CalibrationMethod.Mse)]
    [InlineData(CalibrationMethod.Percentile)]
    public void ReluOutput_HalfExactZeros_KeepsTheBulk(CalibrationMethod method)
    {
        // A ReLU output: half exact zeros, half |N(0,1)|. Zeros are exact in any int8 range, so the threshold must
        // follow the nonzero values (their 99th percentile is 2.58), not collapse towards the spike at 0.
        float[] relu = ReluWithOutlier()[..10_000];
        float[] v = [.. relu, .. new float[10_000]];
        (_, double max) = RangeEstimator.Estimate(Observe(v), method, 99.99);
        Assert.InRange(max, 2.5, v.Max());
    }
}

