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
        // The database goes even when stopping a silo fails: a test must not leave a server behind.
        try { _cluster.Dispose(); }
        finally { _postgres.Dispose(); }
        try { Directory.Delete(_cluster.Root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void ANodeKilledWithItsRank_TheJobMovesToTheSpareNode_AndEndsWithTheUninterruptedAdapter()
    {
        var a = _cluster.StartMigrated(nodes: 3);
        var job = ClusterJobs.TinyJobOf(Steps, "--checkpoint-every", "4");
        var id = _cluster.SubmitJob(a, [.. job, "--dp", "2"]);

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

    /// <summary>While the dead silo is not yet declared dead, a call to a grain it hosted may fail: polling goes on.</summary>
    private JsonElement WaitFor(SiloProcess silo, string id, Func<JsonElement, bool> done, int seconds, string what) =>
        _cluster.Poll(silo, $"/api/jobs/{id}", done, TimeSpan.FromSeconds(seconds), what);
}
