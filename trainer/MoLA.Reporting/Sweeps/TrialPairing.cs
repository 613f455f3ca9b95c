using MoLA.Reporting.Statistics;
using MoLA.Training.Runs;

namespace MoLA.Reporting.Sweeps;

/// <summary>
/// Two configurations compared item by item: for every seed both finished, the same test items (same indices, same gold
/// answers) under A and under B, pooled over the seeds as (seed, item) pairs.
/// </summary>
internal static class TrialPairing
{
    /// <summary>The seeds both finished, and the comparison over them (null when there are none).</summary>
    public static (IReadOnlyList<int> Seeds, PairedComparison? Comparison) Compare(
        IReadOnlyList<LoadedTrial> a, IReadOnlyList<LoadedTrial> b, string metric)
    {
        var bySeed = b.ToDictionary(t => t.Input.Seed);
        var seeds = a.Select(t => t.Input.Seed).Where(bySeed.ContainsKey).Order().ToList();
        if (seeds.Count == 0) return (seeds, null);
        var (ca, cb) = (new List<bool>(), new List<bool>());
        foreach (var seed in seeds)
        {
            var ta = a.Single(t => t.Input.Seed == seed);
            var tb = bySeed[seed];
            var (ia, ib) = (ta.Items(metric), tb.Items(metric));
            CheckSameItems(ta, ia, tb, ib, metric);
            ca.AddRange(ia.Select(i => i.Correct));
            cb.AddRange(ib.Select(i => i.Correct));
        }
        return (seeds, Paired.Compare(ca, cb));
    }

    /// <summary>Pairs mean nothing unless both sides answered the same questions: else an error naming both run directories.</summary>
    private static void CheckSameItems(LoadedTrial ta, IReadOnlyList<ItemOutcome> a, LoadedTrial tb, IReadOnlyList<ItemOutcome> b, string metric)
    {
        string Where() => $"{ta.Run.Directory} and {tb.Run.Directory} (seed {ta.Input.Seed}, {metric}): the evaluated items differ";
        if (a.Count != b.Count) throw new RunDirectoryException($"{Where()}: {a.Count} vs {b.Count} items in {RunFiles.Predictions}");
        for (var i = 0; i < a.Count; i++)
        {
            if (a[i].Index != b[i].Index)
                throw new RunDirectoryException($"{Where()}: item {i} in index order is index {a[i].Index} vs {b[i].Index} in {RunFiles.Predictions}");
            if (a[i].Gold != b[i].Gold)
                throw new RunDirectoryException($"{Where()}: item {a[i].Index} has gold '{a[i].Gold}' vs '{b[i].Gold}' in {RunFiles.Predictions}");
        }
    }
}
