using System.Text.Json;

namespace MoLA.Cli.Cluster;

/// <summary>
/// Where the client commands find a cluster: --coordinator URL --token-file F, else the embedded cluster of this
/// checkout, which writes endpoint.json (its URL and token file) into its state directory when it starts.
/// </summary>
internal sealed record ClusterEndpoint(string Url, string TokenFile)
{
    public const string FileName = "endpoint.json";

    /// <summary>The embedded cluster's state directory: $MOLA_CLUSTER_DIR, else .mola/cluster of the checkout ./mola runs from.</summary>
    public static string DefaultStateDirectory() =>
        Environment.GetEnvironmentVariable("MOLA_CLUSTER_DIR") is { Length: > 0 } dir ? dir
        : Path.Combine(Environment.GetEnvironmentVariable("MOLA_CHECKOUT") is { Length: > 0 } root ? root : Directory.GetCurrentDirectory(), ".mola", "cluster");

    public void Save(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        var json = JsonSerializer.Serialize(new Dictionary<string, string> { ["url"] = Url, ["token_file"] = Path.GetFullPath(TokenFile) });
        var temp = Path.Combine(stateDirectory, FileName + ".tmp");
        File.WriteAllText(temp, json);
        File.Move(temp, Path.Combine(stateDirectory, FileName), overwrite: true);
    }

    public static ClusterEndpoint Resolve(string? coordinator, string? tokenFile)
    {
        if (coordinator is not null)
        {
            if (!Uri.TryCreate(coordinator, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new UsageException($"--coordinator: '{coordinator}' is not an http(s) URL");
            return new ClusterEndpoint(coordinator.TrimEnd('/'), tokenFile ?? throw new UsageException("--token-file: is required with --coordinator"));
        }
        var file = Path.Combine(DefaultStateDirectory(), FileName);
        if (!File.Exists(file))
            throw new UsageException($"no cluster to talk to: {file} does not exist; start one with `./mola cluster` or pass --coordinator URL --token-file F");
        var map = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(file)) ?? [];
        return new ClusterEndpoint(map.GetValueOrDefault("url") ?? throw new UsageException($"{file}: no url"),
            tokenFile ?? map.GetValueOrDefault("token_file") ?? throw new UsageException($"{file}: no token_file"));
    }
}
