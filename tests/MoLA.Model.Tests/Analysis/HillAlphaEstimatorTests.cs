using MoLA.Model.Analysis;

namespace MoLA.Model.Tests.Analysis;

public class HillAlphaEstimatorTests
{
    /// <summary>lambda_j = (1 - (j - 0.5)/n)^(-1/(a-1)), j = 1..n (methods.md test spectra).</summary>
    internal static double[] ParetoQuantiles(double a, int n)
    {
        var lambda = new double[n];
        for (int j = 1; j <= n; j++)
        {
            lambda[j - 1] = Math.Pow(1 - ((j - 0.5) / n), -1 / (a - 1));
        }

        return lambda;
    }

    /// <summary>i.i.d. Pareto(xmin 1) with density ~ x^-a: x = U^(-1/(a-1)), U in (0, 1].</summary>
    internal static double[] ParetoSamples(double a, int n, int seed)
    {
        var random = new Random(seed);
        var x = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = Math.Pow(1 - random.NextDouble(), -1 / (a - 1));
        }

        return x;
    }

    [Theory]
    [InlineData(2.5, 1000, 2.501271)]
    [InlineData(3.0, 1000, 3.001695)]
    [InlineData(2.0, 4096, 2.000207)]
    public void ParetoQuantileSpectra_MatchMethodsTable(double a, int n, double expected)
    {
        HillAlphaResult result = HillAlphaEstimator.Estimate(ParetoQuantiles(a, n));

        Assert.Equal(expected, result.Alpha, 1e-5);
        Assert.Equal(n, result.EigenvaluesUsed);
        Assert.Equal(0, result.EigenvaluesRemoved);
        Assert.InRange(result.KsDistance, 0, 1);
        Assert.True(result.CandidatesEvaluated > 0);
    }

    [Fact]
    public void IidParetoSamples_MeanAlphaWithinTenthOfTruth()
    {
        const double a = 3.0;
        const int seeds = 24;
        double sum = 0;
        for (int seed = 0; seed < seeds; seed++)
        {
            sum += HillAlphaEstimator.Estimate(ParetoSamples(a, 1024, 1000 + seed)).Alpha;
        }

        Assert.InRange(sum / seeds, a - 0.1, a + 0.1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void FastPathEqualsLiteralSpecTranscription(int seed)
    {
        var random = new Random(seed);
        int n = 64 + random.Next(2000);

        // Mix of heavy tails and a log-normal bulk so the peak lands in different places.
        var lambda = new double[n];
        for (int i = 0; i < n; i++)
        {
            double u = 1 - random.NextDouble();
            lambda[i] = seed % 2 == 0
                ? Math.Pow(u, -1 / (1.5 + seed * 0.3))
                : Math.Exp(random.NextDouble() * 4 - 2 + (0.5 * Math.Sqrt(-2 * Math.Log(u))));
        }

        (double alpha, int index, double d) = ReferenceHillOracle.Estimate(lambda);
        HillAlphaResult fast = HillAlphaEstimator.Estimate(lambda);

        Assert.Equal(alpha, fast.Alpha, 1e-9);
        Assert.Equal(d, fast.KsDistance, 1e-12);
        double[] sorted = (double[])lambda.Clone();
        Array.Sort(sorted);
        Assert.Equal(sorted[index], fast.Xmin);
    }

    [Fact]
    public void FastPathEqualsLiteralSpecTranscription_OnManyRandomAndTiedSpectra()
    {
        // Continuous heavy tails, rounded (heavily tied) values, uniform-in-log and three-valued
        // spectra: the pruned search must pick the same first argmin as the direct formula.
        var random = new Random(5);
        for (int trial = 0; trial < 160; trial++)
        {
            int n = 2 + random.Next(trial < 60 ? 40 : 900);
            var lambda = new double[n];
            for (int i = 0; i < n; i++)
            {
                double u = 1 - random.NextDouble();
                lambda[i] = (trial % 4) switch
                {
                    0 => Math.Pow(u, -1 / (0.5 + (3 * random.NextDouble()))),
                    1 => Math.Round(Math.Pow(u, -0.7) * 3) + 1,
                    2 => Math.Exp(3 * random.NextDouble()),
                    _ => random.Next(3) + 1.0,
                };
            }

            if (lambda.Min() == lambda.Max())
            {
                Assert.False(HillAlphaEstimator.TryEstimate(lambda, out _, out HillAlphaException? constant));
                Assert.Equal(HillAlphaError.ConstantSpectrum, constant.Error);
                continue;
            }

            (double alpha, _, double d) = ReferenceHillOracle.Estimate(lambda);
            if (!HillAlphaEstimator.TryEstimate(lambda, out HillAlphaResult fast, out HillAlphaException? error))
            {
                // The direct formula picks a constant tail too (its log sum is ~0: alpha = inf or huge).
                Assert.Equal(HillAlphaError.InfiniteAlpha, error.Error);
                Assert.True(alpha > 1e12, $"oracle alpha {alpha}");
                continue;
            }

            Assert.Equal(alpha, fast.Alpha, 1e-9 * Math.Max(1, alpha));
            Assert.Equal(d, fast.KsDistance, 1e-12);
        }
    }

    [Fact]
    public void OrderDoesNotMatter_AscendingDescendingShuffledAndFloat()
    {
        double[] ascending = ParetoQuantiles(2.5, 1000);
        double[] descending = ascending.Reverse().ToArray();
        double[] shuffled = (double[])ascending.Clone();
        new Random(7).Shuffle(shuffled);

        double expected = HillAlphaEstimator.Estimate(ascending).Alpha;
        Assert.Equal(expected, HillAlphaEstimator.Estimate(descending).Alpha);
        Assert.Equal(expected, HillAlphaEstimator.Estimate(shuffled).Alpha);

        float[] single = ascending.Select(x => (float)x).ToArray();
        Assert.Equal(expected, HillAlphaEstimator.Estimate(single).Alpha, 1e-4);
    }

    [Fact]
    public void SingularValues_AreSquared()
    {
        double[] lambda = ParetoQuantiles(3.0, 1000);
        double[] sigma = lambda.Select(Math.Sqrt).Reverse().ToArray();

        Assert.Equal(3.001695, HillAlphaEstimator.EstimateFromSingularValues(sigma).Alpha, 1e-5);
    }

    [Fact]
    public void ZeroEigenvalues_WithoutFilter_AreAClearError()
    {
        double[] lambda = ParetoQuantiles(2.5, 200).Concat(new[] { 0.0, 0.0, -1e-12 }).ToArray();

        HillAlphaException ex = Assert.Throws<HillAlphaException>(() => HillAlphaEstimator.Estimate(lambda));

        Assert.Equal(HillAlphaError.NonPositive, ex.Error);
        Assert.Equal("eigenvalues", ex.ParamName);
        Assert.Contains("3 of 203", ex.Message);
        Assert.Contains(nameof(HillAlphaOptions.ZeroThreshold), ex.Message);
    }

    [Fact]
    public void ZeroEigenvalues_WithFilter_AreDropped()
    {
        double[] clean = ParetoQuantiles(2.5, 1000);
        double[] lambda = clean.Concat(new[] { 0.0, 0.0, -1e-12, 1e-7 }).ToArray();
        var options = new HillAlphaOptions { ZeroThreshold = HillAlphaOptions.ReferenceZeroThreshold };

        HillAlphaResult result = HillAlphaEstimator.Estimate(lambda, options);

        Assert.Equal(4, result.EigenvaluesRemoved);
        Assert.Equal(1000, result.EigenvaluesUsed);
        Assert.Equal(2.501271, result.Alpha, 1e-5);
    }

    [Fact]
    public void FilterIsInclusiveOfTheThreshold()
    {
        double[] lambda = ParetoQuantiles(2.5, 100).Append(0.5).ToArray();

        HillAlphaResult result = HillAlphaEstimator.Estimate(lambda, new HillAlphaOptions { ZeroThreshold = 0.5 });

        Assert.Equal(1, result.EigenvaluesRemoved);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void FewerThanTwoEigenvalues_IsAnError(int count)
    {
        double[] lambda = Enumerable.Repeat(3.0, count).ToArray();

        HillAlphaException ex = Assert.Throws<HillAlphaException>(() => HillAlphaEstimator.Estimate(lambda));

        Assert.Equal(HillAlphaError.TooFewEigenvalues, ex.Error);
        Assert.Contains($"got {count}", ex.Message);
    }

    [Fact]
    public void FewerThanTwoAfterFiltering_SaysSo()
    {
        HillAlphaException ex = Assert.Throws<HillAlphaException>(
            () => HillAlphaEstimator.Estimate(new[] { 0.0, 1e-9, 4.0 }, new HillAlphaOptions { ZeroThreshold = 1e-5 }));

        Assert.Equal(HillAlphaError.TooFewEigenvalues, ex.Error);
        Assert.Contains("after removing 2", ex.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void NonFiniteValues_AreRejectedWithTheirIndex(double bad)
    {
        double[] lambda = { 1, 2, 3, bad, 5 };

        HillAlphaException ex = Assert.Throws<HillAlphaException>(() => HillAlphaEstimator.Estimate(lambda));

        Assert.Equal(HillAlphaError.NonFinite, ex.Error);
        Assert.Contains("index 3", ex.Message);
    }

    [Fact]
    public void ConstantSpectrum_IsAnError()
    {
        HillAlphaException ex = Assert.Throws<HillAlphaException>(
            () => HillAlphaEstimator.Estimate(Enumerable.Repeat(2.5, 64).ToArray()));

        Assert.Equal(HillAlphaError.ConstantSpectrum, ex.Error);
        Assert.Contains("zero width", ex.Message);
    }

    [Fact]
    public void NoCandidateInWindow_IsAnError()
    {
        // log10 range [-10, 10]: bins 0.2 decades wide. The peak bin (90, left edge 10^8) holds two
        // values at 10^8.19 > 1.5 x 10^8, and 1e-10 lies below log10(0.95e8): nothing is visited.
        double[] lambda = { 1e-10, Math.Pow(10, 8.19), Math.Pow(10, 8.19), 1e10 };

        Assert.False(HillAlphaEstimator.TryEstimate(lambda, out _, out HillAlphaException? error));
        Assert.Equal(HillAlphaError.NoCandidate, error.Error);

        HillAlphaException ex = Assert.Throws<HillAlphaException>(() => HillAlphaEstimator.Estimate(lambda));
        Assert.Equal(HillAlphaError.NoCandidate, ex.Error);
        Assert.Contains("0 candidate(s)", ex.Message);
    }

    [Fact]
    public void ConstantTailWinning_IsInfiniteAlphaError()
    {
        // Peak in the last bin; the only candidates are the tied top values (alpha = +inf, D = 2/3).
        double[] lambda = { 0.5, 1e10, 1e10, 1e10 };

        HillAlphaException ex = Assert.Throws<HillAlphaException>(() => HillAlphaEstimator.Estimate(lambda));

        Assert.Equal(HillAlphaError.InfiniteAlpha, ex.Error);
    }

    [Fact]
    public void TwoEigenvalues_GiveTheClosedForm()
    {
        // Only candidate i = 0: alpha = 1 + 2 / ln(100).
        HillAlphaResult result = HillAlphaEstimator.Estimate(new[] { 1.0, 100.0 });

        Assert.Equal(1 + (2 / Math.Log(100)), result.Alpha, 1e-12);
        Assert.Equal(1.0, result.Xmin);
        Assert.Equal(1, result.CandidatesEvaluated);
    }

    [Fact]
    public void TryEstimate_SucceedsLikeEstimate()
    {
        double[] lambda = ParetoQuantiles(2.5, 1000);

        Assert.True(HillAlphaEstimator.TryEstimate(lambda, out HillAlphaResult result, out HillAlphaException? error));
        Assert.Null(error);
        Assert.Equal(HillAlphaEstimator.Estimate(lambda), result);
    }

    [Fact]
    public void InvalidOptions_Throw()
    {
        double[] lambda = ParetoQuantiles(2.5, 100);

        Assert.Throws<ArgumentOutOfRangeException>(() => HillAlphaEstimator.Estimate(lambda, new HillAlphaOptions { Bins = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => HillAlphaEstimator.Estimate(lambda, new HillAlphaOptions { ZeroThreshold = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => HillAlphaEstimator.Estimate(lambda, new HillAlphaOptions { ZeroThreshold = double.NaN }));
    }

    [Fact]
    public void InputSpanIsNotModified()
    {
        double[] lambda = ParetoQuantiles(2.5, 300).Reverse().Append(-1.0).ToArray();
        double[] copy = (double[])lambda.Clone();

        HillAlphaEstimator.Estimate(lambda, new HillAlphaOptions { ZeroThreshold = 0 });

        Assert.Equal(copy, lambda);
    }
}
