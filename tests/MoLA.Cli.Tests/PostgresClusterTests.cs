using System.Globalization;
using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// A real two-node cluster on loopback: Debian's PostgreSQL (started in a temp directory on a free port) holds
/// membership, grain state and reminders; two `mola silo` processes, each with a node agent of one CPU slot, share a run
/// root as nodes share a volume. Jobs submitted to one silo's REST API run one rank on each node.
/// </summary>
public sealed class PostgresClusterTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-pg-cluster-").FullName;
    private readonly PostgresServer _postgres = PostgresServer.Start();
    private readonly List<SiloProcess> _silos = [];

    public void Dispose()
    {
        foreach (var silo in _silos) silo.Dispose();
        _postgres.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static string Inv(int n) => n.ToString(CultureInfo.InvariantCulture);
    private string TokenFile => Path.Combine(_root, "token");

    private string[] SiloArgs(string node, int apiPort) =>
    [
        "silo", "--provider", "postgres", "--connection-string", _postgres.ConnectionString, "--node-name", node,
        "--cpu-slots", "1", "--threads-per-slot", "1", "--api-port", Inv(apiPort), "--silo-port", Inv(LoopbackPorts.Free()),
        "--gateway-port", Inv(LoopbackPorts.Free()), "--rendezvous-port-start", Inv(LoopbackPorts.Free()), "--rendezvous-port-count", "1",
        "--state-dir", Path.Combine(_root, node), "--run-root", Path.Combine(_root, "runs"), "--token-file", TokenFile,
    ];

    private SiloProcess StartSilo(string node)
    {
        var port = LoopbackPorts.Free();
        var silo = SiloProcess.Start(port, SiloArgs(node, port));
        _silos.Add(silo);
        return silo;
    }

    private CliRun Submit(SiloProcess silo, params string[] args) =>
        Cli.ChildProcess(new Dictionary<string, string>(), ["submit", "--coordinator", silo.Url, "--token-file", TokenFile, .. args]);

    [Fact]
    public void TwoSilosRunDataAndExpertParallelJobsOneRankPerNode()
    {
        // A silo refuses a database without our schema, naming the setting and the command that fixes it.
        var refused = SiloProcess.RunToExit(SiloArgs("node-a", LoopbackPorts.Free()));
        Assert.True(refused.ExitCode == 2, refused.Output);
        Assert.Contains("connection-string: ", refused.Output, StringComparison.Ordinal);
        Assert.Contains("mola silo migrate", refused.Output, StringComparison.Ordinal);

        var migrate = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", _postgres.ConnectionString);
        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        Assert.Contains("schema version 0 -> 1", migrate.Stdout, StringComparison.Ordinal);
        var again = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", _postgres.ConnectionString);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("up to date", again.Stdout, StringComparison.Ordinal);

        var a = StartSilo("node-a");
        StartSilo("node-b");
        // Both agents registered with the one scheduler: the API of either silo sees two nodes.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !TwoNodesAlive(a)) Thread.Sleep(200);
        Assert.True(TwoNodesAlive(a), a.Output);

        foreach (var (dp, ep) in new[] { (2, 1), (1, 2) })
        {
            var submit = Submit(a, [.. ClusterJobs.TinyJob(), "--dp", Inv(dp), "--ep", Inv(ep), "--wait", "--json"]);
            Assert.True(submit.ExitCode == 0, $"dp {dp} ep {ep}: {submit}\n--- silo a ---\n{a.Output}");
            var job = JsonDocument.Parse(submit.Stdout).RootElement;
            Assert.Equal("succeeded", job.GetProperty("state").GetString());
            var nodes = job.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("node").GetString()).Order().ToList();
            Assert.Equal(["node-a", "node-b"], nodes);

            var launchDir = Path.Combine(_root, $"launch-dp{dp}-ep{ep}");
            var launch = Cli.ChildProcess(new Dictionary<string, string>(),
                ["launch", "--nproc", "2", "--dp", Inv(dp), "--ep", Inv(ep), "--master-port", Inv(LoopbackPorts.Free()), "--",
                 "train", "--out", launchDir, .. ClusterJobs.TinyJob()]);
            Assert.True(launch.ExitCode == 0, launch.ToString());
            ClusterJobs.AssertSameAdapter(Path.Combine(launchDir, RunFiles.AdapterDir),
                Path.Combine(job.GetProperty("run_directory").GetString()!, RunFiles.AdapterDir));
        }
    }

    private bool TwoNodesAlive(SiloProcess silo)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{silo.Url}/api/nodes");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", File.ReadAllText(TokenFile).Trim());
        var response = http.Send(request);
        var nodes = JsonDocument.Parse(response.Content.ReadAsStream()).RootElement.EnumerateArray();
        return nodes.Count(n => n.GetProperty("alive").GetBoolean()) == 2;
    }
}
