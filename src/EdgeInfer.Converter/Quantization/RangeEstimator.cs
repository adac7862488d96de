namespace EdgeInfer.Converter.Quantization;

/// <summary>
/// The values one activation took over the calibration set: its extremes and a histogram of |x| with
/// <see cref="Bins"/> equal bins over [0, max |x|], filled in a second pass once the extremes are known. Exact zeros
/// (half of a typical ReLU output) are counted apart: every int8 range represents 0 exactly, so they carry no
/// quantization error whatever the threshold, and left in the first bin they would drown the distribution the
/// entropy and MSE searches weigh (entropy then clips a ReLU layer at a fraction of its range).
/// </summary>
public sealed class ActivationStatistics
{
    public const int Bins = 2048;

    public double Min { get; private set; } = double.PositiveInfinity;
    public double Max { get; private set; } = double.NegativeInfinity;
    public double AbsMax => Math.Max(Math.Abs(Min), Math.Abs(Max));
    public long[] Histogram { get; } = new long[Bins];
    public long Count { get; private set; }

    /// <summary>Observed values that were exactly 0 (part of <see cref="Count"/>, not of <see cref="Histogram"/>).</summary>
    public long Zeros { get; private set; }

    /// <summary>Pass 1: extremes.</summary>
    public void ObserveRange(ReadOnlySpan<float> values)
    {
        double min = Min, max = Max;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }

        Min = min;
        Max = max;
    }

    /// <summary>Pass 2: histogram of |x| over [0, AbsMax].</summary>
    public void ObserveHistogram(ReadOnlySpan<float> values)
    {
        double absMax = AbsMax;
        if (!(absMax > 0))
        {
            Count += values.Length;
            Zeros += values.Length;
            return;
        }

        double perBin = Bins / absMax;
        foreach (float v in values)
        {
            if (v == 0)
            {
                Zeros++;
                Count++;
            }
            else if (float.IsFinite(v))
            {
                int bin = (int)Math.Min(Math.Abs(v) * perBin, Bins - 1);
                Histogram[bin]++;
                Count++;
            }
        }
    }
}

/// <summary>
/// Turns activation statistics into a clipping range. Min/max keeps every value but lets one outlier stretch the
/// scale; the other methods trade clipping a few outliers for finer steps everywhere else:
/// <list type="bullet">
/// <item>Percentile: the |x| below which the given percentage of values fall.</item>
/// <item>Entropy: the threshold T minimizing KL(P‖Q), P the |x| histogram clipped at T (outliers folded into the
/// last bin), Q that histogram requantized into the number of int8 levels the range will get (the method TensorRT
/// popularized).</item>
/// <item>MSE: the threshold minimizing the expected squared error of rounding and clipping, over the histogram.</item>
/// </list>
/// All thresholds act on |x|; the result is [max(min, −T), min(max, T)], so a ReLU output (min 0) keeps min 0 and
/// spends all 255 levels on [0, T].
/// </summary>
public static class RangeEstimator
{
    public static (double Min, double Max) Estimate(ActivationStatistics s, CalibrationMethod method, double percentile)
    {
        if (double.IsInfinity(s.Min))
        {
            return (0, 0); // never observed (e.g. no samples): the caller treats it as all zeros
        }

        if (method == CalibrationMethod.MinMax || s.Count == 0 || !(s.AbsMax > 0))
        {
            return (s.Min, s.Max);
        }

        double threshold = method switch
        {
            CalibrationMethod.Percentile => PercentileThreshold(s, percentile),
            CalibrationMethod.Entropy => EntropyThreshold(s),
            CalibrationMethod.Mse => MseThreshold(s),
            _ => s.AbsMax,
        };
        return (Math.Max(s.Min, -threshold), Math.Min(s.Max, threshold));
    }

    private static double BinWidth(ActivationStatistics s) => s.AbsMax / ActivationStatistics.Bins;

    private static double PercentileThreshold(ActivationStatistics s, double percentile)
    {
        long wanted = (long)Math.Ceiling(s.Count * Math.Clamp(percentile, 0, 100) / 100.0);
        long seen = s.Zeros;
        for (int i = 0; i < ActivationStatistics.Bins; i++)
        {
            seen += s.Histogram[i];
            if (seen >= wanted)
            {
                return (i + 1) * BinWidth(s);
            }
        }

        return s.AbsMax;
    }

    private static double EntropyThreshold(ActivationStatistics s)
    {
        int levels = s.Min >= 0 ? 255 : 128; // one-sided ranges get every level on one side
        long[] h = s.Histogram;
        int bins = ActivationStatistics.Bins;
        double bestKl = double.PositiveInfinity;
        int bestEnd = bins;
        var p = new double[bins];
        var q = new double[bins];
        for (int end = levels; end <= bins; end += 8)
        {
            // P: the first `end` bins, with everything beyond folded into the last kept bin.
            long outliers = 0;
            for (int i = end; i < bins; i++)
            {
                outliers += h[i];
            }

            for (int i = 0; i < end; i++)
            {
                p[i] = h[i];
            }

            p[end - 1] += outliers;

            // Q: the clipped histogram WITHOUT the outliers, merged into `levels` groups, each group's mass spread
            // evenly over its non-empty bins. Q lacks the mass clipping moved into P's last bin, which is what makes
            // a too-small threshold expensive (with the outliers in Q too, end = levels would reproduce P exactly
            // and always win with KL = 0).
            for (int g = 0; g < levels; g++)
            {
                int from = (int)((long)g * end / levels);
                int to = (int)((long)(g + 1) * end / levels);
                double mass = 0;
                int nonEmpty = 0;
                for (int i = from; i < to; i++)
                {
                    mass += h[i];
                    nonEmpty += h[i] > 0 ? 1 : 0;
                }

                for (int i = from; i < to; i++)
                {
                    q[i] = h[i] > 0 ? mass / nonEmpty : 0;
                }
            }

            double pTotal = 0, qTotal = 0;
            for (int i = 0; i < end; i++)
            {
                pTotal += p[i];
                qTotal += q[i];
            }

            if (pTotal <= 0 || qTotal <= 0)
            {
                continue;
            }

            // A bin P has and Q lacks (the clipped mass landing in an empty last bin) costs as if Q held a
            // vanishing probability there, not infinity, so thresholds stay comparable.
            const double Floor = 1e-9;
            double kl = 0;
            for (int i = 0; i < end; i++)
            {
                if (p[i] > 0)
                {
                    double pi = p[i] / pTotal;
                    double qi = Math.Max(q[i] / qTotal, Floor);
                    kl += pi * Math.Log(pi / qi);
                }
            }

            if (kl < bestKl)
            {
                bestKl = kl;
                bestEnd = end;
            }
        }

        return bestEnd * BinWidth(s);
    }

    private static double MseThreshold(ActivationStatistics s)
    {
        // Expected error of a threshold T: values inside the range round with error uniform over one step
        // (step²/12 each); values beyond it are clipped to T ((|x| − T)² each, at bin centres).
        double width = BinWidth(s);
        double best = double.PositiveInfinity;
        double bestThreshold = s.AbsMax;
        for (int step = 1; step <= 400; step++)
        {
            double threshold = s.AbsMax * step / 400.0;
            double lo = Math.Min(0, Math.Max(s.Min, -threshold));
            double hi = Math.Max(0, Math.Min(s.Max, threshold));
            double q = (hi - lo) / 255.0;
            double rounding = q * q / 12;
            double error = 0;
            for (int i = 0; i < ActivationStatistics.Bins; i++)
            {
                long n = s.Histogram[i];
                if (n == 0)
                {
                    continue;
                }

                double x = (i + 0.5) * width;
                error += x > threshold ? n * (x - threshold) * (x - threshold) : n * rounding;
            }

            if (error < best)
            {
                best = error;
                bestThreshold = threshold;
            }
        }

        return bestThreshold;
    }
}
