using System.Globalization;
using MoLA.Reporting.Statistics;

namespace MoLA.Reporting.Sweeps;

/// <summary>
/// The paper's claim "higher layers need more experts" tested on a shape and its mirror (2468 vs 8642): the configuration
/// whose experts sit higher (larger expert-weighted mean layer index) against the other, paired over shared (seed, item)
/// pairs. Supported when it is better and the interval excludes 0, contradicted when worse and it excludes 0.
/// </summary>
internal static class MirrorAnalysis
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static MirrorResult Analyze(string shape, string mirror, IReadOnlyDictionary<string, IReadOnlyList<LoadedTrial>> trials, string metric)
    {
        var (ts, tm) = (trials[shape], trials[mirror]);
        if (ts.Count == 0 || tm.Count == 0)
        {
            var missing = ts.Count == 0 ? shape : mirror;
            return NotDetectable(shape, mirror, null, null, [], null, $"{missing} has no finished trial");
        }
        var (cs, cm) = (Centre(ts[0]), Centre(tm[0]));
        if (Math.Abs(cs - cm) < 1e-12)
            return NotDetectable(shape, mirror, null, null, [], null, $"{shape} and {mirror} place their experts equally high (mean layer {cs.ToString("0.##", Inv)})");
        var (higher, lower) = cs > cm ? (shape, mirror) : (mirror, shape);
        var (seeds, c) = TrialPairing.Compare(trials[higher], trials[lower], metric);
        if (c is null)
            return NotDetectable(shape, mirror, higher, lower, seeds, null, $"{higher} and {lower} share no finished seed");
        var outcome = c.Low > 0 ? "supported" : c.High < 0 ? "contradicted" : "not detectable";
        var by = Points(Math.Abs(c.Difference));
        var how = outcome switch
        {
            "supported" => $"{higher} (more experts in higher layers) is better than {lower} by {by} points",
            "contradicted" => $"{higher} (more experts in higher layers) is worse than {lower} by {by} points",
            _ => $"no detectable difference between {higher} (more experts in higher layers) and {lower}",
        };
        var statement = $"Higher layers need more experts: {outcome} on this model: {how} " +
            $"(difference {Points(c.Difference)} points [{Points(c.Low)}, {Points(c.High)}], 95% interval; p = {c.PValue.ToString("G2", Inv)}; " +
            $"{c.Items} paired items over {Seeds(seeds)}).";
        return new MirrorResult(shape, mirror, higher, lower, outcome, seeds, c, statement);
    }

    /// <summary>Expert-weighted mean layer index: where the allocation puts its experts.</summary>
    internal static double Centre(LoadedTrial t)
    {
        var e = t.Run.Manifest.Allocation.Experts;
        return e.Select((n, l) => (double)n * l).Sum() / e.Sum();
    }

    internal static string Points(double fraction) => (fraction * 100).ToString("0.0", Inv);

    internal static string Seeds(IReadOnlyList<int> seeds) =>
        seeds.Count == 1 ? $"seed {seeds[0]}" : $"{seeds.Count} seeds ({string.Join(", ", seeds)})";

    private static MirrorResult NotDetectable(string shape, string mirror, string? higher, string? lower, IReadOnlyList<int> seeds,
        PairedComparison? c, string why) =>
        new(shape, mirror, higher, lower, "not detectable", seeds, c, $"Higher layers need more experts: not detectable from {shape} vs {mirror}: {why}.");
}
