using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// `mola silo` processes on loopback (node-a, node-b, ...) sharing one database (provider postgres or redis), each with a
/// node agent of one CPU slot; they share a run root as nodes share a volume, and the API token file. Jobs go to silo
/// a's REST API.
/// </summary>
internal sealed class SiloCluster : IDisposable
{
    private readonly string _root;
    private readonly string _provider;
    private readonly string _connection;
    private readonly List<SiloProcess> _silos = [];

    public string Root => _root;

    public SiloCluster(string root, string provider, string connection)
    {
        _root = root;
        _provider = provider;
        _connection = connection;
    }

    public string TokenFile => Path.Combine(_root, "token");

    /// <summary>The silos started so far (node-a first).</summary>
    public IReadOnlyList<SiloProcess> Silos => _silos;

    private static string Inv(int n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A node keeps its silo and gateway ports across restarts, as a pod does: a silo that starts on the address of an
    /// older generation of itself declares that one dead, instead of waiting to reach it.
    /// </summary>
    public string[] SiloArgs(string node, int apiPort)
    {
        if (!_ports.TryGetValue(node, out var ports)) _ports[node] = ports = (LoopbackPorts.Free(), LoopbackPorts.Free());
        return
        [
            "silo", "--provider", _provider, "--connection-string", _connection, "--node-name", node,
            "--cpu-slots", "1", "--threads-per-slot", "1", "--api-port", Inv(apiPort), "--silo-port", Inv(ports.Silo),
            "--gateway-port", Inv(ports.Gateway), "--rendezvous-port-start", Inv(LoopbackPorts.Free()), "--rendezvous-port-count", "1",
            "--state-dir", Path.Combine(_root, node), "--run-root", Path.Combine(_root, "runs"), "--token-file", TokenFile,
        ];
    }

    private readonly Dictionary<string, (int Silo, int Gateway)> _ports = new(StringComparer.Ordinal);

    /// <summary>Starts node-a, node-b, ... in order (the first creates the token file) and waits until every agent is alive.</summary>
    public SiloProcess Start(int nodes = 2)
    {
        for (var i = 0; i < nodes; i++)
        {
            var port = LoopbackPorts.Free();
            _silos.Add(SiloProcess.Start(port, SiloArgs(NodeName(i), port)));
        }
        var a = _silos[0];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && AliveNodes(a) < nodes) Thread.Sleep(200);
        Assert.True(AliveNodes(a) == nodes, a.Output);
        return a;
    }

    public static string NodeName(int i) => $"node-{(char)('a' + i)}";

    /// <summary>The node's machine dies: SIGKILL to its silo and every process it started (agent, ranks) at once.</summary>
    public void KillNode(string node) => _silos[node[^1] - 'a'].KillTree();

    public string Output(string node) => _silos[node[^1] - 'a'].Output;

    /// <summary>The node's silo starts again on its state directory (a restarted pod), after its old process is gone.</summary>
    public SiloProcess Restart(string node)
    {
        var i = node[^1] - 'a';
        _silos[i].Dispose();
        var port = LoopbackPorts.Free();
        _silos[i] = SiloProcess.Start(port, SiloArgs(node, port));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && AliveNodes(_silos[0]) < _silos.Count) Thread.Sleep(200);
        Assert.True(AliveNodes(_silos[0]) == _silos.Count, _silos[i].Output);
        return _silos[i];
    }

    /// <summary>`mola silo migrate` on the cluster's database, then <see cref="Start"/>.</summary>
    public SiloProcess StartMigrated(int nodes)
    {
        var migrate = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", _connection);
        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        return Start(nodes);
    }

    /// <summary>`mola submit --json` of <paramref name="job"/> (train settings and job flags) through <paramref name="silo"/>; the job's id.</summary>
    public string SubmitJob(SiloProcess silo, params string[] job)
    {
        var submit = Cli.ChildProcess(new Dictionary<string, string>(),
            ["submit", "--coordinator", silo.Url, "--token-file", TokenFile, .. job, "--json"]);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        return JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("job_id").GetString()!;
    }

    /// <summary>
    /// Polls an API path until <paramref name="done"/> holds. A failed read (a silo restarting, a grain whose silo is not
    /// yet declared dead, the database down) is retried; at the deadline the test fails with the last answer.
    /// </summary>
    public JsonElement Poll(SiloProcess silo, string path, Func<JsonElement, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var answer = Get(silo, path);
                if (done(answer)) return answer;
                last = answer.ToString();
            }
            catch (Exception e) when (e is HttpRequestException or Xunit.Sdk.XunitException or TaskCanceledException)
            {
                last = e.Message;
            }
            Thread.Sleep(250);
        }
        Assert.Fail($"{what} not within {timeout.TotalSeconds:0} s; last answer: {last}\n--- silo ---\n{silo.Output}");
        return default;
    }

    /// <summary>GET an API path of silo <paramref name="silo"/> with the cluster's token, as JSON.</summary>
    public JsonElement Get(SiloProcess silo, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{silo.Url}{path}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(TokenFile).Trim());
        using var response = http.Send(request);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}");
        return JsonDocument.Parse(response.Content.ReadAsStream()).RootElement.Clone();
    }

    /// <summary>Submits dp x ep with --wait through silo <paramref name="a"/>; asserts one rank per node and an adapter bitwise `mola launch`'s.</summary>
    public void RunOneRankPerNodeLikeLaunch(SiloProcess a, int dp, int ep)
    {
        var submit = Cli.ChildProcess(new Dictionary<string, string>(),
            ["submit", "--coordinator", a.Url, "--token-file", TokenFile, .. ClusterJobs.TinyJob(), "--dp", Inv(dp), "--ep", Inv(ep), "--wait", "--json"]);
        Assert.True(submit.ExitCode == 0, $"dp {dp} ep {ep}: {submit}\n--- silo a ---\n{a.Output}");
        var job = JsonDocument.Parse(submit.Stdout).RootElement;
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        var nodes = job.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("node").GetString()).Order().ToList();
        Assert.Equal(["node-a", "node-b"], nodes);

        ClusterJobs.AssertAdapterOfLaunch(Path.Combine(_root, $"launch-dp{dp}-ep{ep}"), job.GetProperty("run_directory").GetString()!,
            ClusterJobs.TinyJob(), "--dp", Inv(dp), "--ep", Inv(ep));
    }

    private int AliveNodes(SiloProcess silo)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{silo.Url}/api/nodes");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(TokenFile).Trim());
        using var response = http.Send(request);
        if (!response.IsSuccessStatusCode) return 0;
        return JsonDocument.Parse(response.Content.ReadAsStream()).RootElement.EnumerateArray().Count(n => n.GetProperty("alive").GetBoolean());
    }

    public void Dispose()
    {
        foreach (var silo in _silos) silo.Dispose();
    }
}
