using System.Globalization;

namespace MoLA.Parallel;

/// <summary>
/// Where and as whom a process joins a job: the torchrun / Kubernetes variables RANK, WORLD_SIZE,
/// MASTER_ADDR and MASTER_PORT, plus MoLA's MOLA_DP, MOLA_EP, MOLA_PLACEMENT (a placement table file),
/// MOLA_TIMEOUT_MS (collective and rendezvous timeout) and MOLA_STORE_HOSTED (set by `mola launch`,
/// which runs the TCPStore server itself so it can post rank failures; otherwise rank 0 runs it) and
/// MOLA_BACKEND (gloo or nccl; unset = NCCL when the model is on CUDA, Gloo otherwise).
/// </summary>
public sealed record RendezvousInfo(
    int Rank, ParallelTopology Topology, string MasterAddress, int MasterPort, TimeSpan Timeout,
    string? PlacementFile = null, bool StoreHostedByLauncher = false, CollectiveBackend? Backend = null)
{
    public const string RankVar = "RANK";
    public const string WorldSizeVar = "WORLD_SIZE";
    public const string LocalRankVar = "LOCAL_RANK";
    public const string MasterAddrVar = "MASTER_ADDR";
    public const string MasterPortVar = "MASTER_PORT";
    public const string DpVar = "MOLA_DP";
    public const string EpVar = "MOLA_EP";
    public const string PlacementVar = "MOLA_PLACEMENT";
    public const string TimeoutVar = "MOLA_TIMEOUT_MS";
    public const string StoreHostedVar = "MOLA_STORE_HOSTED";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public int WorldSize => Topology.WorldSize;

    /// <summary>True when RANK or WORLD_SIZE is set: the process is one rank of a job.</summary>
    public static bool IsPresent(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        return !string.IsNullOrEmpty(env(RankVar)) || !string.IsNullOrEmpty(env(WorldSizeVar));
    }

    /// <summary>Reads and validates the variables; every error names the variable and its value.</summary>
    public static RendezvousInfo FromEnvironment(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var world = Int(env, WorldSizeVar, required: true, min: 1)!.Value;
        var rank = Int(env, RankVar, required: true, min: 0)!.Value;
        if (rank >= world) throw new ParallelConfigException(RankVar, $"is {rank} but {WorldSizeVar} is {world} (ranks are 0 .. {world - 1})");
        var addr = env(MasterAddrVar);
        if (string.IsNullOrWhiteSpace(addr)) addr = "127.0.0.1";
        var port = Int(env, MasterPortVar, required: true, min: 1)!.Value;
        if (port > 65535) throw new ParallelConfigException(MasterPortVar, $"must be a TCP port 1 .. 65535, got {port}");
        var topology = ParallelTopology.Infer(world, Int(env, DpVar, false, 1), Int(env, EpVar, false, 1));
        var timeoutMs = Int(env, TimeoutVar, false, 1);
        var placement = env(PlacementVar);
        if (!string.IsNullOrWhiteSpace(placement) && !File.Exists(placement))
            throw new ParallelConfigException(PlacementVar, $"placement table file '{placement}' does not exist");
        var backend = env(CollectiveBackends.EnvironmentVariable);
        return new RendezvousInfo(rank, topology, addr, port,
            timeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : DefaultTimeout,
            string.IsNullOrWhiteSpace(placement) ? null : placement, env(StoreHostedVar) == "1",
            string.IsNullOrWhiteSpace(backend) ? null : CollectiveBackends.Parse(backend, CollectiveBackends.EnvironmentVariable));
    }

    /// <summary>The variables a child process of rank <paramref name="rank"/> gets.</summary>
    public IReadOnlyDictionary<string, string> ToEnvironment()
    {
        var env = Variables();
        // Unset stays unset, so a MOLA_BACKEND the launcher inherited still reaches its children.
        if (Backend is { } b) env[CollectiveBackends.EnvironmentVariable] = b.Name();
        return env;
    }

    private Dictionary<string, string> Variables() => new()
    {
        [RankVar] = Str(Rank),
        [LocalRankVar] = Str(Rank),
        [WorldSizeVar] = Str(WorldSize),
        [MasterAddrVar] = MasterAddress,
        [MasterPortVar] = Str(MasterPort),
        [DpVar] = Str(Topology.DataParallel),
        [EpVar] = Str(Topology.ExpertParallel),
        [TimeoutVar] = Str((long)Timeout.TotalMilliseconds),
        [PlacementVar] = PlacementFile ?? "",
        [StoreHostedVar] = StoreHostedByLauncher ? "1" : "0",
    };

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static int? Int(Func<string, string?> env, string name, bool required, int min)
    {
        var text = env(name);
        if (string.IsNullOrWhiteSpace(text))
            return required ? throw new ParallelConfigException(name, "environment variable is not set") : null;
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < min)
            throw new ParallelConfigException(name, $"must be an integer >= {min}, got '{text}'");
        return v;
    }
}
