namespace MoLA.Grains;

/// <summary>
/// An expanded sweep, as `mola sweep` submits it: its configurations (an allocation entry crossed with the other axes)
/// and its trials (a configuration with one seed, as complete `mola train` settings). The control plane runs each trial
/// as an ordinary training job; it knows nothing of what the settings mean.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SweepSpec
{
    [Id(0)] public required string Name { get; init; }
    /// <summary>The sweep's directory under the run root: one directory per trial attempt, and the results.</summary>
    [Id(1)] public required string Directory { get; init; }
    [Id(2)] public required List<SweepConfiguration> Configurations { get; init; }
    [Id(3)] public required List<SweepTrial> Trials { get; init; }
    /// <summary>The configuration every other one is compared with, item by item.</summary>
    [Id(4)] public string? Baseline { get; init; }
    /// <summary>The evaluation format trials are ranked on: "generation" or "multiple_choice".</summary>
    [Id(5)] public required string Metric { get; init; }
    /// <summary>Asynchronous successive halving; null runs every trial to its end (fifo).</summary>
    [Id(6)] public SweepAsha? Asha { get; init; }
    /// <summary>How many times a failed trial (its job failed after its own restarts) is run again from scratch.</summary>
    [Id(7)] public int TrialRetries { get; init; } = 1;
    [Id(8)] public int DataParallel { get; init; } = 1;
    [Id(9)] public int ExpertParallel { get; init; } = 1;
    /// <summary>"cpu" or "cuda": the device slot kind each rank of a trial needs.</summary>
    [Id(10)] public string Device { get; init; } = "cpu";
    [Id(11)] public int MaxRestarts { get; init; } = JobSpec.DefaultMaxRestarts;
    [Id(12)] public TimeSpan HangTimeout { get; init; } = JobSpec.DefaultHangTimeout;
    [Id(13)] public int Priority { get; init; }
    /// <summary>Pairs of configurations whose allocations mirror each other (2468 and 8642): the report tests MoLA's claim on them.</summary>
    [Id(14)] public List<MirrorPair> MirrorPairs { get; init; } = [];
    /// <summary>Optimizer steps of every trial (the last rung is below it).</summary>
    [Id(15)] public required long Steps { get; init; }

    public int WorldSize => DataParallel * ExpertParallel;
}

/// <summary>One point of the sweep's grid: a name, the entry as the user wrote it, and its `mola train` settings without the seed.</summary>
[GenerateSerializer, Immutable]
public sealed record SweepConfiguration(
    [property: Id(0)] string Name,
    [property: Id(1)] string Entry,
    [property: Id(2)] Dictionary<string, string> Settings);

/// <summary>One run of a configuration with one seed: its complete `mola train` settings (seed included).</summary>
[GenerateSerializer, Immutable]
public sealed record SweepTrial(
    [property: Id(0)] string Name,
    [property: Id(1)] string Configuration,
    [property: Id(2)] int Seed,
    [property: Id(3)] Dictionary<string, string> Settings);

/// <summary>ASHA's settings: rungs at FirstRung x Eta^k steps; a configuration is judged on at least MinSeeds seeds.</summary>
[GenerateSerializer, Immutable]
public sealed record SweepAsha([property: Id(0)] long FirstRung, [property: Id(1)] int Eta, [property: Id(2)] int MinSeeds);

[GenerateSerializer, Immutable]
public sealed record MirrorPair([property: Id(0)] string Shape, [property: Id(1)] string Mirror);
