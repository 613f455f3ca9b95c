using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using MoLA.TestSupport;

namespace MoLA.Cli.Tests;

/// <summary>
/// `mola cluster` as a user runs it: a real process (Orleans silo, SQLite grain state, node agent of 2 CPU slots) on
/// free loopback ports and a temp state directory, which it keeps across restarts; the client commands find it through
/// the endpoint file it writes (MOLA_CLUSTER_DIR), exactly as `./mola submit` finds `./mola cluster` in a checkout.
/// </summary>
internal sealed class EmbeddedCluster : IDisposable
{
    private readonly int _apiPort = LoopbackPorts.Free();
    private SiloProcess? _silo;

    public string Root { get; } = Directory.CreateTempSubdirectory("mola-cluster-").FullName;
    public string StateDir => Path.Combine(Root, "state");
    public int ApiPort => _apiPort;
    public string Output => _silo?.Output ?? "";

    public void Start(params string[] extra)
    {
        _silo = SiloProcess.Start(_apiPort, [
            "cluster", "--slots", "2", "--state-dir", StateDir, "--api-port", Inv(_apiPort), "--silo-port", Inv(LoopbackPorts.Free()),
            "--gateway-port", Inv(LoopbackPorts.Free()), "--rendezvous-port-start", Inv(LoopbackPorts.Free()), .. extra]);
        // `mola cluster` writes its endpoint file once it listens; the client commands read it.
        for (var i = 0; i < 50 && !File.Exists(Path.Combine(StateDir, "endpoint.json")); i++) Thread.Sleep(100);
    }

    public void Stop()
    {
        _silo?.Dispose();
        _silo = null;
    }

    public void Dispose()
    {
        Stop();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    public CliRun Mola(params string[] args) => Cli.ChildProcess(new Dictionary<string, string> { ["MOLA_CLUSTER_DIR"] = StateDir }, args);

    /// <summary>Submits without waiting and returns the job id.</summary>
    public string Submit(params string[] args)
    {
        var submit = Mola(["submit", .. args, "--json"]);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        return JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("job_id").GetString()!;
    }

    /// <summary>GET /api/jobs/{id} (not `mola status`: a dotnet process per poll would take the ranks' cores).</summary>
    public JsonElement Status(string jobId)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{_apiPort}/api/jobs/{jobId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(StateDir, "token")).Trim());
        using var response = http.Send(request);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {Output}");
        return JsonDocument.Parse(response.Content.ReadAsStream()).RootElement.Clone();
    }

    /// <summary>Polls the job until <paramref name="done"/> holds; fails with the job and the silo's output otherwise.</summary>
    public JsonElement WaitFor(string jobId, Func<JsonElement, bool> done, int seconds, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        JsonElement job;
        while (!done(job = Status(jobId)))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"{what} not within {seconds} s: {job}\n--- silo ---\n{Output}");
            Thread.Sleep(100);
        }
        return job;
    }

    public static bool Ended(JsonElement job) => job.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled";

    /// <summary>The value of the one series of <paramref name="name"/> whose labels contain <paramref name="label"/> (NaN when absent).</summary>
    public static double Sample(string exposition, string name, string label = "")
    {
        foreach (var line in exposition.Split('\n'))
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(label, StringComparison.Ordinal))
                return double.Parse(line[(line.LastIndexOf('}') + 2)..].Split(' ')[0], CultureInfo.InvariantCulture);
        return double.NaN;
    }

    private static string Inv(int n) => n.ToString(CultureInfo.InvariantCulture);
}
