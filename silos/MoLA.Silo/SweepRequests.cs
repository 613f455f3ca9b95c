using MoLA.Grains;

namespace MoLA.Silo;

/// <summary>
/// POST /api/sweeps: an expanded sweep (`mola sweep` expands the YAML: allocations, parameter matching, AlphaLoRA, axes,
/// seeds): its configurations and trials with complete `mola train` settings, validated like jobs before anything starts.
/// </summary>
public sealed record SubmitSweepRequest
{
    public string? Name { get; init; }
    public List<SweepConfigurationRequest>? Configurations { get; init; }
    public List<SweepTrialRequest>? Trials { get; init; }
    public string? Baseline { get; init; }
    /// <summary>"generation" or "multiple_choice".</summary>
    public string? Metric { get; init; }
    public SweepAshaRequest? Asha { get; init; }
    public int? TrialRetries { get; init; }
    public int? Dp { get; init; }
    public int? Ep { get; init; }
    public int? Priority { get; init; }
    public int? MaxRestarts { get; init; }
    public double? HangTimeout { get; init; }
    public long? Steps { get; init; }
    public List<List<string>>? MirrorPairs { get; init; }
}

public sealed record SweepConfigurationRequest(string Name, string Entry, Dictionary<string, string> Settings);

public sealed record SweepTrialRequest(string Name, string Configuration, int Seed, Dictionary<string, string> Settings);

public sealed record SweepAshaRequest(long FirstRung, int Eta, int MinSeeds);

/// <summary>What GET /api/sweeps/{id} returns.</summary>
public sealed record SweepView(
    string SweepId, string Name, string State, string? Reason, string Directory, string Metric, string? Baseline, DateTime SubmittedAt,
    DateTime? FinishedAt, double? BestScore, IReadOnlyDictionary<string, int> TrialsByState, IReadOnlyList<SweepConfigurationView> Configurations,
    IReadOnlyList<TrialView> Trials, IReadOnlyList<SweepStopView> Stops, SweepAshaRequest? Asha, int TrialRetries, long Steps,
    IReadOnlyList<IReadOnlyList<string>> MirrorPairs)
{
    public static SweepView From(SweepStatus s) => new(
        s.SweepId, s.Spec.Name, s.State.Name(), s.Reason, s.Spec.Directory, s.Spec.Metric, s.Spec.Baseline, s.SubmittedAt, s.FinishedAt, s.BestScore,
        Enum.GetValues<TrialState>().ToDictionary(t => t.Name(), t => s.Trials.Count(x => x.State == t)),
        s.Spec.Configurations.Select(c => new SweepConfigurationView(c.Name, c.Entry, c.Settings)).ToList(),
        s.Trials.Select(t => new TrialView(t.Name, t.Configuration, t.Seed, t.State.Name(), t.Attempts, t.JobId, t.RunDirectory, t.Reason,
            t.Step, t.TotalSteps, t.Loss, t.TokensPerSecond, t.Score, t.StartedAt, t.FinishedAt, t.WallSeconds,
            t.Evaluations.Select(e => new EvaluationView(e.Step, e.Accuracy)).ToList(), t.FailedAttempts)).ToList(),
        s.Stops.Select(x => new SweepStopView(x.Configuration, x.Rung, x.Reason, x.At)).ToList(),
        s.Spec.Asha is { } a ? new SweepAshaRequest(a.FirstRung, a.Eta, a.MinSeeds) : null, s.Spec.TrialRetries, s.Spec.Steps,
        s.Spec.MirrorPairs.Select(p => (IReadOnlyList<string>)[p.Shape, p.Mirror]).ToList());
}

public sealed record SweepConfigurationView(string Name, string Entry, IReadOnlyDictionary<string, string> Settings);

public sealed record TrialView(
    string Name, string Configuration, int Seed, string State, int Attempts, string? JobId, string? RunDirectory, string? Reason, long Step,
    long TotalSteps, double? Loss, double? TokensPerSecond, double? Score, DateTime? StartedAt, DateTime? FinishedAt, double? WallSeconds,
    IReadOnlyList<EvaluationView> Evaluations, IReadOnlyList<string> FailedAttempts);

public sealed record EvaluationView(long Step, IReadOnlyDictionary<string, double> Accuracy);

public sealed record SweepStopView(string Configuration, long Rung, string Reason, DateTime At);
