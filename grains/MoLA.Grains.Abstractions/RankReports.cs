namespace MoLA.Grains;

/// <summary>A rank's latest progress line (what `mola train` prints for each step under a node agent).</summary>
[GenerateSerializer, Immutable]
public sealed record RankProgress(
    [property: Id(0)] long Step,
    [property: Id(1)] long TotalSteps,
    [property: Id(2)] double Loss,
    [property: Id(3)] double TokensPerSecond,
    [property: Id(4)] DateTime At);

/// <summary>
/// How a rank process ended: its exit code, or the signal that killed it. <see cref="Stopped"/>: the agent stopped it
/// because the job no longer wanted it (not a failure); <see cref="Cause"/>: why the agent killed it, when it did
/// (e.g. hung past the hang timeout).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RankExit(
    [property: Id(0)] int ExitCode,
    [property: Id(1)] int? Signal,
    [property: Id(2)] string? LastError,
    [property: Id(3)] DateTime At,
    [property: Id(4)] bool Stopped = false,
    [property: Id(5)] string? Cause = null)
{
    public bool Succeeded => ExitCode == 0 && Signal is null;

    public string Describe()
    {
        var how = Signal is { } s
            ? $"was killed by signal {s}{(s == 9 ? " (SIGKILL)" : s == 15 ? " (SIGTERM)" : "")}"
            : ExitCode == 0 ? "finished" : $"exited with code {ExitCode}{(LastError is { Length: > 0 } e ? $": {e}" : "")}";
        return Cause is { Length: > 0 } c ? $"{how}: {c}" : how;
    }
}
