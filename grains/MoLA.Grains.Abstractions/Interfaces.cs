using Orleans.Concurrency;

namespace MoLA.Grains;

/// <summary>One training job (key: job id): its spec, state machine, rank assignment and progress, persisted.</summary>
public interface ITrainingJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job (Queued) and hands it to the scheduler. Refused if the id is taken.</summary>
    Task<JobStatus> Submit(JobSpec spec);
    [AlwaysInterleave]
    Task<JobStatus?> GetStatus();
    Task<JobStatus> Cancel(string reason);

    /// <summary>The scheduler placed every rank (gang): Queued -> Scheduled. One-way: the scheduler never waits on a job.</summary>
    [OneWay]
    Task Schedule(int generation, List<RankAssignment> assignments);
    Task ReportStarted(int generation, int rank, int processId);
    Task ReportProgress(int generation, int rank, RankProgress progress);
    Task ReportCheckpoint(int generation, string checkpoint);
    /// <summary>Rank 0 evaluated the model (see <see cref="JobEvaluation"/>).</summary>
    Task ReportEvaluation(int generation, JobEvaluation evaluation);
    Task ReportExited(int generation, int rank, RankExit exit);
}

/// <summary>One node (key: node name): its devices, its agent's liveness, the ranks it should run.</summary>
public interface INodeGrain : IGrainWithStringKey
{
    Task Register(NodeRegistration registration);
    /// <summary>The agent's periodic call: what runs there now; returns what should run there.</summary>
    Task<List<RankAssignment>> Heartbeat(NodeHeartbeat heartbeat);
    Task Assign(List<RankAssignment> assignments);
    /// <summary>Stop every rank of a job on this node (finished or cancelled): SIGTERM, they checkpoint.</summary>
    Task Release(string jobId);
    /// <summary>Kill every rank of a job on this node at once: its generation failed and is being replaced.</summary>
    Task Kill(string jobId);
    [AlwaysInterleave]
    Task<NodeInfo?> GetInfo();
}

/// <summary>The cluster's queue and gang scheduler (one per cluster, key 0).</summary>
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    Task AddNode(string node);
    Task Enqueue(string jobId, int generation, JobSpec spec, DateTime submittedAt);
    /// <summary>A job ended or was cancelled: its slots and rendezvous port are free again.</summary>
    Task Remove(string jobId);
    /// <summary>Live capacity: device slots per kind over live nodes.</summary>
    [AlwaysInterleave]
    Task<Dictionary<string, int>> Capacity();
    [AlwaysInterleave]
    Task<List<string>> Queue();
    [AlwaysInterleave]
    Task<List<string>> Nodes();
    /// <summary>Try to place queued jobs (also run on a timer).</summary>
    Task Schedule();
}

/// <summary>Every id the cluster has seen, oldest first: key <see cref="Catalogs.Jobs"/> lists jobs, <see cref="Catalogs.Sweeps"/> sweeps.</summary>
public interface IJobCatalogGrain : IGrainWithIntegerKey
{
    Task Add(string jobId);
    Task<List<string>> List();
}

public static class Catalogs
{
    public const long Jobs = 0;
    public const long Sweeps = 1;
}

/// <summary>
/// One allocation sweep (key: sweep id): submits its trials as training jobs as the cluster has room, follows them,
/// retries failed ones, stops configurations ASHA rules out, persisted and driven by a reminder after a silo restart.
/// </summary>
public interface ISweepGrain : IGrainWithStringKey
{
    /// <summary>Creates the sweep and starts its first trials. Refused if the id is taken.</summary>
    Task<SweepStatus> Start(SweepSpec spec);
    [AlwaysInterleave]
    Task<SweepStatus?> GetStatus();
    /// <summary>Cancels every trial not yet ended (their jobs too).</summary>
    Task<SweepStatus> Cancel(string reason);
    /// <summary>Follow the trials' jobs, apply ASHA, submit what fits (also run on a timer).</summary>
    Task Advance();
}

/// <summary>Expert placement of one job (key: job id), per generation.</summary>
public interface IExpertPlacementGrain : IGrainWithStringKey
{
    /// <summary>Contiguous placement: EP rank e holds experts [e*n/E, (e+1)*n/E) of every layer.</summary>
    Task<ExpertPlacementTable> Contiguous(int generation, List<int> expertsPerLayer, int expertParallel);
    /// <summary>Load-aware placement (longest processing time first) from measured tokens per expert per layer.</summary>
    Task<ExpertPlacementTable> Balance(int generation, List<List<long>> tokensPerExpert, int expertParallel);
    Task<ExpertPlacementTable?> Current();
}
