using Orleans.Core.Internal;
using static MoLA.Grains.Tests.GrainTestKit;

namespace MoLA.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class TrainingJobGrainTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task JobWalksQueuedScheduledRunningSucceeded_WithAReasonForEveryTransition()
    {
        var kind = Kind();
        var node = await Node(Grains, Unique("node"), 2, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        var submitted = await job.Submit(Spec(kind, dp: 2));
        Assert.Equal(JobState.Queued, submitted.State);

        var scheduled = await WaitFor(job, s => s.State == JobState.Scheduled);
        Assert.Equal(1, scheduled.Generation);
        Assert.Equal([0, 1], scheduled.Ranks.Select(r => r.Rank));
        var assigned = await node.Heartbeat(new NodeHeartbeat([]));
        Assert.Equal(2, assigned.Count(a => a.JobId == submitted.JobId));
        Assert.All(assigned, a => Assert.Equal(scheduled.Rendezvous, a.Rendezvous));

        await job.ReportStarted(1, 0, 100);
        Assert.Equal(JobState.Scheduled, (await job.GetStatus())!.State);
        await job.ReportStarted(1, 1, 101);
        Assert.Equal(JobState.Running, (await job.GetStatus())!.State);
        await job.ReportProgress(1, 0, new RankProgress(2, 3, 1.5, 1000, DateTime.UtcNow));
        await job.ReportProgress(1, 1, new RankProgress(1, 3, 1.6, 900, DateTime.UtcNow));
        Assert.Equal(1, (await job.GetStatus())!.Step);
        await job.ReportExited(1, 0, new RankExit(0, null, null, DateTime.UtcNow));
        await job.ReportExited(1, 1, new RankExit(0, null, null, DateTime.UtcNow));

        var done = (await job.GetStatus())!;
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.NotNull(done.FinishedAt);
        Assert.Equal([JobState.Queued, JobState.Scheduled, JobState.Running, JobState.Succeeded], done.Transitions.Select(t => t.To));
        Assert.All(done.Transitions, t => Assert.False(string.IsNullOrWhiteSpace(t.Reason)));
        Assert.DoesNotContain(await node.Heartbeat(new NodeHeartbeat([])), a => a.JobId == done.JobId);
    }

    [Fact]
    public async Task ARankThatDiesWithoutRestartBudget_FailsTheJobNamingRankNodeAndSignal_AndFreesTheSlots()
    {
        var kind = Kind();
        var nodeName = Unique("node");
        var node = await Node(Grains, nodeName, 2, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind, dp: 2, maxRestarts: 0));
        await WaitFor(job, s => s.State == JobState.Scheduled);
        await job.ReportStarted(1, 0, 1);
        await job.ReportStarted(1, 1, 2);
        await job.ReportExited(1, 1, new RankExit(137, 9, null, DateTime.UtcNow));

        var failed = (await job.GetStatus())!;
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Equal($"rank 1 on node {nodeName} was killed by signal 9 (SIGKILL)", failed.Reason);
        // Stale reports of the failed generation change nothing.
        await job.ReportExited(1, 0, new RankExit(0, null, null, DateTime.UtcNow));
        Assert.Equal(JobState.Failed, (await job.GetStatus())!.State);

        var next = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await next.Submit(Spec(kind, dp: 2));
        await WaitFor(next, s => s.State == JobState.Scheduled);
        Assert.Equal(2, (await node.Heartbeat(new NodeHeartbeat([]))).Count);
    }

    [Fact]
    public async Task CancelWhileQueued_RemovesTheJobFromTheQueue()
    {
        var kind = Kind();
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        var id = (await job.Submit(Spec(kind))).JobId;
        Assert.Contains(id, await Grains.GetGrain<ISchedulerGrain>(0).Queue());
        var cancelled = await job.Cancel("user asked");
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Equal("user asked", cancelled.Reason);
        Assert.DoesNotContain(id, await Grains.GetGrain<ISchedulerGrain>(0).Queue());
        // A node arriving later does not start it.
        var node = await Node(Grains, Unique("node"), 1, kind);
        await Task.Delay(600);
        Assert.Empty(await node.Heartbeat(new NodeHeartbeat([])));
        Assert.Contains(id, await Grains.GetGrain<IJobCatalogGrain>(Catalogs.Jobs).List());
    }

    [Fact]
    public async Task ANodeThatGoesSilent_FailsItsRunningJob_WhenNoRestartIsLeft()
    {
        var kind = Kind();
        var nodeName = Unique("node");
        await Node(Grains, nodeName, 1, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind, maxRestarts: 0));
        await WaitFor(job, s => s.State == JobState.Scheduled);
        await job.ReportStarted(1, 0, 7);
        // No more heartbeats: the watchdog timer notices within NodeSilentAfter (3 s) plus a period.
        var failed = await WaitFor(job, s => s.State.IsFinal(), timeoutMs: 15_000);
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains($"node {nodeName} went silent", failed.Reason);
    }

    [Fact]
    public async Task PersistedFields_SurviveDeactivation()
    {
        var kind = Kind();
        await Node(Grains, Unique("node"), 1, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind) with { Name = "survivor", Settings = new() { ["lr"] = "1e-3" } });
        await WaitFor(job, s => s.State == JobState.Scheduled);
        await job.ReportStarted(1, 0, 4242);
        await job.ReportCheckpoint(1, "/runs/x/checkpoint-2");
        var before = (await job.GetStatus())!;

        await job.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Task.Delay(300);
        var after = (await job.GetStatus())!;
        Assert.Equal(JobState.Running, after.State);
        Assert.Equal("survivor", after.Spec.Name);
        Assert.Equal("1e-3", after.Spec.Settings["lr"]);
        Assert.Equal(4242, after.Ranks[0].ProcessId);
        Assert.Equal("/runs/x/checkpoint-2", after.LastCheckpoint);
        Assert.Equal(before.Transitions.Count, after.Transitions.Count);
        Assert.Equal(before.Rendezvous, after.Rendezvous);
        await job.Cancel("cleanup");
    }

    [Fact]
    public async Task SubmittingAnExistingId_IsRefused()
    {
        var kind = Kind();
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => job.Submit(Spec(kind)));
        Assert.Contains("already exists", e.Message);
        await job.Cancel("cleanup");
    }
}
