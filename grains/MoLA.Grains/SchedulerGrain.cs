using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MoLA.Grains;

[GenerateSerializer]
public sealed class QueuedJob
{
    [Id(0)] public required string JobId { get; set; }
    [Id(1)] public required int Generation { get; set; }
    [Id(2)] public required JobSpec Spec { get; set; }
    [Id(3)] public required DateTime SubmittedAt { get; set; }
}

[GenerateSerializer]
public sealed class SchedulerRecord
{
    [Id(0)] public List<string> Nodes { get; set; } = [];
    [Id(1)] public List<QueuedJob> Queue { get; set; } = [];
    /// <summary>Placed jobs: their ranks' (node, slot) and the rendezvous they hold.</summary>
    [Id(2)] public Dictionary<string, List<RankAssignment>> Placed { get; set; } = [];
}

/// <summary>
/// The cluster's queue and gang scheduler. All slot bookkeeping happens inside this one grain (turn-based), so two jobs
/// can never take the same slot and a job starts with all its ranks or not at all. Order: priority, then submission
/// time; a job that does not fit yet lets smaller ones behind it start (backfill). Retries on a timer, since nodes
/// come and go between submissions.
/// </summary>
public sealed class SchedulerGrain(
    [PersistentState("scheduler", StorageNames.Grains)] IPersistentState<SchedulerRecord> state,
    IOptions<ControlPlaneOptions> options,
    ILogger<SchedulerGrain> log) : Grain, ISchedulerGrain
{
    private readonly ControlPlaneOptions _options = options.Value;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(_ => Schedule(), new GrainTimerCreationOptions(_options.SchedulerPeriod, _options.SchedulerPeriod) { Interleave = false });
        return Task.CompletedTask;
    }

    public async Task AddNode(string node)
    {
        if (!state.State.Nodes.Contains(node))
        {
            state.State.Nodes.Add(node);
            await state.WriteOrReload(this);
        }
        await Schedule();
    }

    public async Task Enqueue(string jobId, int generation, JobSpec spec, DateTime submittedAt)
    {
        var queued = state.State.Queue.FirstOrDefault(q => q.JobId == jobId);
        var placed = state.State.Placed.GetValueOrDefault(jobId);
        if (queued?.Generation >= generation || placed?[0].Generation >= generation) return; // known already: idempotent
        // A newer generation supersedes what is left of an older one: the job's Remove may have been lost with a silo.
        if (queued is not null) state.State.Queue.Remove(queued);
        state.State.Placed.Remove(jobId);
        state.State.Queue.Add(new QueuedJob { JobId = jobId, Generation = generation, Spec = spec, SubmittedAt = submittedAt });
        await state.WriteOrReload(this);
        await Schedule();
    }

    public async Task Remove(string jobId)
    {
        var removed = state.State.Queue.RemoveAll(q => q.JobId == jobId) + (state.State.Placed.Remove(jobId) ? 1 : 0);
        if (removed > 0)
        {
            await state.WriteOrReload(this);
            await Schedule();
        }
    }

    public async Task<Dictionary<string, int>> Capacity()
    {
        var total = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var info in await LiveNodes())
            foreach (var d in info.Registration.Devices)
                total[d.Kind] = total.GetValueOrDefault(d.Kind) + 1;
        return total;
    }

    public Task<List<string>> Nodes() => Task.FromResult(state.State.Nodes.ToList());

    public Task<List<string>> Queue() => Task.FromResult(Ordered().Select(q => q.JobId).ToList());

    public async Task Schedule()
    {
        if (state.State.Queue.Count == 0) return;
        var nodes = await LiveNodes();
        var placed = new List<List<RankAssignment>>();
        foreach (var job in Ordered().ToList())
        {
            var capacity = nodes.Select(n => Free(n, job.Spec.Device)).ToList();
            var placement = GangPlacement.Place(job.JobId, job.Generation, job.Spec, capacity);
            if (placement is null) continue;
            state.State.Queue.Remove(job);
            state.State.Placed[job.JobId] = placement;
            placed.Add(placement);
            log.LogInformation("Scheduled {JobId} generation {Generation}: {World} ranks, rendezvous {Address}:{Port}",
                job.JobId, job.Generation, placement.Count, placement[0].Rendezvous.Address, placement[0].Rendezvous.Port);
        }
        if (placed.Count == 0) return;
        await state.WriteOrReload(this);
        // One-way calls: the job grain may itself be waiting on this grain (Submit -> Enqueue).
        foreach (var p in placed)
            await GrainFactory.GetGrain<ITrainingJobGrain>(p[0].JobId).Schedule(p[0].Generation, p);
    }

    private IEnumerable<QueuedJob> Ordered() =>
        state.State.Queue.OrderByDescending(q => q.Spec.Priority).ThenBy(q => q.SubmittedAt).ThenBy(q => q.JobId, StringComparer.Ordinal);

    private NodeCapacity Free(NodeInfo node, string kind)
    {
        var used = state.State.Placed.Values.SelectMany(p => p).Where(a => a.Node == node.Name).ToList();
        var usedSlots = used.Select(a => a.Slot).ToHashSet();
        var usedPorts = state.State.Placed.Values.Where(p => p[0].Node == node.Name).Select(p => p[0].Rendezvous.Port).ToHashSet();
        var reg = node.Registration;
        return new NodeCapacity(node.Name, reg.Address,
            reg.Devices.Where(d => d.Kind == kind && !usedSlots.Contains(d.Index)).Select(d => d.Index).ToList(),
            Enumerable.Range(reg.RendezvousPortStart, reg.RendezvousPortCount).Where(p => !usedPorts.Contains(p)).Take(1).ToList());
    }

    private async Task<List<NodeInfo>> LiveNodes()
    {
        var now = DateTime.UtcNow;
        var live = new List<NodeInfo>();
        foreach (var name in state.State.Nodes)
            if (await GrainFactory.GetGrain<INodeGrain>(name).GetInfo() is { Alive: true } info && now - info.LastHeartbeat <= _options.NodeSilentAfter)
                live.Add(info);
        return live;
    }
}
