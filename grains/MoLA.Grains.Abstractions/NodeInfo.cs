namespace MoLA.Grains;

/// <summary>A device slot a rank can run on: a CPU slot, or a CUDA device with its memory.</summary>
[GenerateSerializer, Immutable]
public sealed record DeviceSlot([property: Id(0)] int Index, [property: Id(1)] string Kind, [property: Id(2)] long MemoryBytes = 0);

/// <summary>What a node agent tells its node grain when it starts.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeRegistration
{
    [Id(0)] public required string Name { get; init; }
    /// <summary>The address other nodes reach this node's rank 0 on (the rendezvous host).</summary>
    [Id(1)] public required string Address { get; init; }
    [Id(2)] public required List<DeviceSlot> Devices { get; init; }
    /// <summary>First of the ports this node serves rendezvous stores on.</summary>
    [Id(3)] public int RendezvousPortStart { get; init; } = 29500;
    [Id(4)] public int RendezvousPortCount { get; init; } = 100;
}

/// <summary>A node as the cluster sees it.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeInfo
{
    [Id(0)] public required NodeRegistration Registration { get; init; }
    [Id(1)] public DateTime LastHeartbeat { get; init; }
    [Id(2)] public bool Alive { get; init; }
    /// <summary>The ranks assigned to this node (rank keys, e.g. "job-x/g1/r0").</summary>
    [Id(3)] public List<string> Assigned { get; init; } = [];
    /// <summary>The rank processes the agent said are running, with their process ids.</summary>
    [Id(4)] public Dictionary<string, int> Running { get; init; } = [];
    /// <summary>The later of the last heartbeat and the node grain's activation: silence is counted from here.</summary>
    [Id(5)] public DateTime HeardOrActivatedAt { get; init; }

    public string Name => Registration.Name;
}

/// <summary>An agent's periodic report: which rank processes run (key -> pid).</summary>
[GenerateSerializer, Immutable]
public sealed record NodeHeartbeat([property: Id(0)] Dictionary<string, int> Running);
