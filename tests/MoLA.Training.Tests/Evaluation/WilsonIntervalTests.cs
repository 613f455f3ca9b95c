using MoLA.Training.Evaluation;

namespace MoLA.Training.Tests.Evaluation;

public sealed class WilsonIntervalTests
{
    /// <summary>
    /// The oracle: the Wilson interval is the set of p whose score test accepts p̂, |p̂ - p| ≤ z sqrt(p(1-p)/n);
    /// find its ends by bisection on each side of p̂ (no closed form involved).
    /// </summary>
    private static (double Low, double High) ByInversion(int correct, int total, double z)
    {
        double phat = (double)correct / total;
        bool Accepts(double p) => Math.Abs(phat - p) <= z * Math.Sqrt(p * (1 - p) / total);
        double Edge(double inside, double outside)
        {
            if (Accepts(outside)) return outside;
            for (var i = 0; i < 200; i++)
            {
                var mid = (inside + outside) / 2;
                if (Accepts(mid)) inside = mid; else outside = mid;
            }
            return (inside + outside) / 2;
        }
        return (Edge(phat, 0), Edge(phat, 1));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(0, 10)]
    [InlineData(3, 10)]
    [InlineData(10, 10)]
    [InlineData(81, 263)]
    [InlineData(49, 50)]
    [InlineData(123, 250)]
    public void MatchesScoreTestInversion(int correct, int total)
    {
        var (low, high) = WilsonInterval.Compute(correct, total);
        var (refLow, refHigh) = ByInversion(correct, total, WilsonInterval.Z95);
        Assert.Equal(refLow, low, 1e-9);
        Assert.Equal(refHigh, high, 1e-9);
        Assert.InRange(low, 0, (double)correct / total);
        Assert.InRange(high, (double)correct / total, 1);
    }

    [Fact]
    public void KnownValues()
    {
        // 0/10: [0, 0.2775]; 10/10: [0.7225, 1]; 5/10: [0.2366, 0.7634] (standard tables).
        Assert.Equal((0.0, 0.2775), Round(WilsonInterval.Compute(0, 10)));
        Assert.Equal((0.7225, 1.0), Round(WilsonInterval.Compute(10, 10)));
        Assert.Equal((0.2366, 0.7634), Round(WilsonInterval.Compute(5, 10)));
    }

    private static (double, double) Round((double Low, double High) ci) => (Math.Round(ci.Low, 4), Math.Round(ci.High, 4));

    [Fact]
    public void RejectsImpossibleCounts()
    {
        Assert.Contains("total must be > 0", Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Compute(0, 0)).Message);
        Assert.Contains("correct must be in [0, 5]", Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Compute(6, 5)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Compute(-1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Compute(1, 5, z: 0));
    }
}
