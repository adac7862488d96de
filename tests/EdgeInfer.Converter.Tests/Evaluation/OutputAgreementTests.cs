using EdgeInfer.Converter.Evaluation;

namespace EdgeInfer.Converter.Tests.Evaluation;

public class OutputAgreementTests
{
    private static EvaluationResult Run(params float[][] outputs) => ModelEvaluator.Score(outputs, labels: null);

    [Fact]
    public void Compare_Classifier_CountsSameArgMaxAndMeasuresNoiseOverEveryValue()
    {
        EvaluationResult reference = Run([3, 4, 0], [1, 0, 0], [0, 0, 2]);
        EvaluationResult candidate = Run([3, 4, 1], [1, 0, 0], [0, 3, 2]); // sample 3 changes class; errors 1 and 3
        OutputAgreement a = OutputAgreement.Compare(candidate, reference)!;

        Assert.Equal(3, a.Samples);
        Assert.Equal(2.0 / 3, a.Top1Agreement!.Value, 12);
        // Σ ref² = 9 + 16 + 1 + 4 = 30; Σ error² = 1 + 9 = 10.
        Assert.Equal(10 * Math.Log10(3), a.SqnrDb, 12);
        Assert.Equal(3, a.MaxAbsDifference);
    }

    [Fact]
    public void Compare_IdenticalOutputs_IsExact()
    {
        OutputAgreement a = OutputAgreement.Compare(Run([0.5f, -2]), Run([0.5f, -2]))!;
        Assert.Equal(1.0, a.Top1Agreement);
        Assert.True(double.IsPositiveInfinity(a.SqnrDb));
        Assert.Equal(0, a.MaxAbsDifference);
    }

    [Fact]
    public void Compare_Regressor_HasNoTop1()
    {
        OutputAgreement a = OutputAgreement.Compare(Run([2], [4]), Run([2], [3]))!;
        Assert.Null(a.Top1Agreement);
        Assert.Equal(10 * Math.Log10(13.0 / 1), a.SqnrDb, 12); // Σ ref² = 4 + 9, Σ error² = 1
        Assert.Equal(1, a.MaxAbsDifference);
    }

    [Fact]
    public void Compare_DifferentOutputSizesOrSampleCounts_IsNull()
    {
        Assert.Null(OutputAgreement.Compare(Run([1, 2]), Run([1, 2, 3])));
        Assert.Null(OutputAgreement.Compare(Run([1, 2]), Run([1, 2], [3, 4])));
        Assert.Null(OutputAgreement.Compare(Run(), Run()));
    }
}
