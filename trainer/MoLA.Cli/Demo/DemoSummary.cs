using MoLA.Reporting.Sweeps;
using MoLA.Training.Runs;

namespace MoLA.Cli.Demo;

/// <summary>
/// summary.json of `mola demo`, beside the report: every entry (the untuned base first) with its allocation, trainable
/// parameters and accuracy per evaluated format (interval bounds and item count), and the paired comparisons (each entry
/// against the baseline, and each mirror pair), so a script reads the demo's outcome without parsing the table.
/// </summary>
internal static class DemoSummary
{
    public const string FileName = "summary.json";

    public sealed record Summary(string Metric, string? Baseline, double Chance, IReadOnlyList<Entry> Entries,
        IReadOnlyList<Comparison> Comparisons, string Report, double Seconds);

    /// <param name="Allocation">The entry as the sweep file wrote it (e.g. "2468", "alphalora (...)"); "none" for the base.</param>
    public sealed record Entry(string Name, string Allocation, int[]? ExpertsPerLayer, long? TrainableParameters,
        IReadOnlyList<FormatAccuracy> Accuracy);

    public sealed record FormatAccuracy(string Format, double Accuracy, double Low, double High, int Items);

    /// <summary>Accuracy(A) - accuracy(B) over the items both answered: 95% interval, McNemar exact p-value.</summary>
    public sealed record Comparison(string A, string B, string Kind, double Difference, double Low, double High, double PValue, int Items);

    public static Summary Build(SweepResults results, EvaluationSummary untuned, string report, double seconds)
    {
        var entries = new List<Entry>
        {
            new("base", "none", null, 0, Overall(untuned.Rows.Select(r => (r.Format, r.Task, r.Accuracy, r.CiLow, r.CiHigh, r.Total)))),
        };
        entries.AddRange(results.Configurations.Select(c => new Entry(c.Name, c.Entry, c.ExpertsPerLayer, c.TrainableParameters,
            Overall(c.Accuracy.Select(a => (a.Format, a.Task, a.Mean, a.Low, a.High, a.Items))))));
        var comparisons = results.Comparisons.Where(c => c.Comparison is not null)
            .Select(c => Of(c.Configuration, c.Baseline, "vs baseline", c.Comparison!))
            .Concat(results.Mirrors.Where(m => m.Comparison is not null && m.HigherLayers is not null)
                .Select(m => Of(m.HigherLayers!, m.LowerLayers!, "mirror: higher layers minus lower layers", m.Comparison!)))
            .ToList();
        return new Summary(results.Metric, results.Baseline, 0.25, entries, comparisons, report, seconds);
    }

    /// <summary>Writes summary.json atomically into <paramref name="directory"/>; returns its path.</summary>
    public static string Write(string directory, Summary summary)
    {
        var path = Path.Combine(directory, FileName);
        MoLA.Torch.IO.AtomicFile.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(summary, RunJson.Options) + "\n");
        return path;
    }

    private static List<FormatAccuracy> Overall(IEnumerable<(string Format, string Task, double Accuracy, double Low, double High, int Items)> rows) =>
        rows.Where(r => r.Task == "all").Select(r => new FormatAccuracy(r.Format, r.Accuracy, r.Low, r.High, r.Items)).ToList();

    private static Comparison Of(string a, string b, string kind, MoLA.Reporting.Statistics.PairedComparison c) =>
        new(a, b, kind, c.Difference, c.Low, c.High, c.PValue, c.Items);
}
