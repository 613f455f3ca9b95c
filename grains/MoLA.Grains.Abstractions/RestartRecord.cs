namespace MoLA.Grains;

/// <summary>
/// One entry of a job's restart log: which generation failed, when, where and why, and (once the next generation made
/// its first step) the step it resumed from, the steps redone and how long the recovery took.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RestartRecord
{
    [Id(0)] public required int FailedGeneration { get; init; }
    [Id(1)] public required DateTime At { get; init; }
    /// <summary>The rank at fault, or null when a whole node went silent.</summary>
    [Id(2)] public int? Rank { get; init; }
    [Id(3)] public required string Node { get; init; }
    [Id(4)] public required string Reason { get; init; }
    /// <summary>Steps every rank had completed when the generation failed.</summary>
    [Id(5)] public long StepReached { get; init; }
    /// <summary>The step the next generation continued from (its first step minus one).</summary>
    [Id(6)] public long? ResumedFrom { get; init; }
    /// <summary>Completed steps that had to be computed again: StepReached - ResumedFrom.</summary>
    [Id(7)] public long? StepsLost { get; init; }
    /// <summary>From the failure to the first step of the next generation.</summary>
    [Id(8)] public double? RecoverySeconds { get; init; }
}
