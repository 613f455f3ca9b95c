using MoLA.Training.Evaluation;

namespace MoLA.Training.Tests.Evaluation;

public sealed class ContinualLearningMetricsTests
{
    [Fact]
    public void OverallPerformanceAndDropFromTheMatrix()
    {
        // Three domains; NaN above the diagonal (not trained yet) is allowed.
        double[][] acc =
        [
            [0.80, double.NaN, double.NaN],
            [0.70, 0.90, double.NaN],
            [0.60, 0.85, 0.95],
        ];
        var r = ContinualLearningMetrics.Compute(acc);
        Assert.Equal(3, r.Domains);
        Assert.Equal((0.60 + 0.85 + 0.95) / 3, r.Op, 1e-12);
        Assert.Equal(((0.60 - 0.80) + (0.85 - 0.90)) / 2, r.Pd!.Value, 1e-12);
        Assert.Equal(new[] { 0.60, 0.85, 0.95 }, r.FinalAccuracy);
        Assert.Equal(2, r.Drops.Count);
        Assert.Equal(-0.20, r.Drops[0], 1e-12);
    }

    [Fact]
    public void NoForgettingGivesZeroDropAndOneDomainHasNone()
    {
        var r = ContinualLearningMetrics.Compute([[50.0, 0], [50.0, 70.0]]);
        Assert.Equal(60.0, r.Op, 12);
        Assert.Equal(0.0, r.Pd!.Value, 12);
        var single = ContinualLearningMetrics.Compute([[0.9]]);
        Assert.Equal(0.9, single.Op);
        Assert.Null(single.Pd);
        Assert.Empty(single.Drops);
    }

    [Fact]
    public void RejectsMalformedMatrices()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ContinualLearningMetrics.Compute([])).Message);
        Assert.Contains("row 1 has 1 entries, expected 2", Assert.Throws<ArgumentException>(
            () => ContinualLearningMetrics.Compute([[0.5, 0.1], [0.4]])).Message);
        Assert.Contains("accuracy[1][0] is NaN", Assert.Throws<ArgumentException>(
            () => ContinualLearningMetrics.Compute([[0.5, double.NaN], [double.NaN, 0.4]])).Message);
        Assert.Contains("accuracy[0][0] is", Assert.Throws<ArgumentException>(
            () => ContinualLearningMetrics.Compute([[double.PositiveInfinity, 0], [0.3, 0.4]])).Message);
    }
}
