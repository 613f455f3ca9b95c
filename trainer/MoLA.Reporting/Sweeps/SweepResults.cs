using MoLA.Reporting.Statistics;

namespace MoLA.Reporting.Sweeps;

/// <summary>
/// A finished sweep's results, as results.json holds them (snake_case, <see cref="MoLA.Training.Runs.RunJson.Options"/>).
/// Only succeeded trials enter the statistics; every other trial is in <see cref="ExcludedTrials"/> with its reason.
/// </summary>
/// <param name="Configurations">Leaderboard order: ranked configurations by their metric score (best first), then those with no finished trial.</param>
/// <param name="Comparisons">Every configuration but the baseline against the baseline (empty without a baseline).</param>
/// <param name="Mirrors">One "higher layers need more experts" statement per mirror pair.</param>
/// <param name="Exclusion">Says in words what was left out of the statistics and why.</param>
public sealed record SweepResults(
    string SweepId,
    string Name,
    string Metric,
    string? Baseline,
    IReadOnlyList<ConfigurationResult> Configurations,
    IReadOnlyList<BaselineComparison> Comparisons,
    IReadOnlyList<MirrorResult> Mirrors,
    IReadOnlyList<ExcludedTrial> ExcludedTrials,
    string Exclusion);

/// <summary>One configuration's results over its succeeded trials.</summary>
/// <param name="Rank">Leaderboard place by <see cref="Score"/> (ties share a place); null without a finished trial.</param>
/// <param name="ExpertsPerLayer">The allocation from run.json (null without a finished trial).</param>
/// <param name="Seeds">Seeds whose trial succeeded (the statistics' replicates).</param>
/// <param name="Score">Overall accuracy (task "all") in the sweep's metric format: what the leaderboard orders by.</param>
/// <param name="TokensPerSecond">Mean over trials of each trial's mean training tokens/s.</param>
/// <param name="WallSeconds">Mean wall time per trial (the sweep's record, else the sum of the run's step times).</param>
public sealed record ConfigurationResult(
    int? Rank,
    string Name,
    string Entry,
    IReadOnlyDictionary<string, string> Settings,
    int[]? ExpertsPerLayer,
    long? TrainableParameters,
    IReadOnlyList<int> Seeds,
    int SeedsFailed,
    int SeedsStopped,
    int SeedsUnfinished,
    AccuracyResult? Score,
    IReadOnlyList<AccuracyResult> Accuracy,
    double? TokensPerSecond,
    double? WallSeconds,
    IReadOnlyList<TrialResult> Trials);

/// <summary>Mean accuracy of one (dataset, format, task) slice over a configuration's seeds.</summary>
/// <param name="Interval">"t": t-interval over the seeds' accuracies (2 or more seeds); "wilson": Wilson over the one seed's items.</param>
/// <param name="Items">Evaluated items, summed over the seeds.</param>
public sealed record AccuracyResult(string Dataset, string Format, string Task, double Mean, double Low, double High,
    string Interval, int Seeds, int Items);

/// <summary>One succeeded trial.</summary>
/// <param name="Score">Its overall accuracy in the sweep's metric format.</param>
public sealed record TrialResult(string Trial, int Seed, string RunDirectory, double Score, double? TokensPerSecond, double? WallSeconds);

/// <summary>A configuration against the baseline over the (seed, item) pairs of the seeds both finished.</summary>
/// <param name="Comparison">Null when the two share no finished seed (then <see cref="Verdict"/> says so).</param>
public sealed record BaselineComparison(string Configuration, string Baseline, IReadOnlyList<int> Seeds,
    PairedComparison? Comparison, string Verdict);

/// <summary>"Higher layers need more experts" for a shape and its mirror.</summary>
/// <param name="HigherLayers">The configuration whose experts sit higher (larger expert-weighted mean layer); null when neither does.</param>
/// <param name="Outcome">"supported" | "contradicted" | "not detectable".</param>
/// <param name="Comparison">HigherLayers against LowerLayers over shared (seed, item) pairs; null when not computable.</param>
public sealed record MirrorResult(string Shape, string Mirror, string? HigherLayers, string? LowerLayers, string Outcome,
    IReadOnlyList<int> Seeds, PairedComparison? Comparison, string Statement);

/// <summary>A trial left out of the statistics: failed, stopped, cancelled or unfinished.</summary>
public sealed record ExcludedTrial(string Trial, string Configuration, int Seed, string State, string? Reason, string? RunDirectory);
