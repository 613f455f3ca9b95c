namespace MoLA.Silo;

/// <summary>
/// A silo's settings (`mola silo --config silo.yaml [--flag value]`, or `mola cluster` for the embedded default).
/// The CLI checks every value where it reads it (trainer/MoLA.Cli/Cluster/SiloSettings.cs); an error names the field.
/// </summary>
public sealed record SiloOptions
{
    /// <summary>This node's name (its NodeGrain key).</summary>
    public string NodeName { get; init; } = Environment.MachineName.ToLowerInvariant();
    public string ClusterId { get; init; } = "mola";
    public string ServiceId { get; init; } = "mola";
    /// <summary>
    /// embedded: localhost clustering, grain state in SQLite under <see cref="StateDirectory"/> (one machine).
    /// postgres: clustering, grain state and reminders in PostgreSQL (<see cref="ConnectionString"/>; schema applied by
    /// `mola silo migrate`). redis: clustering, grain state and reminders in Redis (<see cref="ConnectionString"/>, no
    /// schema to apply).
    /// </summary>
    public string Provider { get; init; } = "embedded";
    /// <summary>
    /// Run under Kubernetes (Orleans' UseKubernetesHosting): silo name from POD_NAME, advertised address from POD_IP,
    /// cluster and service ids from ORLEANS_CLUSTER_ID / ORLEANS_SERVICE_ID when set, and the silos watch their pods so a
    /// deleted pod's silo is declared dead at once. Needs provider postgres or redis and a Role on pods (get, watch,
    /// list, patch); the Helm chart sets all of this.
    /// </summary>
    public bool Kubernetes { get; init; }
    /// <summary>The PostgreSQL or Redis connection string (providers postgres, redis).</summary>
    public string? ConnectionString { get; init; }
    public string StateDirectory { get; init; } = ".mola/cluster";
    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;
    public string ApiAddress { get; init; } = "127.0.0.1";
    public int ApiPort { get; init; } = 7870;
    /// <summary>The bearer token file (created, mode 0600, on first start). Default: StateDirectory/token.</summary>
    public string? TokenFile { get; init; }
    /// <summary>Where job run directories live; every node must see the same path (a shared volume).</summary>
    public string RunRoot { get; init; } = ".mola/cluster/runs";
    /// <summary>Run the node agent in this silo (offers this node's devices).</summary>
    public bool Agent { get; init; } = true;
    public int CpuSlots { get; init; } = 2;
    /// <summary>libtorch threads per CPU rank (default: cores / slots, at least 1).</summary>
    public int? ThreadsPerSlot { get; init; }
    /// <summary>The address other nodes reach this node's rank 0 on.</summary>
    public string NodeAddress { get; init; } = "127.0.0.1";
    public int RendezvousPortStart { get; init; } = 29500;
    public int RendezvousPortCount { get; init; } = 100;
    /// <summary>How often the agent reports and picks up assignments.</summary>
    public TimeSpan AgentPeriod { get; init; } = TimeSpan.FromMilliseconds(200);

    public string ResolvedTokenFile => TokenFile ?? Path.Combine(StateDirectory, "token");
    public string ApiUrl => $"http://{(ApiAddress is "0.0.0.0" or "::" ? "127.0.0.1" : ApiAddress)}:{ApiPort}";
}
