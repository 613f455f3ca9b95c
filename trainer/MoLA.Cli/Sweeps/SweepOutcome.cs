using System.Globalization;
using MoLA.Cli.Output;
using MoLA.Reporting.Sweeps;
using MoLA.Silo;

namespace MoLA.Cli.Sweeps;

/// <summary>
/// A sweep's results from its trials' run directories (read where this command runs: the run root is shared, or local
/// for the embedded cluster): results.json, leaderboard.csv and report.html in the sweep's directory, and the
/// leaderboard with the verdicts for the terminal.
/// </summary>
internal static class SweepOutcome
{
    public sealed record Outcome(SweepResults Results, IReadOnlyDictionary<string, string> Files);

    public static Outcome Write(SweepView view)
    {
        var input = Input(view);
        Directory.CreateDirectory(input.Directory);
        var results = SweepAnalysis.Analyze(input);
        var (json, csv) = SweepResultFiles.Write(input, results);
        var report = SweepReport.Write(input, results);
        return new Outcome(results, new Dictionary<string, string> { ["results"] = json, ["leaderboard"] = csv, ["report"] = report });
    }

    /// <summary>The sweep as the analysis reads it: trials not yet submitted count as queued.</summary>
    internal static SweepInput Input(SweepView view) => new(
        view.SweepId, view.Name, view.Directory, view.Baseline, view.Metric,
        view.Configurations.Select(c => new SweepConfigurationInput(c.Name, c.Entry, c.Settings)).ToList(),
        view.Trials.Select(t => new SweepTrialInput(t.Name, t.Configuration, t.Seed, t.State == "pending" ? "queued" : t.State,
            t.RunDirectory, t.Reason, t.WallSeconds)).ToList(),
        view.MirrorPairs.Select(p => (p[0], p[1])).ToList());

    public static void Print(TextWriter output, SweepView view, Outcome outcome)
    {
        var inv = CultureInfo.InvariantCulture;
        var r = outcome.Results;
        output.WriteLine(SweepProgress.Header(view));
        var table = new TextTable(("#", true), ("configuration", false), ("experts per layer", false), ("trainable", true), ("seeds", true),
            ($"{r.Metric} acc [95% CI]", false), ("vs baseline", false), ("tokens/s", true), ("time", true));
        foreach (var c in r.Configurations)
        {
            var comparison = r.Comparisons.FirstOrDefault(x => x.Configuration == c.Name)?.Comparison;
            table.Add(c.Rank?.ToString(inv) ?? "-", c.Name, c.ExpertsPerLayer is { } e ? string.Join(",", e) : "-",
                c.TrainableParameters?.ToString("N0", inv) ?? "-", c.Seeds.Count.ToString(inv),
                c.Score is { } s ? string.Create(inv, $"{s.Mean:P1} [{s.Low:P1}, {s.High:P1}] {s.Interval}") : "-",
                c.Name == r.Baseline ? "baseline" : comparison is { } d ? string.Create(inv, $"{d.Difference * 100:+0.0;-0.0} pt, p={d.PValue:0.###}") : "-",
                c.TokensPerSecond?.ToString("F0", inv) ?? "-", c.WallSeconds is { } w ? ProgressDisplay.Duration(w) : "-");
        }
        table.Write(output);
        output.WriteLine();
        foreach (var c in r.Comparisons) output.WriteLine(c.Verdict);
        foreach (var m in r.Mirrors) output.WriteLine(m.Statement);
        if (r.ExcludedTrials.Count > 0) output.WriteLine(r.Exclusion);
        output.WriteLine();
        output.WriteLine($"report: {outcome.Files["report"]}");
        output.WriteLine($"results: {outcome.Files["results"]}   leaderboard: {outcome.Files["leaderboard"]}");
    }
}
