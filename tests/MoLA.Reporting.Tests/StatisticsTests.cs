using System.Text.Json;
using MoLA.Reporting.Statistics;
using MoLA.Training.Data;
using MoLA.Training.Evaluation;

namespace MoLA.Reporting.Tests;

/// <summary>
/// The sweep statistics against closed forms, hand-computed cases and Debian's scipy. The incomplete beta and gamma
/// continued fractions converge to about 1e-14 relative, so exact references are compared at 1e-9 relative: loose
/// enough for any summation order, tight enough that a wrong coefficient or a tail lost to cancellation fails.
/// </summary>
public sealed class StatisticsTests
{
    private const double Rel = 1e-9;

    private static void Close(double expected, double actual, double relative, string what)
    {
        var tolerance = relative * Math.Abs(expected);
        Assert.True(Math.Abs(actual - expected) <= tolerance,
            $"{what}: expected {expected:R}, got {actual:R} (relative error {Math.Abs(actual - expected) / Math.Abs(expected):E2}, allowed {relative:E0})");
    }

    // ---- Student t: hand-computed and closed forms ----

    [Fact]
    public void T_quantiles_match_hand_computed_values()
    {
        Close(12.7062047361747, StudentT.Quantile(0.975, 1), Rel, "t(0.975, 1 df)");
        Close(2.7764451051977987, StudentT.Quantile(0.975, 4), Rel, "t(0.975, 4 df)");
        Close(-2.7764451051977987, StudentT.Quantile(0.025, 4), Rel, "t(0.025, 4 df) = -t(0.975, 4 df)");
        Assert.Equal(0, StudentT.Quantile(0.5, 7));
        // Infinite degrees of freedom is the normal: z(0.975), the constant the evaluator's Wilson interval uses.
        Close(WilsonInterval.Z95, StudentT.Quantile(0.975, double.PositiveInfinity), 1e-14, "z(0.975)");
        Close(2.5758293035489004, Normal.Quantile(0.995), Rel, "z(0.995)");
    }

    [Theory]
    [InlineData(0.6)]
    [InlineData(0.9)]
    [InlineData(0.975)]
    [InlineData(0.999)]
    [InlineData(0.2)]
    public void T_with_one_and_two_degrees_of_freedom_matches_the_closed_forms(double p)
    {
        // 1 df (Cauchy): F(t) = 1/2 + atan(t)/π. 2 df: F(t) = 1/2 + t / (2√(2 + t²)), so t = (2p - 1) / √(2p(1 - p)).
        // tan's condition number at these p is below 1e3, so the closed forms themselves hold to ~1e-13.
        Close(Math.Tan(Math.PI * (p - 0.5)), StudentT.Quantile(p, 1), Rel, $"t({p}, 1 df)");
        Close((2 * p - 1) / Math.Sqrt(2 * p * (1 - p)), StudentT.Quantile(p, 2), Rel, $"t({p}, 2 df)");
        foreach (var t in new[] { -3.5, -0.4, 0.0, 0.7, 6.0 })
        {
            Close(0.5 + Math.Atan(t) / Math.PI, StudentT.Cdf(t, 1), Rel, $"F({t}, 1 df)");
            Close(0.5 + t / (2 * Math.Sqrt(2 + t * t)), StudentT.Cdf(t, 2), Rel, $"F({t}, 2 df)");
        }
    }

    [Fact]
    public void T_interval_matches_a_hand_computed_case()
    {
        // 1..5: mean 3, s² = 2.5, so the half width is t(0.975, 4) · √(2.5 / 5).
        var interval = MeanInterval.T([1, 2, 3, 4, 5]);
        var half = 2.7764451051977987 * Math.Sqrt(0.5);
        Assert.Equal(3, interval.Estimate, 12);
        Close(3 - half, interval.Low, Rel, "low");
        Close(3 + half, interval.High, Rel, "high");
        // No spread, no width (not a division by zero).
        Assert.Equal(new Interval(0.25, 0.25, 0.25), MeanInterval.T([0.25, 0.25, 0.25]));
    }

    // ---- Student t against scipy ----

    private const string TScript = """
        import json, sys
        from scipy import stats
        d = json.load(sys.stdin)
        # Our quantile is checked through scipy's t CDF (cephes' incomplete beta, ~1e-15): the CDF on the near side,
        # the survival function beyond the median, so a tail probability keeps its relative precision.
        back = [float(stats.t.cdf(t, df)) if p < 0.5 else float(stats.t.sf(t, df)) for (p, df), t in zip(d["cases"], d["ours"])]
        print(json.dumps({"back": back, "ppf": [float(stats.t.ppf(p, df)) for p, df in d["cases"]],
                          "cdf": [float(stats.t.cdf(t, df)) for t, df in d["points"]]}))
        """;

    [ScipyFact]
    public async Task T_quantiles_and_cdf_match_scipy()
    {
        var cases = (from df in new[] { 0.5, 1, 2.5, 4, 9, 30, 1000 }
                     from p in new[] { 1e-10, 1e-3, 0.025, 0.3, 0.6, 0.9, 0.975, 0.999999 }
                     select new[] { p, df }).ToArray();
        var ours = cases.Select(c => StudentT.Quantile(c[0], c[1])).ToArray();
        var points = (from df in new[] { 0.7, 1, 3, 12, 200 } from t in new[] { -40.0, -2.1, -0.3, 0.0, 0.9, 2.6, 15.0 } select new[] { t, df }).ToArray();
        var scipy = await Scipy.RunAsync(TScript, new { cases, ours, points });
        var back = Doubles(scipy, "back");
        var ppf = Doubles(scipy, "ppf");
        for (var i = 0; i < cases.Length; i++)
        {
            double p = cases[i][0], df = cases[i][1];
            Close(p < 0.5 ? p : 1 - p, back[i], Rel, $"scipy's tail at our t({p}, {df} df) = {ours[i]:R}");
            // scipy 1.10's t.ppf is cdflib's cdft, whose root finder stops at about 1e-8 relative in t (it is
            // 5e-7 off the closed form at p = 1e-10, 1 df): the round trip above is the tight check.
            Close(ppf[i], ours[i], 1e-6, $"scipy's t.ppf({p}, {df})");
        }
        var cdf = Doubles(scipy, "cdf");
        for (var i = 0; i < points.Length; i++)
            Close(cdf[i], StudentT.Cdf(points[i][0], points[i][1]), Rel, $"F({points[i][0]}, {points[i][1]} df)");
    }

    private const string IntervalScript = """
        import json, sys
        import numpy as np
        from scipy import stats, optimize
        out = []
        for c in json.load(sys.stdin)["cases"]:
            v = np.array(c["values"]); conf = c["confidence"]; df = len(v) - 1
            mean, sem = float(v.mean()), float(stats.sem(v))
            # scipy's t.interval inherits t.ppf's ~1e-8 root finder; the exact quantile solves the (accurate) survival
            # function with brentq at its finest tolerance.
            q = optimize.brentq(lambda x: stats.t.sf(x, df) - (1 - conf) / 2, 0, 1e4, xtol=1e-300, rtol=1e-15)
            lo, hi = stats.t.interval(conf, df, loc=mean, scale=sem)
            out.append({"mean": mean, "exact": [mean - q * sem, mean + q * sem], "scipy": [float(lo), float(hi)]})
        print(json.dumps(out))
        """;

    [ScipyFact]
    public async Task T_intervals_match_scipy()
    {
        var cases = new[]
        {
            new { values = new[] { 0.61, 0.64, 0.58 }, confidence = 0.95 },
            new { values = new[] { 0.31, 0.42 }, confidence = 0.95 },
            new { values = new[] { 12.5, 11.0, 13.25, 12.0, 12.75, 11.5, 14.0, 12.25, 13.0, 11.75 }, confidence = 0.9 },
            new { values = new[] { 0.8, 0.81, 0.79, 0.8, 0.82 }, confidence = 0.99 },
            new { values = new[] { -1.5, 2.5, 0.25, 3.0 }, confidence = 0.5 },
        };
        var scipy = (await Scipy.RunAsync(IntervalScript, new { cases })).EnumerateArray().ToArray();
        for (var i = 0; i < cases.Length; i++)
        {
            var ours = MeanInterval.T(cases[i].values, cases[i].confidence);
            var exact = Doubles(scipy[i], "exact");
            var viaPpf = Doubles(scipy[i], "scipy");
            Close(scipy[i].GetProperty("mean").GetDouble(), ours.Estimate, 1e-12, $"case {i} mean");
            Close(exact[0], ours.Low, Rel, $"case {i} low");
            Close(exact[1], ours.High, Rel, $"case {i} high");
            // t.interval goes through cdflib's t.ppf (about 1e-8 relative in the quantile, see above).
            Close(viaPpf[0], ours.Low, 1e-6, $"case {i} low vs scipy.stats.t.interval");
            Close(viaPpf[1], ours.High, 1e-6, $"case {i} high vs scipy.stats.t.interval");
        }
    }

    // ---- Wilson ----

    [Fact]
    public void Wilson_at_95_percent_is_the_evaluators_interval()
    {
        foreach (var (k, n) in new[] { (0, 10), (7, 10), (10, 10), (412, 500), (1, 1) })
        {
            var (low, high) = WilsonInterval.Compute(k, n);
            Assert.Equal(new Interval((double)k / n, low, high), Wilson.Proportion(k, n));
        }
        // 0 of n has the closed form [0, z² / (n + z²)].
        var z2 = WilsonInterval.Z95 * WilsonInterval.Z95;
        Close(z2 / (10 + z2), Wilson.Proportion(0, 10).High, 1e-12, "0/10 high");
    }

    private const string WilsonScript = """
        import json, sys
        from scipy import stats
        out = []
        for k, n, c in json.load(sys.stdin)["cases"]:
            ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=c, method="wilson")
            out.append([float(ci.low), float(ci.high)])
        print(json.dumps(out))
        """;

    [ScipyFact]
    public async Task Wilson_matches_scipy_at_several_confidences()
    {
        var cases = new[] { new[] { 5.0, 10, 0.99 }, [0, 25, 0.9], [25, 25, 0.95], [137, 200, 0.8], [3, 1000, 0.999], [499, 500, 0.95] };
        var scipy = (await Scipy.RunAsync(WilsonScript, new { cases })).EnumerateArray().ToArray();
        for (var i = 0; i < cases.Length; i++)
        {
            var ours = Wilson.Proportion((int)cases[i][0], (int)cases[i][1], cases[i][2]);
            double low = scipy[i][0].GetDouble(), high = scipy[i][1].GetDouble();
            // At 0 and n successes ours are exactly 0 and 1; scipy's formula leaves a rounding residue there.
            Assert.True(Math.Abs(ours.Low - low) <= Rel * Math.Abs(low) + 1e-15, $"case {i} low: scipy {low:R}, ours {ours.Low:R}");
            Assert.True(Math.Abs(ours.High - high) <= Rel * Math.Abs(high) + 1e-15, $"case {i} high: scipy {high:R}, ours {ours.High:R}");
        }
    }

    // ---- McNemar ----

    [Fact]
    public void McNemar_exact_p_matches_hand_computed_values()
    {
        Assert.Equal(0.0625, Paired.McNemarExactP(0, 5), 14);         // 2 · (1/2)^5
        Assert.Equal(0.0625, Paired.McNemarExactP(5, 0), 14);         // symmetric in A and B
        Close(14.0 / 64, Paired.McNemarExactP(1, 5), Rel, "b=1, c=5"); // 2 · (1 + 6) / 2^6
        Close(2.0 * (1 + 10 + 45) / 1024, Paired.McNemarExactP(8, 2), Rel, "b=8, c=2"); // 2 · (C(10,0) + C(10,1) + C(10,2)) / 2^10
        Assert.Equal(1, Paired.McNemarExactP(0, 0));                  // no discordant pair: no evidence
        Assert.Equal(1, Paired.McNemarExactP(7, 7));
        Assert.Equal(1, Paired.McNemarExactP(3, 4), 12);              // 2 · P(X ≤ 3 | 7) = 2 · 1/2
    }

    private const string McNemarScript = """
        import json, sys
        from scipy import stats
        print(json.dumps([float(stats.binomtest(int(b), int(b + c), 0.5).pvalue) for b, c in json.load(sys.stdin)["cases"]]))
        """;

    [ScipyFact]
    public async Task McNemar_exact_p_matches_scipy_binomtest()
    {
        var cases = new[] { new[] { 1, 2 }, [3, 11], [40, 70], [70, 40], [300, 360], [0, 1000], [2500, 2611], [0, 1], [19, 20] };
        var scipy = (await Scipy.RunAsync(McNemarScript, new { cases })).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var i = 0; i < cases.Length; i++)
            Close(scipy[i], Paired.McNemarExactP(cases[i][0], cases[i][1]), Rel, $"McNemar b={cases[i][0]}, c={cases[i][1]}");
    }

    // ---- paired bootstrap ----

    private static (bool[] A, bool[] B) Items(int n, int onlyA, int onlyB, int both)
    {
        var a = new bool[n];
        var b = new bool[n];
        // Interleaved rather than in blocks, as real items are.
        var kinds = Enumerable.Repeat(1, onlyA).Concat(Enumerable.Repeat(2, onlyB)).Concat(Enumerable.Repeat(3, both))
            .Concat(Enumerable.Repeat(0, n - onlyA - onlyB - both)).ToArray();
        var order = DeterministicShuffle.Shuffle(kinds, 42);
        for (var i = 0; i < n; i++)
        {
            a[i] = order[i] is 1 or 3;
            b[i] = order[i] is 2 or 3;
        }
        return (a, b);
    }

    [Fact]
    public void Compare_counts_and_difference_and_is_deterministic()
    {
        var (a, b) = Items(120, 18, 7, 60);
        var c = Paired.Compare(a, b);
        Assert.Equal(120, c.Items);
        Assert.Equal(18, c.OnlyA);
        Assert.Equal(7, c.OnlyB);
        Assert.Equal(11.0 / 120, c.Difference, 15);
        Assert.Equal(Paired.McNemarExactP(18, 7), c.PValue);
        Assert.Equal("mcnemar-exact", c.Test);
        Assert.True(c.Low <= c.Difference && c.Difference <= c.High, $"{c}");
        // Same seed, same interval; item order does not matter (only the kinds of items do).
        Assert.Equal(c, Paired.Compare(a, b));
        Assert.Equal(c, Paired.Compare(a.Reverse().ToArray(), b.Reverse().ToArray()));
        // Another seed draws other resamples: the interval may move by a grid step (1/120), no more here.
        var other = Paired.Compare(a, b, seed: 7);
        Assert.True(Math.Abs(other.Low - c.Low) <= 1.0 / 120 + 1e-12 && Math.Abs(other.High - c.High) <= 1.0 / 120 + 1e-12, $"{c} vs {other}");
    }

    [Fact]
    public void Compare_degenerate_cases_have_exact_intervals()
    {
        var same = Enumerable.Range(0, 30).Select(i => i % 3 == 0).ToArray();
        var tie = Paired.Compare(same, same);
        Assert.Equal(new PairedComparison(30, 0, 0, 0, 0, 0, 1, "mcnemar-exact"), tie);
        Assert.StartsWith("no detectable difference between A and B (0.0 points [0.0, 0.0], p = 1.00)", Paired.Verdict("A", "B", tie));

        var all = Paired.Compare(Enumerable.Repeat(true, 20).ToArray(), Enumerable.Repeat(false, 20).ToArray());
        Assert.Equal((1.0, 1.0, 1.0), (all.Difference, all.Low, all.High));
        Close(2 * Math.Pow(0.5, 20), all.PValue, Rel, "20 of 20 discordant pairs for A");
        Assert.Equal("A is better than B by 100.0 points [100.0, 100.0], p < 0.001", Paired.Verdict("A", "B", all));
    }

    // The exact bootstrap distribution of n·(accA - accB) = X_A - X_B with (X_A, X_B, rest) ~ Multinomial(n; pA, pB, .),
    // i.e. K = X_A + X_B ~ Binomial(n, pA + pB) and X_A | K ~ Binomial(K, pA / (pA + pB)); its 2.5% and 97.5% quantiles
    // (smallest d with CDF(d) >= level) are what 10,000 resamples estimate.
    private const string BootstrapScript = """
        import json, sys
        from collections import defaultdict
        import numpy as np
        from scipy import stats
        out = []
        for n, a, b in json.load(sys.stdin)["cases"]:
            mass = defaultdict(float)
            for k in range(0, n + 1):
                pk = stats.binom.pmf(k, n, (a + b) / n)
                if pk < 1e-300: continue
                xs = np.arange(k + 1)
                for x, px in zip(xs, stats.binom.pmf(xs, k, a / (a + b))):
                    mass[2 * int(x) - k] += pk * float(px)
            def quantile(level):
                total = 0.0
                for d in sorted(mass):
                    total += mass[d]
                    if total >= level: return d / n
            out.append([quantile(0.025), quantile(0.975)])
        print(json.dumps(out))
        """;

    [ScipyFact]
    public async Task Bootstrap_interval_matches_the_exact_bootstrap_distribution()
    {
        var cases = new[] { new[] { 200, 30, 15 }, [120, 18, 7], [500, 40, 44], [60, 3, 9] };
        var scipy = (await Scipy.RunAsync(BootstrapScript, new { cases })).EnumerateArray().ToArray();
        for (var i = 0; i < cases.Length; i++)
        {
            int n = cases[i][0], onlyA = cases[i][1], onlyB = cases[i][2];
            var (a, b) = Items(n, onlyA, onlyB, (n - onlyA - onlyB) / 2);
            var c = Paired.Compare(a, b);
            double low = scipy[i][0].GetDouble(), high = scipy[i][1].GetDouble();
            // Monte Carlo: the empirical 2.5% point of 10,000 resamples has a standard error of 0.0016 in probability,
            // less than a fifth of the mass of one grid step (1/n) near the tails for these n, so it lands on the
            // exact quantile or its neighbour.
            Assert.True(Math.Abs(c.Low - low) <= 1.0 / n + 1e-12, $"case {i}: low {c.Low} vs exact {low}");
            Assert.True(Math.Abs(c.High - high) <= 1.0 / n + 1e-12, $"case {i}: high {c.High} vs exact {high}");
        }
    }

    // ---- verdicts ----

    [Fact]
    public void Verdict_wording_follows_the_interval()
    {
        Assert.Equal("A is better than B by 4.1 points [1.2, 7.0], p = 0.006",
            Paired.Verdict("A", "B", new PairedComparison(500, 40, 19, 0.041, 0.012, 0.070, 0.006, "mcnemar-exact")));
        Assert.Equal("no detectable difference between A and B (-0.8 points [-3.1, 1.5], p = 0.52)",
            Paired.Verdict("A", "B", new PairedComparison(500, 20, 24, -0.008, -0.031, 0.015, 0.52, "mcnemar-exact")));
        Assert.Equal("mola-8642 is worse than mola-2468 by 5.0 points [2.5, 7.5], p < 0.001",
            Paired.Verdict("mola-8642", "mola-2468", new PairedComparison(400, 4, 24, -0.05, -0.075, -0.025, 0.0002, "mcnemar-exact")));
        // An interval touching zero covers it.
        Assert.StartsWith("no detectable difference", Paired.Verdict("A", "B", new PairedComparison(100, 5, 0, 0.05, 0, 0.1, 0.0625, "mcnemar-exact")));
        Assert.StartsWith("no detectable difference", Paired.Verdict("A", "B", new PairedComparison(100, 0, 5, -0.05, -0.1, 0, 0.0625, "mcnemar-exact")));
    }

    [Fact]
    public void Verdict_says_no_detectable_difference_exactly_when_the_interval_covers_zero()
    {
        var seen = new HashSet<bool>();
        foreach (var (onlyA, onlyB) in new[] { (0, 0), (3, 0), (12, 2), (9, 9), (2, 14), (6, 4), (0, 25), (30, 5) })
        {
            var (a, b) = Items(150, onlyA, onlyB, 60);
            var c = Paired.Compare(a, b, resamples: 2000);
            var covers = c.Low <= 0 && c.High >= 0;
            seen.Add(covers);
            Assert.Equal(covers, Paired.Verdict("A", "B", c).StartsWith("no detectable difference", StringComparison.Ordinal));
        }
        Assert.Equal(2, seen.Count); // both kinds of verdict were exercised
    }

    // ---- invalid inputs name the argument ----

    [Fact]
    public void Invalid_inputs_are_rejected_naming_the_argument()
    {
        var mismatch = Assert.Throws<ArgumentException>(() => Paired.Compare([true, false, true], [true, false]));
        Assert.Equal("b", mismatch.ParamName);
        Assert.Contains("a has 3, b has 2", mismatch.Message);
        Assert.Equal("a", Assert.Throws<ArgumentException>(() => Paired.Compare([], [])).ParamName);
        Assert.Equal("resamples", Assert.Throws<ArgumentOutOfRangeException>(() => Paired.Compare([true], [false], resamples: 10)).ParamName);
        Assert.Equal("onlyB", Assert.Throws<ArgumentOutOfRangeException>(() => Paired.McNemarExactP(1, -1)).ParamName);
        Assert.Throws<ArgumentNullException>(() => Paired.Verdict("A", "B", null!));

        foreach (var confidence in new[] { 0.0, 1.0, -0.5, 1.5, double.NaN })
        {
            Assert.Equal("confidence", Assert.Throws<ArgumentOutOfRangeException>(() => MeanInterval.T([1, 2], confidence)).ParamName);
            Assert.Equal("confidence", Assert.Throws<ArgumentOutOfRangeException>(() => Wilson.Proportion(1, 2, confidence)).ParamName);
        }
        var one = Assert.Throws<ArgumentException>(() => MeanInterval.T([0.5]));
        Assert.Equal("values", one.ParamName);
        Assert.Contains("Wilson", one.Message);
        Assert.Equal("values", Assert.Throws<ArgumentException>(() => MeanInterval.T([0.5, double.NaN])).ParamName);
        Assert.Equal("trials", Assert.Throws<ArgumentOutOfRangeException>(() => Wilson.Proportion(0, 0)).ParamName);
        Assert.Equal("successes", Assert.Throws<ArgumentOutOfRangeException>(() => Wilson.Proportion(5, 4)).ParamName);

        foreach (var p in new[] { 0.0, 1.0, double.NaN })
            Assert.Equal("p", Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Quantile(p, 3)).ParamName);
        foreach (var df in new[] { 0.0, -1.0, double.NaN })
        {
            Assert.Equal("degreesOfFreedom", Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Quantile(0.9, df)).ParamName);
            Assert.Equal("degreesOfFreedom", Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Cdf(1, df)).ParamName);
        }
        Assert.Equal("t", Assert.Throws<ArgumentOutOfRangeException>(() => StudentT.Cdf(double.NaN, 3)).ParamName);
    }

    private static double[] Doubles(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetDouble()).ToArray();
}
