using System.Diagnostics;
using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// The cluster's PostgreSQL crashes (immediate stop, every connection cut) while a job trains, and stays down until the
/// job's rank has finished and exited. The rank never needed the database (it trains over its own rendezvous); the
/// silo's writes fail meanwhile, so the grains drop their activations and the agent's reports are retried until they
/// land. When the database is back the job ends succeeded, recorded only then (a status never shows an end that is not
/// stored), durably (a restarted silo reads it back and holds no slot for it), with every step logged once and the
/// uninterrupted run's adapter, bitwise.
/// </summary>
public sealed class DatabaseOutageChaosTests : IDisposable
{
    private const int Steps = 40;
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
        var silo = _cluster.StartMigrated(nodes: 1);
        var job = ClusterJobs.TinyJobOf(Steps, "--checkpoint-every", "4");
        var id = _cluster.SubmitJob(silo, job);
        var before = Wait(silo, id, j => j.GetProperty("step").GetInt64() >= 3, TimeSpan.FromSeconds(120));
        var pid = before.GetProperty("ranks")[0].GetProperty("pid").GetInt32();

        _postgres.Crash();
        WaitForExit(pid, TimeSpan.FromSeconds(300));
        // The agent's exit report meets the dead database (and is retried) before it comes back.
        Thread.Sleep(TimeSpan.FromSeconds(3));
        var recoveredAt = DateTime.UtcNow;
        _postgres.Recover();

        var done = Wait(silo, id, j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(300));
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done + "\n--- silo ---\n" + silo.Output + "\n--- postgres ---\n" + _postgres.Log);
        // It trained through the outage with no restart, and its end was recorded once it could be stored.
        Assert.True(before.GetProperty("step").GetInt64() < Steps / 2, before.ToString());
        Assert.Equal(0, done.GetProperty("restarts").GetInt32());
        var finishedAt = done.GetProperty("finished_at").GetDateTime().ToUniversalTime();
        Assert.True(finishedAt > recoveredAt, done.ToString());

        // Durable: the silo starts again on the database and reads the same end; the node holds nothing of the job.
        silo = _cluster.Restart(SiloCluster.NodeName(0));
        var reread = Wait(silo, id, _ => true, TimeSpan.FromSeconds(120));
        Assert.Equal("succeeded", reread.GetProperty("state").GetString());
        Assert.Equal(finishedAt, reread.GetProperty("finished_at").GetDateTime().ToUniversalTime());
        var node = _cluster.Get(silo, "/api/nodes")[0];
        Assert.True(node.GetProperty("assigned").GetArrayLength() == 0, node.ToString());

        var runDir = done.GetProperty("run_directory").GetString()!;
        Assert.Equal(Enumerable.Range(1, Steps), new RunDirectory(runDir).ReadSteps(tolerateTruncatedTail: false).Select(s => s.Step));
        var uninterrupted = Path.Combine(_root, "uninterrupted");
        var train = Cli.ChildProcess(new Dictionary<string, string>(), ["train", "--out", uninterrupted, .. job]);
        Assert.True(train.ExitCode == 0, train.ToString());
        ClusterJobs.AssertSameAdapter(Path.Combine(uninterrupted, RunFiles.AdapterDir), Path.Combine(runDir, RunFiles.AdapterDir));
    }

    private static void WaitForExit(int pid, TimeSpan timeout)
    {
        Process process;
        try { process = Process.GetProcessById(pid); }
        catch (ArgumentException) { return; }
        using (process)
            Assert.True(process.WaitForExit(timeout), $"rank process {pid} still runs after {timeout.TotalSeconds} s");
    }

    /// <summary>Polls the job through the API; while the database is down a status read may fail, and is retried.</summary>
    private JsonElement Wait(SiloProcess silo, string id, Func<JsonElement, bool> done, TimeSpan timeout) =>
        _cluster.Poll(silo, $"/api/jobs/{id}", done, timeout, $"job {id}");
}
