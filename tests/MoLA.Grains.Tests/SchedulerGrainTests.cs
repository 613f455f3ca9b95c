using static MoLA.Grains.Tests.GrainTestKit;

namespace MoLA.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class SchedulerGrainTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task GangScheduling_NeverStartsPartOfAJob()
    {
        var kind = Kind();
        var a = await Node(Grains, Unique("a"), 1, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind, dp: 2));
        // One slot of two: nothing may start, across several scheduler rounds.
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(150);
            Assert.Empty(await a.Heartbeat(new NodeHeartbeat([])));
            Assert.Equal(JobState.Queued, (await job.GetStatus())!.State);
        }
        var b = await Node(Grains, Unique("b"), 1, kind, portStart: 41000);
        var s = await WaitFor(job, x => x.State == JobState.Scheduled);
        Assert.Equal(2, s.Ranks.Select(r => r.Node).Distinct().Count());
        Assert.Single(await a.Heartbeat(new NodeHeartbeat([])));
        Assert.Single(await b.Heartbeat(new NodeHeartbeat([])));
        // Rank 0's node serves the rendezvous on its own port range.
        var rank0 = s.Ranks.Single(r => r.Rank == 0).Node;
        Assert.Equal(rank0 == (await a.GetInfo())!.Name ? 40000 : 41000, s.Rendezvous!.Port);
        await job.Cancel("cleanup");
    }

    [Fact]
    public async Task RanksOfOneJob_GoOnAsFewNodesAsPossible()
    {
        var kind = Kind();
        await Node(Grains, Unique("small"), 1, kind);
        var big = Unique("big");
        await Node(Grains, big, 4, kind);
        var job = Grains.GetGrain<ITrainingJobGrain>(Unique("job"));
        await job.Submit(Spec(kind, dp: 2, ep: 2));
        var s = await WaitFor(job, x => x.State == JobState.Scheduled);
        Assert.All(s.Ranks, r => Assert.Equal(big, r.Node));
        Assert.Equal(new[] { 0, 1, 2, 3 }, s.Ranks.Select(r => r.Slot).Order());
        await job.Cancel("cleanup");
    }

    [Fact]
    public async Task HigherPriorityRunsFirst_AndTwoJobsNeverShareASlot()
    {
        var kind = Kind();
        var job1 = Grains.GetGrain<ITrainingJobGrain>(Unique("low"));
        var job2 = Grains.GetGrain<ITrainingJobGrain>(Unique("high"));
        await job1.Submit(Spec(kind, priority: 0));
        await job2.Submit(Spec(kind, priority: 5));
        // The queue lists the higher priority first although it came second.
        string[] ids = [job1.GetPrimaryKeyString(), job2.GetPrimaryKeyString()];
        Assert.Equal(new[] { ids[1], ids[0] }, (await Grains.GetGrain<ISchedulerGrain>(0).Queue()).Where(ids.Contains));
        await Node(Grains, Unique("one"), 1, kind);
        await WaitFor(job2, x => x.State == JobState.Scheduled);
        await Task.Delay(400);
        Assert.Equal(JobState.Queued, (await job1.GetStatus())!.State);
        await job2.Cancel("done");
        var s1 = await WaitFor(job1, x => x.State == JobState.Scheduled);
        Assert.Equal(0, s1.Ranks[0].Slot);
        await job1.Cancel("cleanup");
    }

    [Fact]
    public async Task Capacity_CountsLiveNodesSlotsByKind()
    {
        var kind = Kind();
        await Node(Grains, Unique("n"), 3, kind);
        Assert.Equal(3, (await Grains.GetGrain<ISchedulerGrain>(0).Capacity())[kind]);
    }
}
