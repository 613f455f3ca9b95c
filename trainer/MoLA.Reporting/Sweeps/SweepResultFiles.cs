using System.Globalization;
using System.Text.Json;
using CsvHelper;
using MoLA.Torch.IO;
using MoLA.Training.Runs;

namespace MoLA.Reporting.Sweeps;

/// <summary>results.json (all of <see cref="SweepResults"/>) and leaderboard.csv (one row per configuration) in the sweep directory.</summary>
public static class SweepResultFiles
{
    public const string Results = "results.json";
    public const string Leaderboard = "leaderboard.csv";

    public static readonly string[] LeaderboardColumns =
    [
        "rank", "configuration", "entry", "experts_per_layer", "trainable_parameters", "seeds", "metric_mean", "metric_low",
        "metric_high", "interval", "difference_vs_baseline", "difference_low", "difference_high", "p_value", "verdict",
        "tokens_per_second", "wall_seconds",
    ];

    /// <summary>Writes both files atomically (a reader never sees half a file) and returns their paths.</summary>
    public static (string Results, string Leaderboard) Write(SweepInput input, SweepResults results)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(results);
        var dir = Path.GetFullPath(input.Directory);
        Directory.CreateDirectory(dir);
        var json = Path.Combine(dir, Results);
        var csv = Path.Combine(dir, Leaderboard);
        AtomicFile.WriteAllText(json, JsonSerializer.Serialize(results, RunJson.Options) + "\n");
        AtomicFile.WriteAllText(csv, Csv(results));
        return (json, csv);
    }

    internal static string Csv(SweepResults results)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        // Numbers go in as invariant strings so the file is the same on every machine; LF ends records like the other files.
        using (var csv = CsvWriter.Create(text, CsvWriterOptions.Default with { NewLine = "\n" }, leaveOpen: true))
        {
            csv.WriteRecord(LeaderboardColumns);
            foreach (var c in results.Configurations)
            {
                var vs = results.Comparisons.FirstOrDefault(x => x.Configuration == c.Name);
                var cmp = vs?.Comparison;
                string[] row =
                [
                    c.Rank?.ToString(CultureInfo.InvariantCulture) ?? "",
                    c.Name, c.Entry,
                    c.ExpertsPerLayer is null ? "" : string.Join(' ', c.ExpertsPerLayer),
                    c.TrainableParameters?.ToString(CultureInfo.InvariantCulture) ?? "",
                    c.Seeds.Count.ToString(CultureInfo.InvariantCulture),
                    Num(c.Score?.Mean), Num(c.Score?.Low), Num(c.Score?.High), c.Score?.Interval ?? "",
                    Num(cmp?.Difference), Num(cmp?.Low), Num(cmp?.High), Num(cmp?.PValue),
                    c.Name == results.Baseline ? "baseline" : vs?.Verdict ?? "",
                    Num(c.TokensPerSecond), Num(c.WallSeconds),
                ];
                csv.WriteRecord(row);
            }
        }
        return text.ToString();
    }

    private static string Num(double? v) => v is { } x ? x.ToString("R", CultureInfo.InvariantCulture) : "";
}
