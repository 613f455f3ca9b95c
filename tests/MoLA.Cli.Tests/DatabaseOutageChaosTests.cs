using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// The cluster's PostgreSQL crashes (immediate stop, every connection cut) while a job trains, and comes back 10 s later.
/// The ranks never needed the database (they train over their own rendezvous); the silo's writes fail meanwhile and
/// the agent's reports are retried until they land. The job ends with every step logged once and the uninterrupted
/// run's adapter, bitwise.
/// </summary>
public sealed class DatabaseOutageChaosTests : IDisposable
{
    private const int Steps = 80;
    private readonly string _root = Directory.CreateTempSubdirectory("mola-db-outage-").FullName;
    private readonly PostgresServer _postgres = PostgresServer.Start();
    private readonly SiloCluster _cluster;

    public DatabaseOutageChaosTests() => _cluster = new SiloCluster(_root, "postgres", _postgres.ConnectionString);

    public void Dispose()
    {
        // The database goes even when stopping a silo fails: a test must not leave a server behind.
        try { _cluster.Dispose(); }
        finally { _postgres.Dispose(); }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void AJobOutlivesAPostgresCrash_AndEndsWithTheUninterruptedAdapter()
    {
        var migrate = Cli.ChildProcess(new Dictionary<string, string>(), "silo", "migrate", "--connection-string", _postgres.ConnectionString);
        Assert.True(migrate.ExitCode == 0, migrate.ToString());
        var silo = _cluster.Start(nodes: 1);
        var job = ClusterJobs.TinyJobOf(Steps, "--checkpoint-every", "4");
        var submit = Cli.ChildProcess(new Dictionary<string, string>(),
            ["submit", "--coordinator", silo.Url, "--token-file", _cluster.TokenFile, .. job, "--json"]);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("job_id").GetString()!;
        var before = Wait(silo, id, j => j.GetProperty("step").GetInt64() >= 3, TimeSpan.FromSeconds(120));
        var crashedAt = DateTime.UtcNow;

        _postgres.Crash(TimeSpan.FromSeconds(10));

        var done = Wait(silo, id, j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(300));
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done + "\n--- silo ---\n" + silo.Output + "\n--- postgres ---\n" + _postgres.Log);
        // It trained through the outage: no restart (the ranks never needed the database), and it ended after it.
        Assert.True(before.GetProperty("step").GetInt64() < Steps / 2, before.ToString());
        Assert.Equal(0, done.GetProperty("restarts").GetInt32());
        Assert.True(done.GetProperty("finished_at").GetDateTime().ToUniversalTime() > crashedAt.AddSeconds(10), done.ToString());
        var runDir = done.GetProperty("run_directory").GetString()!;
        Assert.Equal(Enumerable.Range(1, Steps), new RunDirectory(runDir).ReadSteps(tolerateTruncatedTail: false).Select(s => s.Step));
        var uninterrupted = Path.Combine(_root, "uninterrupted");
        var train = Cli.ChildProcess(new Dictionary<string, string>(), ["train", "--out", uninterrupted, .. job]);
        Assert.True(train.ExitCode == 0, train.ToString());
        ClusterJobs.AssertSameAdapter(Path.Combine(uninterrupted, RunFiles.AdapterDir), Path.Combine(runDir, RunFiles.AdapterDir));
    }

    /// <summary>Polls the job through the API; while the database is down a status read may fail, and is retried.</summary>
    private JsonElement Wait(SiloProcess silo, string id, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var job = _cluster.Get(silo, $"/api/jobs/{id}");
                if (done(job)) return job;
                last = job.ToString();
            }
            catch (Exception e) when (e is HttpRequestException or Xunit.Sdk.XunitException or TaskCanceledException)
            {
                last = e.Message;
            }
            Thread.Sleep(250);
        }
        Assert.Fail($"timed out; last answer: {last}\n--- silo ---\n{silo.Output}");
        return default;
    }
}
