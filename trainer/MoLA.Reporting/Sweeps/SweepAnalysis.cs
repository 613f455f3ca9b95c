using MoLA.Reporting.Statistics;

namespace MoLA.Reporting.Sweeps;

/// <summary>
/// A finished sweep's statistics from its trials' run directories: per configuration the mean accuracy per slice with a
/// 95% interval, the leaderboard by the sweep's metric, every configuration against the baseline item by item, and the
/// mirror statements. Only succeeded trials count; the rest are listed with their reasons.
/// </summary>
public static class SweepAnalysis
{
    /// <summary>
    /// Input errors are <see cref="ArgumentException"/>s naming the field; a missing or malformed run file is a
    /// <see cref="MoLA.Training.Runs.RunDirectoryException"/> naming it.
    /// </summary>
    public static SweepResults Analyze(SweepInput input)
    {
        SweepTrials.Validate(input);
        var trials = SweepTrials.Load(input);
        var all = input.Trials ?? [];

        var configs = input.Configurations.Select(c => Configuration(c, trials[c.Name], all, input.Metric)).ToList();
        var ranked = Rank(configs);

        var comparisons = new List<BaselineComparison>();
        if (input.Baseline is { } baseline)
            foreach (var c in ranked.Where(c => c.Name != baseline))
            {
                var (seeds, cmp) = TrialPairing.Compare(trials[c.Name], trials[baseline], input.Metric);
                var verdict = cmp is null
                    ? $"no comparison between {c.Name} and {baseline}: no seed finished by both"
                    : Paired.Verdict(c.Name, baseline, cmp);
                comparisons.Add(new BaselineComparison(c.Name, baseline, seeds, cmp, verdict));
            }

        var mirrors = (input.MirrorPairs ?? []).Select(p => MirrorAnalysis.Analyze(p.Shape, p.Mirror, trials, input.Metric)).ToList();
        var excluded = all.Where(t => t.State != "succeeded")
            .Select(t => new ExcludedTrial(t.Trial, t.Configuration, t.Seed, t.State, t.Reason, t.RunDirectory)).ToList();
        var exclusion = excluded.Count == 0
            ? "Every trial succeeded; all enter the statistics."
            : $"{excluded.Count} of {all.Count} trials did not succeed ({Counts(excluded)}) and are left out of every statistic; they are listed with their reasons.";
        return new SweepResults(input.SweepId, input.Name, input.Metric, input.Baseline, ranked, comparisons, mirrors, excluded, exclusion);
    }

    private static ConfigurationResult Configuration(SweepConfigurationInput c, IReadOnlyList<LoadedTrial> done,
        IReadOnlyList<SweepTrialInput> all, string metric)
    {
        var mine = all.Where(t => t.Configuration == c.Name).ToList();
        var slices = AccuracyAggregation.Slices(done);
        var trialResults = done.Select(t => new TrialResult(t.Input.Trial, t.Input.Seed, t.Run.Directory,
            AccuracyAggregation.Score(t, metric).Accuracy, TokensPerSecond(t), WallSeconds(t))).ToList();
        var first = done.Count > 0 ? done[0].Run.Manifest : null;
        return new ConfigurationResult(
            Rank: null, c.Name, c.Entry, c.Settings ?? new Dictionary<string, string>(),
            first?.Allocation.Experts, first?.TrainableParameters,
            done.Select(t => t.Input.Seed).ToList(),
            SeedsFailed: mine.Count(t => t.State == "failed"),
            SeedsStopped: mine.Count(t => t.State == "stopped"),
            SeedsUnfinished: mine.Count(t => t.State is "cancelled" or "running" or "queued"),
            Score: slices.FirstOrDefault(s => s.Format == metric && s.Task == AccuracyAggregation.All),
            slices,
            Mean(trialResults.Select(t => t.TokensPerSecond)),
            Mean(trialResults.Select(t => t.WallSeconds)),
            trialResults);
    }

    /// <summary>Best score first; equal scores share a place (1, 1, 3); configurations without a score follow unranked.</summary>
    private static IReadOnlyList<ConfigurationResult> Rank(IReadOnlyList<ConfigurationResult> configs)
    {
        var scored = configs.Where(c => c.Score is not null).OrderByDescending(c => c.Score!.Mean).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        var ranked = new List<ConfigurationResult>();
        for (var i = 0; i < scored.Count; i++)
        {
            var rank = i > 0 && scored[i].Score!.Mean == scored[i - 1].Score!.Mean ? ranked[i - 1].Rank : i + 1;
            ranked.Add(scored[i] with { Rank = rank });
        }
        ranked.AddRange(configs.Where(c => c.Score is null));
        return ranked;
    }

    private static double? TokensPerSecond(LoadedTrial t)
    {
        var v = t.Run.Steps.Select(s => s.TokensPerSecond).Where(double.IsFinite).ToList();
        return v.Count == 0 ? null : v.Average();
    }

    /// <summary>The sweep's wall time of the trial, else the run's own step times.</summary>
    private static double? WallSeconds(LoadedTrial t)
    {
        if (t.Input.WallSeconds is { } w) return w;
        var v = t.Run.Steps.Select(s => s.Seconds).Where(double.IsFinite).ToList();
        return v.Count == 0 ? null : v.Sum();
    }

    private static double? Mean(IEnumerable<double?> values)
    {
        var v = values.Where(x => x is not null).Select(x => x!.Value).ToList();
        return v.Count == 0 ? null : v.Average();
    }

    private static string Counts(IEnumerable<ExcludedTrial> excluded) =>
        string.Join(", ", excluded.GroupBy(t => t.State).OrderBy(g => Array.IndexOf(SweepTrials.States, g.Key)).Select(g => $"{g.Count()} {g.Key}"));
}
