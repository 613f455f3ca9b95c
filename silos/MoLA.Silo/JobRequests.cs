using MoLA.Grains;

namespace MoLA.Silo;

/// <summary>POST /api/jobs: a `mola train` settings map (flag names without "--") and the parallel shape.</summary>
public sealed record SubmitJobRequest
{
    public string? Name { get; init; }
    public Dictionary<string, string>? Settings { get; init; }
    public int? Dp { get; init; }
    public int? Ep { get; init; }
    public int? Priority { get; init; }
    /// <summary>Failed generations replaced before the job fails (default 3).</summary>
    public int? MaxRestarts { get; init; }
    /// <summary>Seconds without a step after which a rank is killed as hung (default 600).</summary>
    public double? HangTimeout { get; init; }
}

/// <summary>A refused request: the field at fault and what is wrong (HTTP 400).</summary>
public sealed class JobSpecException(string field, string message) : Exception($"{field}: {message}")
{
    public string Field { get; } = field;
}

/// <summary>
/// Validates a job's training settings exactly as `mola train` would (the host knows nothing of training: the CLI
/// that hosts the silo provides this) and returns the device kind its ranks need ("cpu" or "cuda").
/// Throws <see cref="JobSpecException"/> naming the setting.
/// </summary>
public interface IJobSpecValidator
{
    string Validate(IReadOnlyDictionary<string, string> settings, int dataParallel, int expertParallel);
}

/// <summary>How the agent starts a rank: the `mola` program and the arguments before "train".</summary>
public sealed record RankProgram(string Program, IReadOnlyList<string> PrefixArguments);

/// <summary>What GET /api/jobs/{id} returns: the job status, flattened for JSON clients. RunDirectory is rank 0's `mola train --out`.</summary>
public sealed record JobView(
    string JobId, string Name, string State, int Generation, int WorldSize, int Dp, int Ep, int Priority, long Step, long TotalSteps,
    string RunDirectory, string? Reason, DateTime SubmittedAt, DateTime? StartedAt, DateTime? FinishedAt, string? Rendezvous,
    string? LastCheckpoint, IReadOnlyList<RankView> Ranks, IReadOnlyList<TransitionView> Transitions, IReadOnlyDictionary<string, string> Settings,
    int Restarts, int MaxRestarts, long StepsLost, double? RecoverySeconds, double HangTimeout, IReadOnlyList<RestartView> RestartLog)
{
    public static JobView From(JobStatus s) => new(
        s.JobId, s.Spec.Name, s.State.Name(), s.Generation, s.Spec.WorldSize, s.Spec.DataParallel, s.Spec.ExpertParallel, s.Spec.Priority,
        s.Step, s.TotalSteps, JobPaths.Run(s.Spec.RunDirectory), s.Reason, s.SubmittedAt, s.StartedAt, s.FinishedAt,
        s.Rendezvous is { } r ? $"{r.Address}:{r.Port}" : null, s.LastCheckpoint,
        s.Ranks.Select(r => new RankView(r.Rank, r.Node, r.Slot, r.ProcessId, r.Progress?.Step, r.Progress?.Loss, r.Progress?.TokensPerSecond,
            r.LastHeartbeat, r.Exit?.ExitCode, r.Exit?.Signal, r.Exit?.Describe())).ToList(),
        s.Transitions.Select(t => new TransitionView(t.From.Name(), t.To.Name(), t.At, t.Reason)).ToList(),
        s.Spec.Settings,
        s.Restarts, s.Spec.MaxRestarts, s.StepsLost, s.RecoverySeconds, s.Spec.HangTimeout.TotalSeconds,
        s.RestartLog.Select(r => new RestartView(r.FailedGeneration, r.At, r.Rank, r.Node, r.Reason, r.StepReached, r.ResumedFrom, r.StepsLost, r.RecoverySeconds)).ToList());
}

/// <summary>One restart log entry: the failed generation, where and why, and what the recovery cost.</summary>
public sealed record RestartView(int Generation, DateTime At, int? Rank, string Node, string Reason, long StepReached, long? ResumedFrom,
    long? StepsLost, double? RecoverySeconds);

public sealed record RankView(int Rank, string Node, int Slot, int? Pid, long? Step, double? Loss, double? TokensPerSecond,
    DateTime? LastHeartbeat, int? ExitCode, int? Signal, string? Exit);

public sealed record TransitionView(string From, string To, DateTime At, string Reason);

public sealed record NodeView(string Name, string Address, bool Alive, DateTime LastHeartbeat, IReadOnlyList<string> Devices,
    IReadOnlyList<string> Assigned, IReadOnlyDictionary<string, int> Running);
