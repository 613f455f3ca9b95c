using static MoLA.Grains.Tests.GrainTestKit;

namespace MoLA.Grains.Tests;

/// <summary>
/// A failed generation is replaced while the restart budget lasts: Restarting (the survivors are released and their
/// exits awaited), then the next generation is placed, and its first step tells the restart log what the failure cost.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RestartTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task ARankThatDies_IsReplacedByTheNextGeneration_AfterTheSurvivorsExited()
    {
        var kind = Kind();
        var nodeName = Unique("node");
        var node = await Node(Grains, nodeName, 2, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind, dp: 2));
        await WaitFor(job, s => s.State == JobState.Scheduled);
        await job.ReportStarted(1, 0, 10);
        await job.ReportStarted(1, 1, 11);
        var t0 = DateTime.UtcNow;
        await job.ReportProgress(1, 0, new RankProgress(7, 20, 1.0, 1, t0));
        await job.ReportProgress(1, 1, new RankProgress(6, 20, 1.0, 1, t0));
        var failedAt = DateTime.UtcNow;
        await job.ReportExited(1, 1, new RankExit(137, 9, null, failedAt));

        var restarting = (await job.GetStatus())!;
        Assert.Equal(JobState.Restarting, restarting.State);
        Assert.Equal(1, restarting.Restarts);
        Assert.StartsWith($"rank 1 on node {nodeName} was killed by signal 9 (SIGKILL); restart 1 of 3", restarting.Reason);
        // The node no longer runs the job (its agent stops rank 0), and nothing new is placed while rank 0 may run.
        Assert.DoesNotContain(await node.Heartbeat(new NodeHeartbeat([])), a => a.JobId == restarting.JobId);
        await Task.Delay(600);
        Assert.Equal(JobState.Restarting, (await job.GetStatus())!.State);

        // Rank 0 exits as the agent stopped it: generation 2 is placed on the freed slots.
        await job.ReportExited(1, 0, new RankExit(130, null, null, DateTime.UtcNow, Stopped: true));
        var scheduled = await WaitFor(job, s => s.State == JobState.Scheduled && s.Generation == 2);
        Assert.All(scheduled.Ranks, r => Assert.Null(r.Exit));
        var assigned = await node.Heartbeat(new NodeHeartbeat([]));
        Assert.Equal(["g2/r0", "g2/r1"], assigned.Where(a => a.JobId == scheduled.JobId).Select(a => $"g{a.Generation}/r{a.Rank}").Order());

        // Stale reports of generation 1 change nothing; generation 2 resumes from checkpoint step 4.
        await job.ReportExited(1, 0, new RankExit(1, null, "late", DateTime.UtcNow));
        await job.ReportStarted(2, 0, 20);
        await job.ReportStarted(2, 1, 21);
        var firstStep = failedAt.AddSeconds(2.5);
        await job.ReportProgress(2, 0, new RankProgress(5, 20, 1.0, 1, firstStep));
        var resumed = (await job.GetStatus())!;
        Assert.Equal(JobState.Running, resumed.State);
        var entry = Assert.Single(resumed.RestartLog);
        Assert.Equal(1, entry.FailedGeneration);
        Assert.Equal(1, entry.Rank);
        Assert.Equal(6, entry.StepReached); // the slowest rank had completed 6
        Assert.Equal(4, entry.ResumedFrom);
        Assert.Equal(2, entry.StepsLost);
        Assert.Equal(2.5, entry.RecoverySeconds!.Value, 6);
        Assert.Equal(2, resumed.StepsLost);
        Assert.Equal([JobState.Queued, JobState.Scheduled, JobState.Running, JobState.Restarting, JobState.Scheduled, JobState.Running],
            resumed.Transitions.Select(t => t.To));

        await job.ReportExited(2, 0, new RankExit(0, null, null, DateTime.UtcNow));
        await job.ReportExited(2, 1, new RankExit(0, null, null, DateTime.UtcNow));
        Assert.Equal(JobState.Succeeded, (await job.GetStatus())!.State);
    }

    [Fact]
    public async Task WhenTheBudgetIsSpent_TheJobFailsWithTheWholeRestartLog()
    {
        var kind = Kind();
        await Node(Grains, Unique("node"), 1, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind, maxRestarts: 1));
        await WaitFor(job, s => s.State == JobState.Scheduled);
        await job.ReportExited(1, 0, new RankExit(1, null, "CUDA error: out of memory", DateTime.UtcNow));
        await WaitFor(job, s => s.State == JobState.Scheduled && s.Generation == 2);
        await job.ReportExited(2, 0, new RankExit(137, 9, null, DateTime.UtcNow));

        var failed = (await job.GetStatus())!;
        Assert.Equal(JobState.Failed, failed.State);
        Assert.EndsWith("; no restart left (1 of max-restarts 1 used)", failed.Reason);
        Assert.Equal([1, 2], failed.RestartLog.Select(r => r.FailedGeneration));
        Assert.Contains("CUDA error: out of memory", failed.RestartLog[0].Reason);
        Assert.Equal(1, failed.Restarts);
    }

    [Fact]
    public async Task ANodeThatGoesSilent_MovesTheJobToASpareNode()
    {
        var kind = Kind();
        var first = Unique("node-a");
        var spare = Unique("node-b");
        await Node(Grains, first, 1, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind));
        var scheduled = await WaitFor(job, s => s.State == JobState.Scheduled);
        Assert.Equal(first, scheduled.Ranks[0].Node);
        var spareNode = await Node(Grains, spare, 1, kind);
        await job.ReportStarted(1, 0, 7);

        // The first node's agent stops calling; the spare keeps beating. Its ranks count as gone with it.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        JobStatus moved;
        while (true)
        {
            await spareNode.Heartbeat(new NodeHeartbeat([]));
            moved = (await job.GetStatus())!;
            if (moved.Generation == 2 && moved.State == JobState.Scheduled || DateTime.UtcNow > deadline) break;
            await Task.Delay(200);
        }
        Assert.True(moved.Generation == 2, $"{moved.State}: {moved.Reason}");
        Assert.Equal(spare, moved.Ranks[0].Node);
        var entry = Assert.Single(moved.RestartLog);
        Assert.Null(entry.Rank);
        Assert.Equal(first, entry.Node);
        Assert.Contains($"node {first} went silent", entry.Reason);
        await job.Cancel("cleanup");
    }
}
