namespace MoLA.Grains;

/// <summary>Where the ranks of one generation meet: the c10d TCPStore that rank 0 serves.</summary>
[GenerateSerializer, Immutable]
public sealed record RendezvousEndpoint([property: Id(0)] string Address, [property: Id(1)] int Port);

/// <summary>
/// One rank of one generation of a job, placed on a node's device slot: everything a node agent needs to start the
/// rank process (the same RANK / WORLD_SIZE / MASTER_* / MOLA_* contract as `mola launch` and a Kubernetes pod).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RankAssignment
{
    [Id(0)] public required string JobId { get; init; }
    [Id(1)] public required int Generation { get; init; }
    [Id(2)] public required int Rank { get; init; }
    [Id(3)] public required int LocalRank { get; init; }
    [Id(4)] public required string Node { get; init; }
    /// <summary>The device slot on the node (CPU slot or CUDA device index).</summary>
    [Id(5)] public required int Slot { get; init; }
    [Id(6)] public required RendezvousEndpoint Rendezvous { get; init; }
    [Id(7)] public required JobSpec Spec { get; init; }
    /// <summary>
    /// The job is replacing this rank's generation after a failure: the agent kills it at once instead of SIGTERM and
    /// a grace period (a checkpoint needs every rank, and one is gone), and never starts it.
    /// </summary>
    [Id(8)] public bool Kill { get; init; }

    /// <summary>A stable name of this rank process, e.g. "job-x/g1/r0".</summary>
    public string Key => $"{JobId}/g{Generation}/r{Rank}";
}
