using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// A node dies mid-job on a real three-node cluster (three `mola silo` processes on Debian's PostgreSQL, one CPU slot
/// each): SIGKILL to one node's silo, agent and rank at once. The job's next generation runs on the two nodes left, from
/// the newest checkpoint, and ends with the uninterrupted run's adapter, bitwise (same programs and inputs on the same
/// machine; resume is exact).
/// </summary>
public sealed class NodeLossChaosTests : IDisposable
{
    private const int Steps = 16;
    private readonly PostgresServer _postgres = PostgresServer.Start();
    private readonly SiloCluster _cluster;

    public NodeLossChaosTests() =>
        _cluster = new SiloCluster(Directory.CreateTempSubdirectory("mola-node-loss-").FullName, "postgres", _postgres.ConnectionString);

    public void Dispose()
    {
        _cluster.Dispose();
        _postgres.Dispose();
        try { Directory.Delete(_cluster.Root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void ANodeKilledWithItsRank_TheJobMovesToTheSpareNode_AndEndsWithTheUninterruptedAdapter()
    {
        var migrate = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", _postgres.ConnectionString);
        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        var a = _cluster.Start(nodes: 3);
        var job = ClusterJobs.TinyJobOf(Steps, "--checkpoint-every", "4");
        var submit = Cli.ChildProcess(new Dictionary<string, string>(),
            ["submit", "--coordinator", a.Url, "--token-file", _cluster.TokenFile, .. job, "--dp", "2", "--json"]);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("job_id").GetString()!;

        var running = WaitFor(a, id, j => j.GetProperty("step").GetInt64() >= 6, 180, "step 6");
        // Kill a node that holds a rank but not the API the test talks to (any node may host the job's grain).
        var victim = Nodes(running).First(n => n != "node-a");
        _cluster.KillNode(victim);

        var done = WaitFor(a, id, EmbeddedCluster.Ended, 300, "the end of the job");
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done + "\n--- node-a ---\n" + _cluster.Output("node-a"));
        Assert.Equal(2, done.GetProperty("generation").GetInt32());
        Assert.DoesNotContain(victim, Nodes(done));
        var entry = Assert.Single(done.GetProperty("restart_log").EnumerateArray());
        Assert.Contains($"node {victim} went silent", entry.GetProperty("reason").GetString());
        Assert.InRange(entry.GetProperty("steps_lost").GetInt64(), 0, 4);
        // Detection (8 s of silence) + the new generation's start and first step, on a busy 2-core machine.
        Assert.InRange(entry.GetProperty("recovery_seconds").GetDouble(), 1, 120);

        var runDir = done.GetProperty("run_directory").GetString()!;
        Assert.Equal(Enumerable.Range(1, Steps), new RunDirectory(runDir).ReadSteps(tolerateTruncatedTail: false).Select(s => s.Step));
        ClusterJobs.AssertAdapterOfLaunch(Path.Combine(_cluster.Root, "uninterrupted"), runDir, job);
    }

    private static List<string> Nodes(JsonElement job) =>
        job.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("node").GetString()!).ToList();

    private JsonElement WaitFor(SiloProcess silo, string id, Func<JsonElement, bool> done, int seconds, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var token = File.ReadAllText(_cluster.TokenFile).Trim();
        JsonElement job = default;
        while (DateTime.UtcNow < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{silo.Url}/api/jobs/{id}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            try
            {
                using var response = http.Send(request);
                // While the dead silo is not yet declared dead, a call to a grain it hosted may fail: keep polling.
                if (response.IsSuccessStatusCode)
                {
                    job = JsonDocument.Parse(response.Content.ReadAsStream()).RootElement.Clone();
                    if (done(job)) return job;
                }
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            Thread.Sleep(200);
        }
        Assert.Fail($"{what} not within {seconds} s: {job}\n--- node-a ---\n{silo.Output}");
        return job;
    }
}
