using MoLA.Cli.Configuration;
using MoLA.Silo;

namespace MoLA.Cli.Cluster;

/// <summary>`mola silo` settings: YAML keys (the file the Helm chart mounts) or flags; each checked, errors name the field.</summary>
internal static class SiloSettings
{
    public static IReadOnlyList<SettingSpec> Specs { get; } =
    [
        new("node-name", "This node's name (default: the host name)", "NAME"),
        new("cluster-id", "Orleans cluster id", "ID", "mola"),
        new("service-id", "Orleans service id (grain state is kept per service)", "ID", "mola"),
        new("provider", "Clustering, grain state and reminders: embedded (one machine, SQLite) | postgres | redis", "NAME", "embedded"),
        new("kubernetes", "Run under Kubernetes: Orleans' Kubernetes hosting (POD_NAME, POD_IP, POD_NAMESPACE from the downward API); provider postgres or redis", "BOOL", "false"),
        new("connection-string", "PostgreSQL (Host=...;Database=...) or Redis (host:port,password=...) connection string (default: $MOLA_SILO_CONNECTION_STRING)", "TEXT"),
        new("state-dir", "Where the embedded provider keeps its database, token and endpoint file", "DIR"),
        new("silo-port", "Silo-to-silo port", "PORT", "11111"),
        new("gateway-port", "Client gateway port", "PORT", "30000"),
        new("api-address", "Address the REST API binds (loopback by default)", "IP", "127.0.0.1"),
        new("api-port", "REST API port", "PORT", "7870"),
        new("token-file", "API bearer token file (created mode 0600 on first start; default STATE-DIR/token)", "FILE"),
        new("run-root", "Root of the job run directories, the same path on every node (default STATE-DIR/runs)", "DIR"),
        new("agent", "Run a node agent that offers this node's devices", "BOOL", "true"),
        new("cpu-slots", "CPU ranks this node runs at once", "N", "2"),
        new("threads-per-slot", "libtorch threads of each CPU rank (default: cores / slots)", "N"),
        new("node-address", "Address other nodes reach this node's rank 0 on (rendezvous)", "IP", "127.0.0.1"),
        new("rendezvous-port-start", "First port of this node's rendezvous stores", "PORT", "29500"),
        new("rendezvous-port-count", "How many rendezvous ports (jobs whose rank 0 runs here at once)", "N", "100"),
    ];

    public static SiloOptions From(Settings s, string defaultStateDirectory)
    {
        var stateDir = s.String("state-dir") ?? defaultStateDirectory;
        var provider = s.Choice("provider", "embedded", "postgres", "redis");
        var connection = s.String("connection-string") ?? Environment.GetEnvironmentVariable("MOLA_SILO_CONNECTION_STRING");
        if (provider != "embedded" && string.IsNullOrWhiteSpace(connection))
            throw s.Invalid("connection-string", $"is required with provider {provider} (or set MOLA_SILO_CONNECTION_STRING)");
        var kubernetes = s.Bool("kubernetes");
        // Kubernetes hosting only changes how silos find and advertise themselves; the embedded provider's localhost
        // clustering cannot span pods, so the combination would run a cluster of one per pod.
        if (kubernetes && provider == "embedded")
            throw s.Invalid("kubernetes", "needs provider postgres or redis (the embedded provider is one machine only)");
        if (kubernetes && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")))
            throw s.Invalid("kubernetes", "not inside a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set)");
        foreach (var variable in (string[])["POD_NAME", "POD_NAMESPACE", "POD_IP"])
            if (kubernetes && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(variable)))
                throw s.Invalid("kubernetes", $"{variable} is not set: pass POD_NAME, POD_NAMESPACE and POD_IP from the downward API (the Helm chart does)");
        var apiAddress = s.RequiredString("api-address");
        if (!System.Net.IPAddress.TryParse(apiAddress, out _)) throw s.Invalid("api-address", $"must be an IP address, got '{apiAddress}'");
        var nodeAddress = s.RequiredString("node-address");
        var nodeName = s.String("node-name") ?? Environment.MachineName.ToLowerInvariant();
        if (nodeName.Length == 0 || nodeName.Length > 100 || nodeName.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            throw s.Invalid("node-name", $"must be 1-100 letters, digits, '-', '_' or '.', got '{nodeName}'");
        var rdvStart = s.Int("rendezvous-port-start", 1, 65535);
        var rdvCount = s.Int("rendezvous-port-count", 1, 65535);
        if (rdvStart + rdvCount - 1 > 65535) throw s.Invalid("rendezvous-port-count", $"ports {rdvStart}..{rdvStart + rdvCount - 1} run past 65535");
        return new SiloOptions
        {
            NodeName = nodeName,
            ClusterId = s.RequiredString("cluster-id"),
            ServiceId = s.RequiredString("service-id"),
            Provider = provider,
            ConnectionString = connection,
            Kubernetes = kubernetes,
            StateDirectory = Path.GetFullPath(stateDir),
            SiloPort = s.Int("silo-port", 1, 65535),
            GatewayPort = s.Int("gateway-port", 1, 65535),
            ApiAddress = apiAddress,
            ApiPort = s.Int("api-port", 1, 65535),
            TokenFile = s.String("token-file") is { } t ? Path.GetFullPath(t) : null,
            RunRoot = Path.GetFullPath(s.String("run-root") ?? Path.Combine(stateDir, "runs")),
            Agent = s.Bool("agent"),
            CpuSlots = s.Int("cpu-slots", 0, 4096),
            ThreadsPerSlot = s.IntOrNull("threads-per-slot", 1, 1024),
            NodeAddress = nodeAddress,
            RendezvousPortStart = rdvStart,
            RendezvousPortCount = rdvCount,
        };
    }
}
