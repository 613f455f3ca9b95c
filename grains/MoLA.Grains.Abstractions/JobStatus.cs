namespace MoLA.Grains;

/// <summary>One rank as the job sees it: where it runs, its process, its latest progress and how it ended.</summary>
[GenerateSerializer, Immutable]
public sealed record RankStatus
{
    [Id(0)] public required int Rank { get; init; }
    [Id(1)] public required string Node { get; init; }
    [Id(2)] public required int Slot { get; init; }
    [Id(3)] public int? ProcessId { get; init; }
    [Id(4)] public RankProgress? Progress { get; init; }
    [Id(5)] public RankExit? Exit { get; init; }
    /// <summary>The last time the rank's agent said anything about it.</summary>
    [Id(6)] public DateTime? LastHeartbeat { get; init; }
}

/// <summary>A state change, with when and why (every transition keeps its reason).</summary>
[GenerateSerializer, Immutable]
public sealed record JobTransition([property: Id(0)] JobState From, [property: Id(1)] JobState To, [property: Id(2)] DateTime At, [property: Id(3)] string Reason);

/// <summary>Everything the API and `mola status` show of a job.</summary>
[GenerateSerializer, Immutable]
public sealed record JobStatus
{
    [Id(0)] public required string JobId { get; init; }
    [Id(1)] public required JobSpec Spec { get; init; }
    [Id(2)] public required JobState State { get; init; }
    [Id(3)] public int Generation { get; init; }
    [Id(4)] public RendezvousEndpoint? Rendezvous { get; init; }
    [Id(5)] public List<RankStatus> Ranks { get; init; } = [];
    [Id(6)] public List<JobTransition> Transitions { get; init; } = [];
    [Id(7)] public DateTime SubmittedAt { get; init; }
    [Id(8)] public DateTime? StartedAt { get; init; }
    [Id(9)] public DateTime? FinishedAt { get; init; }
    /// <summary>Why the job is in its state (the last transition's reason).</summary>
    [Id(10)] public string? Reason { get; init; }
    /// <summary>The newest complete checkpoint-N directory rank 0 reported.</summary>
    [Id(11)] public string? LastCheckpoint { get; init; }
    /// <summary>Generations replaced after a failure (at most the spec's MaxRestarts).</summary>
    [Id(12)] public int Restarts { get; init; }
    /// <summary>Every failure the job recovered from (or died of, when the budget was spent), oldest first.</summary>
    [Id(13)] public List<RestartRecord> RestartLog { get; init; } = [];
    /// <summary>Completed steps computed again over all restarts.</summary>
    [Id(14)] public long StepsLost { get; init; }
    /// <summary>The last recovery's time from the failure to the new generation's first step.</summary>
    [Id(15)] public double? RecoverySeconds { get; init; }
    /// <summary>While Restarting: the generation being stopped has no process left (or its node is gone), so the next may start.</summary>
    [Id(16)] public bool Drained { get; init; }
    /// <summary>Rank 0's evaluations by step (a step evaluated again after a restart keeps the newest), oldest first.</summary>
    [Id(17)] public List<JobEvaluation> Evaluations { get; init; } = [];

    /// <summary>The slowest rank's step: every rank has completed it.</summary>
    public long Step => Ranks.Count == 0 ? 0 : Ranks.Min(r => r.Progress?.Step ?? 0);
    public long TotalSteps => Ranks.Select(r => r.Progress?.TotalSteps ?? 0).DefaultIfEmpty(0).Max();
}
