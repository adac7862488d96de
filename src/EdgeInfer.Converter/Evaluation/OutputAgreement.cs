namespace EdgeInfer.Converter.Evaluation;

/// <summary>
/// How closely a candidate model's outputs follow a reference model's on the same samples, with no labels needed:
/// what a user without a labelled test set checks before shipping an int8 model.
/// </summary>
/// <param name="Samples">Samples compared.</param>
/// <param name="SameTop1">How many samples have the same arg-max output in both; null for a single output (a
/// regressor), where there is no class to agree on.</param>
/// <param name="SqnrDb">10·log10(Σ ref² / Σ (ref − candidate)²) over every output value of every sample; +∞ when
/// identical.</param>
/// <param name="MaxAbsDifference">The largest |ref − candidate| over every output value.</param>
public sealed record OutputAgreement(int Samples, int? SameTop1, double SqnrDb, double MaxAbsDifference)
{
    /// <summary>The share of samples with the same top-1 class, or null for a regressor.</summary>
    public double? Top1Agreement => SameTop1 is int same ? (double)same / Samples : null;

    /// <summary>Compares two runs over the same data; null when their outputs differ in count or size (not the same task).</summary>
    public static OutputAgreement? Compare(EvaluationResult candidate, EvaluationResult reference)
    {
        float[][] c = candidate.Outputs, r = reference.Outputs;
        if (c.Length != r.Length || c.Length == 0 || c.Zip(r).Any(p => p.First.Length != p.Second.Length))
        {
            return null;
        }

        // Both runs scored their arg-max already (Predictions), except a regressor scored on labels, which has no top-1.
        int[] cp = candidate.Predictions ?? [.. c.Select(ModelEvaluator.ArgMax)], rp = reference.Predictions ?? [.. r.Select(ModelEvaluator.ArgMax)];
        int agree = 0;
        double signal = 0, noise = 0, max = 0;
        for (int i = 0; i < c.Length; i++)
        {
            agree += cp[i] == rp[i] ? 1 : 0;
            for (int j = 0; j < r[i].Length; j++)
            {
                double d = (double)r[i][j] - c[i][j];
                signal += (double)r[i][j] * r[i][j];
                noise += d * d;
                max = Math.Max(max, Math.Abs(d));
            }
        }

        double sqnr = noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
        return new OutputAgreement(c.Length, r[0].Length > 1 ? agree : null, sqnr, max);
    }
}
