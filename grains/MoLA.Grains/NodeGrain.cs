using Microsoft.Extensions.Logging;

namespace MoLA.Grains;

[GenerateSerializer]
public sealed class NodeRecord
{
    [Id(0)] public NodeRegistration? Registration { get; set; }
    [Id(1)] public List<RankAssignment> Assigned { get; set; } = [];
}

/// <summary>
/// One node (key: node name): its devices, its agent's liveness and the ranks it should run (the desired state its
/// agent reconciles against, like a kubelet). Registration and assignments are persisted; heartbeats are kept in memory
/// (a node is alive when its agent called within the silence window, whatever the storage says).
/// </summary>
public sealed class NodeGrain(
    [PersistentState("node", StorageNames.Grains)] IPersistentState<NodeRecord> state,
    ILogger<NodeGrain> log) : Grain, INodeGrain
{
    private DateTime _lastHeartbeat = DateTime.MinValue;
    /// <summary>
    /// When this activation began. A node grain re-activated on another silo (its silo died) has heard nothing yet: its
    /// agent gets a full silence window from here before the node counts as gone, or every node whose grain lived on the
    /// dead silo would look dead too.
    /// </summary>
    private readonly DateTime _activatedAt = DateTime.UtcNow;
    private Dictionary<string, int> _running = [];

    public async Task Register(NodeRegistration registration)
    {
        if (registration.Name != this.GetPrimaryKeyString())
            throw new ArgumentException($"registration for node '{registration.Name}' sent to node grain '{this.GetPrimaryKeyString()}'");
        state.State.Registration = registration;
        _lastHeartbeat = DateTime.UtcNow;
        await state.WriteOrReload(this);
        log.LogInformation("Node {Node} registered: {Devices} device slots at {Address}", registration.Name, registration.Devices.Count, registration.Address);
    }

    public async Task<List<RankAssignment>> Heartbeat(NodeHeartbeat heartbeat)
    {
        _lastHeartbeat = DateTime.UtcNow;
        _running = heartbeat.Running;
        // A killed rank the agent no longer runs needs no order any more.
        if (state.State.Assigned.RemoveAll(a => a.Kill && !heartbeat.Running.ContainsKey(a.Key)) > 0) await state.WriteOrReload(this);
        return state.State.Assigned.ToList();
    }

    public async Task Kill(string jobId)
    {
        if (!state.State.Assigned.Any(a => a.JobId == jobId && !a.Kill)) return;
        state.State.Assigned = state.State.Assigned.Select(a => a.JobId == jobId ? a with { Kill = true } : a).ToList();
        await state.WriteOrReload(this);
    }

    public async Task Assign(List<RankAssignment> assignments)
    {
        var keys = assignments.Select(a => a.Key).ToHashSet();
        state.State.Assigned = [.. state.State.Assigned.Where(a => !keys.Contains(a.Key)), .. assignments];
        await state.WriteOrReload(this);
    }

    public async Task Release(string jobId)
    {
        if (state.State.Assigned.RemoveAll(a => a.JobId == jobId) > 0) await state.WriteOrReload(this);
    }

    public Task<NodeInfo?> GetInfo() => Task.FromResult(state.State.Registration is { } r
        ? new NodeInfo
        {
            Registration = r,
            LastHeartbeat = _lastHeartbeat,
            HeardOrActivatedAt = _lastHeartbeat > _activatedAt ? _lastHeartbeat : _activatedAt,
            Alive = _lastHeartbeat != DateTime.MinValue,
            Assigned = state.State.Assigned.Where(a => !a.Kill).Select(a => a.Key).ToList(),
            Running = new Dictionary<string, int>(_running),
        }
        : null);
}
