namespace MoLA.Reporting.Sweeps;

/// <summary>One trial of a sweep as the SweepGrain recorded it.</summary>
/// <param name="State">succeeded | failed | stopped (by ASHA) | cancelled | running | queued; only succeeded trials count.</param>
/// <param name="RunDirectory">The trial's `mola train --out` (run.json, metrics.jsonl, eval.json, predictions.jsonl, expert_load.json).</param>
/// <param name="Reason">Why a trial failed or was stopped (shown in the report).</param>
public sealed record SweepTrialInput(string Trial, string Configuration, int Seed, string State, string? RunDirectory,
    string? Reason, double? WallSeconds);

/// <summary>One point of the sweep's grid.</summary>
/// <param name="Entry">The allocation entry as the user wrote it, e.g. "mola 2468" or "lora rank 42 (matches ...)".</param>
/// <param name="Settings">The trial's `mola train` settings (no seed/out).</param>
public sealed record SweepConfigurationInput(string Name, string Entry, IReadOnlyDictionary<string, string> Settings);

/// <summary>What <see cref="SweepAnalysis.Analyze"/> reads: the sweep's configurations and trials.</summary>
/// <param name="Directory">Where results.json, leaderboard.csv and report.html go.</param>
/// <param name="Baseline">The configuration every other one is compared with; null: no comparisons.</param>
/// <param name="Metric">"generation" | "multiple_choice" (eval.json's format names): the leaderboard's ordering.</param>
/// <param name="MirrorPairs">Configuration names of a shape and its mirror, e.g. ("mola-2468", "mola-8642").</param>
public sealed record SweepInput(string SweepId, string Name, string Directory, string? Baseline, string Metric,
    IReadOnlyList<SweepConfigurationInput> Configurations, IReadOnlyList<SweepTrialInput> Trials,
    IReadOnlyList<(string Shape, string Mirror)> MirrorPairs);
