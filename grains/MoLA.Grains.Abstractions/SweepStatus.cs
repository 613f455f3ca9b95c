namespace MoLA.Grains;

/// <summary>A sweep runs until every trial has ended; it succeeded when at least one trial did.</summary>
[GenerateSerializer]
public enum SweepState
{
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>
/// A trial's life: Pending (not submitted) -> Queued (its job waits for devices) -> Running -> Succeeded | Failed |
/// Stopped (by ASHA) | Cancelled. A failed attempt with retries left goes back to Pending.
/// </summary>
[GenerateSerializer]
public enum TrialState
{
    Pending,
    Queued,
    Running,
    Succeeded,
    Failed,
    Stopped,
    Cancelled,
}

public static class SweepStates
{
    public static bool IsFinal(this TrialState s) => s is TrialState.Succeeded or TrialState.Failed or TrialState.Stopped or TrialState.Cancelled;

    public static string Name(this TrialState s) => s.ToString().ToLowerInvariant();

    public static string Name(this SweepState s) => s.ToString().ToLowerInvariant();
}

/// <summary>One trial as the sweep sees it: its current attempt's job, progress, evaluations and how it ended.</summary>
[GenerateSerializer, Immutable]
public sealed record TrialStatus
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required string Configuration { get; init; }
    [Id(2)] public required int Seed { get; init; }
    [Id(3)] public TrialState State { get; init; }
    /// <summary>Attempts started (a retry after a failed job is a new attempt in a new directory).</summary>
    [Id(4)] public int Attempts { get; init; }
    [Id(5)] public string? JobId { get; init; }
    /// <summary>The current attempt's `mola train --out` directory.</summary>
    [Id(6)] public string? RunDirectory { get; init; }
    [Id(7)] public string? Reason { get; init; }
    [Id(8)] public long Step { get; init; }
    [Id(9)] public long TotalSteps { get; init; }
    [Id(10)] public double? Loss { get; init; }
    [Id(11)] public double? TokensPerSecond { get; init; }
    [Id(12)] public List<JobEvaluation> Evaluations { get; init; } = [];
    /// <summary>The sweep's metric at the trial's final evaluation (succeeded trials).</summary>
    [Id(13)] public double? Score { get; init; }
    [Id(14)] public DateTime? StartedAt { get; init; }
    [Id(15)] public DateTime? FinishedAt { get; init; }
    /// <summary>Why each earlier attempt failed, oldest first.</summary>
    [Id(16)] public List<string> FailedAttempts { get; init; } = [];

    public double? WallSeconds => StartedAt is { } s && FinishedAt is { } f ? (f - s).TotalSeconds : null;
}

/// <summary>ASHA stopped a configuration at a rung, and why (its mean, the cutoff, how many were judged).</summary>
[GenerateSerializer, Immutable]
public sealed record SweepStop([property: Id(0)] string Configuration, [property: Id(1)] long Rung, [property: Id(2)] string Reason, [property: Id(3)] DateTime At);

/// <summary>Everything `mola sweep status` and GET /api/sweeps/{id} show of a sweep.</summary>
[GenerateSerializer, Immutable]
public sealed record SweepStatus
{
    [Id(0)] public required string SweepId { get; init; }
    [Id(1)] public required SweepSpec Spec { get; init; }
    [Id(2)] public SweepState State { get; init; }
    [Id(3)] public DateTime SubmittedAt { get; init; }
    [Id(4)] public DateTime? FinishedAt { get; init; }
    [Id(5)] public string? Reason { get; init; }
    [Id(6)] public List<TrialStatus> Trials { get; init; } = [];
    [Id(7)] public List<SweepStop> Stops { get; init; } = [];

    /// <summary>The best final score of a succeeded trial so far.</summary>
    public double? BestScore => Trials.Max(t => t.Score);
}
