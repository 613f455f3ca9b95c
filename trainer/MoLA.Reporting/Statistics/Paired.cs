using System.Globalization;
using MoLA.Model;
using MoLA.Training.Data;

namespace MoLA.Reporting.Statistics;

/// <summary>Paired comparison of two configurations' per-item correctness: effect size, bootstrap interval, McNemar.</summary>
public static class Paired
{
    public const string McNemarExact = "mcnemar-exact";

    /// <summary>
    /// a[i], b[i]: whether A and B got item i right. The interval is the 2.5% and 97.5% percentiles (the smallest
    /// resampled difference whose empirical CDF reaches the level) of <paramref name="resamples"/> paired bootstrap
    /// resamples drawn by a <see cref="SplitMix64"/> seeded with <paramref name="seed"/>, so a report is reproducible.
    /// </summary>
    public static PairedComparison Compare(IReadOnlyList<bool> a, IReadOnlyList<bool> b, int resamples = 10_000, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count)
            throw new ArgumentException($"a and b must hold the same items: a has {a.Count}, b has {b.Count}", nameof(b));
        if (a.Count == 0) throw new ArgumentException("a paired comparison needs at least one item (a and b are empty)", nameof(a));
        if (resamples < 1000)
            throw new ArgumentOutOfRangeException(nameof(resamples), resamples,
                "resamples must be >= 1000: fewer leave the 2.5% percentile to a couple dozen draws");
        int n = a.Count, onlyA = 0, onlyB = 0;
        for (var i = 0; i < n; i++)
        {
            if (a[i] && !b[i]) onlyA++;
            else if (!a[i] && b[i]) onlyB++;
        }
        var (low, high) = BootstrapInterval(n, onlyA, onlyB, resamples, seed);
        return new PairedComparison(n, onlyA, onlyB, (double)(onlyA - onlyB) / n, low, high, McNemarExactP(onlyA, onlyB), McNemarExact);
    }

    // An item contributes +1 (only A right), -1 (only B right) or 0 to n·(accA - accB), so resampling items is
    // resampling these three kinds: index [0, onlyA) is +1, [onlyA, onlyA+onlyB) is -1, the rest 0. Same distribution
    // as drawing the original items, without touching them again.
    private static (double Low, double High) BootstrapInterval(int n, int onlyA, int onlyB, int resamples, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var sums = new int[resamples];
        for (var r = 0; r < resamples; r++)
        {
            var sum = 0;
            for (var i = 0; i < n; i++)
            {
                var k = rng.NextInt(n);
                if (k < onlyA) sum++;
                else if (k < onlyA + onlyB) sum--;
            }
            sums[r] = sum;
        }
        Array.Sort(sums);
        // Ranks ⌈0.025 R⌉ and ⌈0.975 R⌉ (1-based), in integers so no rounding moves a rank.
        var lowRank = (int)((25L * resamples + 999) / 1000);
        var highRank = (int)((975L * resamples + 999) / 1000);
        return ((double)sums[lowRank - 1] / n, (double)sums[highRank - 1] / n);
    }

    /// <summary>
    /// McNemar's exact test: under "A and B equally good" each discordant pair is A's with probability 1/2, so the
    /// two-sided p-value is 2·P(X ≤ min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1 (1 with no discordant pair).
    /// </summary>
    public static double McNemarExactP(int onlyA, int onlyB)
    {
        if (onlyA < 0) throw new ArgumentOutOfRangeException(nameof(onlyA), onlyA, "onlyA must be >= 0");
        if (onlyB < 0) throw new ArgumentOutOfRangeException(nameof(onlyB), onlyB, "onlyB must be >= 0");
        if (onlyA == onlyB) return 1;
        var n = (double)onlyA + onlyB;
        var k = Math.Min(onlyA, onlyB);
        // P(X ≤ k) = I_{1/2}(n - k, k + 1).
        var lowerTail = IncompleteBeta.Regularized(n - k, k + 1, 0.5, 0.5);
        return Math.Min(1, 2 * lowerTail);
    }

    /// <summary>
    /// One line for a report: "A is better than B by 4.1 points [1.2, 7.0], p = 0.006", "A is worse than B by ...", or
    /// "no detectable difference between A and B (-0.8 points [-3.1, 1.5], p = 0.52)" exactly when the interval covers 0.
    /// </summary>
    public static string Verdict(string a, string b, PairedComparison c)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(a);
        ArgumentException.ThrowIfNullOrWhiteSpace(b);
        ArgumentNullException.ThrowIfNull(c);
        var p = FormatP(c.PValue);
        if (c.Low <= 0 && c.High >= 0)
            return $"no detectable difference between {a} and {b} ({Points(c.Difference)} points [{Points(c.Low)}, {Points(c.High)}], {p})";
        // The interval decides the direction; the magnitudes are read from A's side when A is better, B's otherwise.
        return c.Low > 0
            ? $"{a} is better than {b} by {Points(c.Difference)} points [{Points(c.Low)}, {Points(c.High)}], {p}"
            : $"{a} is worse than {b} by {Points(-c.Difference)} points [{Points(-c.High)}, {Points(-c.Low)}], {p}";
    }

    private static string Points(double difference)
    {
        var points = Math.Round(difference * 100, 1, MidpointRounding.AwayFromZero);
        return (points == 0 ? 0 : points).ToString("0.0", CultureInfo.InvariantCulture); // never "-0.0"
    }

    private static string FormatP(double p) =>
        p < 0.001 ? "p < 0.001" : "p = " + p.ToString(p < 0.01 ? "0.000" : "0.00", CultureInfo.InvariantCulture);
}
