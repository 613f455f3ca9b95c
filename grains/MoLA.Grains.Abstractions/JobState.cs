namespace MoLA.Grains;

/// <summary>
/// A job's life: Queued -> Scheduled -> Running(generation) -> Succeeded | Failed | Cancelled. A failed generation
/// moves Scheduled/Running -> Restarting (the survivors are stopped) -> Scheduled (generation + 1).
/// </summary>
[GenerateSerializer]
public enum JobState
{
    Queued,
    Scheduled,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Restarting,
}

public static class JobStates
{
    public static bool IsFinal(this JobState s) => s is JobState.Succeeded or JobState.Failed or JobState.Cancelled;

    /// <summary>The transitions the job grain allows; anything else is a bug or a stale report and is refused.</summary>
    public static bool CanMove(JobState from, JobState to) => (from, to) switch
    {
        (JobState.Queued, JobState.Scheduled) => true,
        (JobState.Scheduled, JobState.Running) => true,
        (JobState.Running, JobState.Succeeded) => true,
        (JobState.Scheduled or JobState.Running, JobState.Restarting) => true,
        (JobState.Restarting, JobState.Scheduled) => true,
        (_, JobState.Failed) when !from.IsFinal() => true,
        (_, JobState.Cancelled) when !from.IsFinal() => true,
        _ => false,
    };

    public static string Name(this JobState s) => s.ToString().ToLowerInvariant();
}
