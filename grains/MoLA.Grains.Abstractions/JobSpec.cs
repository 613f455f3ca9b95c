namespace MoLA.Grains;

/// <summary>
/// What a user submits: the settings of one `mola train` run (flag names without "--", validated with `mola train`'s
/// own errors before the job is created) and its parallel shape. World size = dp x ep ranks, one device slot each.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobSpec
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required Dictionary<string, string> Settings { get; init; }
    [Id(2)] public int DataParallel { get; init; } = 1;
    [Id(3)] public int ExpertParallel { get; init; } = 1;
    /// <summary>Higher runs first; equal priorities run in submission order.</summary>
    [Id(4)] public int Priority { get; init; }
    /// <summary>Where rank 0 writes the run (under the cluster's shared run root).</summary>
    [Id(5)] public required string RunDirectory { get; init; }
    /// <summary>"cpu" or "cuda": the kind of device slot each rank needs.</summary>
    [Id(6)] public string Device { get; init; } = "cpu";
    /// <summary>How many times a failed generation is replaced by a new one before the job fails.</summary>
    [Id(7)] public int MaxRestarts { get; init; } = DefaultMaxRestarts;
    /// <summary>
    /// A rank that prints no step for this long since its last step is killed as hung (before its first step it gets at
    /// least the agent's startup allowance, 10 minutes, to load its checkpoint).
    /// </summary>
    [Id(8)] public TimeSpan HangTimeout { get; init; } = DefaultHangTimeout;

    public int WorldSize => DataParallel * ExpertParallel;

    public const int DefaultMaxRestarts = 3;
    /// <summary>Far above any step time we expect (a 70B step with gradient accumulation takes minutes at most).</summary>
    public static readonly TimeSpan DefaultHangTimeout = TimeSpan.FromMinutes(10);
}
