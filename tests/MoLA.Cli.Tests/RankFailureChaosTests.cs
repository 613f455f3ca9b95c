using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// Chaos on the embedded cluster: real `mola train` ranks of a DP=2 job killed with real signals while they train.
/// The job must recover by itself (a new generation resumes from the newest checkpoint), log every step once, and end
/// with the adapter of an uninterrupted run, bitwise: same programs, same inputs, same machine, two-rank sums are
/// order-free and resuming restores the exact state (the engine's resume tests hold it bitwise), so any difference
/// means a step was fed other data or trained twice.
/// </summary>
public sealed class RankFailureChaosTests : IDisposable
{
    private const int Steps = 16;
    private const int CheckpointEvery = 4;
    private readonly EmbeddedCluster _cluster = new();

    public void Dispose() => _cluster.Dispose();

    private static string[] Job(params string[] more) =>
        [.. ClusterJobs.TinyJobOf(Steps, "--checkpoint-every", CheckpointEvery.ToString(CultureInfo.InvariantCulture)), "--dp", "2", .. more];

    [Fact]
    public async Task ARankKilledMidJob_IsReplaced_AndTheJobEndsWithTheUninterruptedAdapter()
    {
        _cluster.Start();
        var id = _cluster.Submit(Job("--name", "chaos-kill"));
        var running = _cluster.WaitFor(id, j => Step(j) >= 6, 180, "step 6");
        Kill(Pid(running, rank: 1), Signal.Kill);

        var job = _cluster.WaitFor(id, EmbeddedCluster.Ended, 300, "the end of the job");
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job + "\n--- silo ---\n" + _cluster.Output);
        Assert.Equal(2, job.GetProperty("generation").GetInt32());
        Assert.Equal(1, job.GetProperty("restarts").GetInt32());
        var entry = Assert.Single(job.GetProperty("restart_log").EnumerateArray());
        Assert.Equal(1, entry.GetProperty("rank").GetInt32());
        Assert.Contains("was killed by signal 9 (SIGKILL)", entry.GetProperty("reason").GetString());
        AssertRecoveryAccounted(job, entry);
        AssertEveryStepLoggedOnceAndAdapterUninterrupted(job);

        // /metrics shows the restart, the failure's kind, the steps redone and the recovery time.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{_cluster.ApiPort}/metrics");
        var label = $"job_id=\"{id}\"";
        Assert.Equal(1, EmbeddedCluster.Sample(metrics, "mola_job_restarts_total", label));
        Assert.Equal(1, EmbeddedCluster.Sample(metrics, "mola_job_failures_total", "kind=\"rank\""));
        Assert.Equal(entry.GetProperty("steps_lost").GetInt64(), EmbeddedCluster.Sample(metrics, "mola_job_steps_lost_total", label));
        Assert.Equal(1, EmbeddedCluster.Sample(metrics, "mola_job_recovery_seconds_count", label));
    }

    /// <summary>
    /// Expert parallelism (dp 1 x ep 2): rank 1 alone holds half of every layer's experts. Killed, its experts are not
    /// lost: the next generation restores both halves from the newest checkpoint, and the adapter is the uninterrupted
    /// run's, bitwise.
    /// </summary>
    [Fact]
    public void AnExpertParallelRankKilledMidJob_IsReplaced_AndItsExpertsComeBackFromTheCheckpoint()
    {
        _cluster.Start();
        var id = _cluster.Submit([.. ClusterJobs.TinyJobOf(Steps, "--checkpoint-every", CheckpointEvery.ToString(CultureInfo.InvariantCulture)),
            "--dp", "1", "--ep", "2", "--name", "chaos-ep"]);
        var running = _cluster.WaitFor(id, j => Step(j) >= 6, 180, "step 6");
        Kill(Pid(running, rank: 1), Signal.Kill);

        var job = _cluster.WaitFor(id, EmbeddedCluster.Ended, 300, "the end of the job");
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job + "\n--- silo ---\n" + _cluster.Output);
        Assert.Equal(2, job.GetProperty("generation").GetInt32());
        var entry = Assert.Single(job.GetProperty("restart_log").EnumerateArray());
        Assert.Contains("was killed by signal 9 (SIGKILL)", entry.GetProperty("reason").GetString());
        AssertRecoveryAccounted(job, entry);
        AssertEveryStepLoggedOnceAndAdapterUninterrupted(job, "--dp", "1", "--ep", "2");
    }

    /// <summary>SIGSTOP: the process lives but never steps again. The agent kills it at the hang timeout.</summary>
    [Fact]
    public void AStoppedRank_IsKilledAtTheHangTimeout_AndReplaced()
    {
        _cluster.Start();
        var id = _cluster.Submit(Job("--name", "chaos-hang", "--hang-timeout", "6"));
        var running = _cluster.WaitFor(id, j => Step(j) >= 6, 180, "step 6");
        var stoppedAt = DateTime.UtcNow;
        Kill(Pid(running, rank: 1), Signal.Stop);

        var job = _cluster.WaitFor(id, EmbeddedCluster.Ended, 300, "the end of the job");
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job + "\n--- silo ---\n" + _cluster.Output);
        var entry = Assert.Single(job.GetProperty("restart_log").EnumerateArray());
        // Its peer waits in the all-reduce and looks hung too; the stopped one is blamed.
        Assert.True(entry.GetProperty("rank").GetInt32() == 1, entry.ToString());
        Assert.Contains("hung: stopped by a signal, no step for", entry.GetProperty("reason").GetString());
        var detectedAfter = (entry.GetProperty("at").GetDateTime().ToUniversalTime() - stoppedAt).TotalSeconds;
        Assert.True(detectedAfter is > 4 and < 20, $"detected {detectedAfter:F1} s after SIGSTOP with hang-timeout 6 s");
        AssertRecoveryAccounted(job, entry);
        AssertEveryStepLoggedOnceAndAdapterUninterrupted(job);
    }

    /// <summary>A rank killed once more than the budget allows: the job fails, its reason and restart log say why.</summary>
    [Fact]
    public void ARankKilledMoreTimesThanMaxRestarts_FailsTheJobWithTheRestartLog()
    {
        _cluster.Start();
        var id = _cluster.Submit(Job("--name", "chaos-budget", "--max-restarts", "1"));
        for (var generation = 1; generation <= 2; generation++)
        {
            var g = generation;
            var running = _cluster.WaitFor(id, j => j.GetProperty("generation").GetInt32() == g && j.GetProperty("state").GetString() == "running"
                && Step(j) >= 1, 180, $"generation {g}'s first step");
            Kill(Pid(running, rank: 0), Signal.Kill);
        }
        var job = _cluster.WaitFor(id, EmbeddedCluster.Ended, 120, "the end of the job");
        Assert.Equal("failed", job.GetProperty("state").GetString());
        Assert.Contains("no restart left (1 of max-restarts 1 used)", job.GetProperty("reason").GetString());
        var log = job.GetProperty("restart_log").EnumerateArray().ToList();
        Assert.Equal([1, 2], log.Select(e => e.GetProperty("generation").GetInt32()));
        Assert.All(log, e => Assert.Contains("rank 0 on node local was killed by signal 9", e.GetProperty("reason").GetString()));

        var status = _cluster.Mola("status", id);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("restarts 1 of 1", status.Stdout);
        Assert.Contains("generation 2 at step", status.Stdout);
    }

    /// <summary>`mola bench recovery` kills a rank and splits the recovery into its parts, which add up to the whole.</summary>
    [Fact]
    public void BenchRecovery_MeasuresKillToFirstStep()
    {
        var run = Cli.ChildProcess(new Dictionary<string, string>(), "bench", "recovery", "--kills", "1", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var result = JsonDocument.Parse(run.Stdout).RootElement;
        var kill = Assert.Single(result.GetProperty("kills").EnumerateArray());
        double Part(string name) => kill.GetProperty(name).GetDouble();
        Assert.All(new[] { "detect_seconds", "replace_seconds", "first_step_seconds" }, p => Assert.True(Part(p) >= 0, kill.ToString()));
        Assert.Equal(Part("total_seconds"), Part("detect_seconds") + Part("replace_seconds") + Part("first_step_seconds"), 6);
        Assert.InRange(kill.GetProperty("steps_lost").GetInt64(), 0, 5);
        Assert.Equal(Part("total_seconds"), result.GetProperty("median_seconds").GetDouble());
    }

    /// <summary>The new generation resumed from a checkpoint (a multiple of checkpoint-every) and redid at most that many steps.</summary>
    private static void AssertRecoveryAccounted(JsonElement job, JsonElement entry)
    {
        var reached = entry.GetProperty("step_reached").GetInt64();
        var resumedFrom = entry.GetProperty("resumed_from").GetInt64();
        var lost = entry.GetProperty("steps_lost").GetInt64();
        Assert.True(reached >= 6, entry.ToString());
        Assert.Equal(0, resumedFrom % CheckpointEvery);
        Assert.Equal(reached - resumedFrom, lost);
        Assert.InRange(lost, 0, CheckpointEvery);
        Assert.Equal(lost, job.GetProperty("steps_lost").GetInt64());
        Assert.True(entry.GetProperty("recovery_seconds").GetDouble() > 0, entry.ToString());
    }

    private void AssertEveryStepLoggedOnceAndAdapterUninterrupted(JsonElement job, params string[] launchOptions)
    {
        var runDir = job.GetProperty("run_directory").GetString()!;
        Assert.Equal(Enumerable.Range(1, Steps), new RunDirectory(runDir).ReadSteps(tolerateTruncatedTail: false).Select(s => s.Step));
        ClusterJobs.AssertAdapterOfLaunch(Path.Combine(_cluster.Root, "uninterrupted"), runDir,
            ClusterJobs.TinyJobOf(Steps, "--checkpoint-every", CheckpointEvery.ToString(CultureInfo.InvariantCulture)), launchOptions);
    }

    private static long Step(JsonElement job) => job.GetProperty("step").GetInt64();

    private static int Pid(JsonElement job, int rank) =>
        job.GetProperty("ranks").EnumerateArray().Single(r => r.GetProperty("rank").GetInt32() == rank).GetProperty("pid").GetInt32();

    private enum Signal { Kill = 9, Stop = 19 }

    private static void Kill(int pid, Signal signal)
    {
        if (KillProcess(pid, (int)signal) != 0) Assert.Fail($"kill -{(int)signal} {pid} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillProcess(int pid, int signal);
}
