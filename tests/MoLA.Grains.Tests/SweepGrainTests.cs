using MoLA.Grains.Sweeps;
using static MoLA.Grains.Tests.GrainTestKit;

namespace MoLA.Grains.Tests;

/// <summary>
/// A sweep runs its trials as training jobs on the real (in-process) Orleans cluster: as many at once as the slots allow,
/// each followed to its end, a failed one run again then recorded, and ASHA's losers stopped. The ranks' reports are
/// sent by the test, as node agents would send them.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SweepGrainTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task TrialsRunAsTheSlotsAllow_AndTheSweepEndsWithTheirScores()
    {
        var kind = Kind();
        var node = await Node(Grains, Unique("node"), 2, kind);
        var sweep = Grains.GetGrain<ISweepGrain>(Unique("sweep"));
        var spec = Spec(kind, ["a", "b", "c"], seeds: [1]);
        var started = await sweep.Start(spec);
        Assert.Equal(SweepState.Running, started.State);

        // Two slots, one-rank trials: two run at once, the third waits for a free slot (never a queue of all of them).
        var running = await WaitForSweep(sweep, node, s => s.Trials.Count(t => t.JobId is not null) == 2);
        await Task.Delay(600);
        Assert.Equal(2, (await sweep.GetStatus())!.Trials.Count(t => t.JobId is not null));
        Assert.Equal(["t1", "t2"], running.Trials.Where(t => t.JobId is not null).Select(t => t.Name));
        var first = running.Trials[0];
        Assert.Equal($"{running.SweepId}-t1-1", first.JobId);
        Assert.Equal(Path.Combine(spec.Directory, "t1", "attempt-1", "run"), first.RunDirectory);
        var job = await Grains.GetGrain<ITrainingJobGrain>(first.JobId!).GetStatus();
        Assert.Equal("1", job!.Spec.Settings["seed"]);
        Assert.Equal(Path.Combine(spec.Directory, "t1", "attempt-1"), job.Spec.RunDirectory);

        await Succeed(first.JobId!, 0.40);
        var third = await WaitForSweep(sweep, node, s => s.Trials[2].JobId is not null);
        Assert.Equal(TrialState.Succeeded, third.Trials[0].State);
        Assert.Equal(0.40, third.Trials[0].Score);
        await Succeed(third.Trials[1].JobId!, 0.55);
        await Succeed(third.Trials[2].JobId!, 0.50);

        var done = await WaitForSweep(sweep, node, s => s.State != SweepState.Running);
        Assert.Equal(SweepState.Succeeded, done.State);
        Assert.All(done.Trials, t => Assert.Equal(TrialState.Succeeded, t.State));
        Assert.Equal(0.55, done.BestScore);
        Assert.Equal("every trial ended: 3 succeeded", done.Reason);
        Assert.Contains(done.SweepId, await Grains.GetGrain<IJobCatalogGrain>(Catalogs.Sweeps).List());
    }

    [Fact]
    public async Task AFailedTrialIsRetried_ThenRecordedAsFailed_AndTheSweepGoesOn()
    {
        var kind = Kind();
        var node = await Node(Grains, Unique("node"), 2, kind);
        var sweep = Grains.GetGrain<ISweepGrain>(Unique("sweep"));
        await sweep.Start(Spec(kind, ["good", "bad"], seeds: [7], retries: 1));
        var s = await WaitForSweep(sweep, node, x => x.Trials.All(t => t.JobId is not null));
        await Succeed(s.Trials[0].JobId!, 0.6);

        var bad = s.Trials[1];
        await Fail(bad.JobId!, "CUDA error: out of memory");
        var retried = await WaitForSweep(sweep, node, x => x.Trials[1].Attempts == 2 && x.Trials[1].State != TrialState.Pending);
        Assert.Equal($"{s.SweepId}-t2-2", retried.Trials[1].JobId);
        Assert.EndsWith(Path.Combine("t2", "attempt-2", "run"), retried.Trials[1].RunDirectory);
        Assert.Single(retried.Trials[1].FailedAttempts);
        Assert.Contains("CUDA error: out of memory", retried.Trials[1].FailedAttempts[0]);

        await Fail(retried.Trials[1].JobId!, "CUDA error: out of memory");
        var done = await WaitForSweep(sweep, node, x => x.State != SweepState.Running);
        Assert.Equal(SweepState.Succeeded, done.State); // one trial succeeded: the sweep has a result
        var failed = done.Trials[1];
        Assert.Equal(TrialState.Failed, failed.State);
        Assert.Equal(2, failed.FailedAttempts.Count);
        Assert.Contains("out of memory", failed.Reason);
        Assert.Contains("after 2 attempts", failed.Reason);
        Assert.Equal("every trial ended: 1 succeeded, 1 failed", done.Reason);
    }

    [Fact]
    public async Task Asha_StopsTheConfigurationBelowTheCutoffAtARung_AndCancelsItsJob()
    {
        var kind = Kind();
        var node = await Node(Grains, Unique("node"), 3, kind);
        var sweep = Grains.GetGrain<ISweepGrain>(Unique("sweep"));
        // Rungs at 10 and 30 of 100 steps; three configurations, one seed each: at a rung the worst third stops.
        await sweep.Start(Spec(kind, ["x", "y", "z"], seeds: [1], asha: new SweepAsha(10, 3, 1), steps: 100));
        var s = await WaitForSweep(sweep, node, x => x.Trials.All(t => t.JobId is not null));
        foreach (var (trial, score) in s.Trials.Zip([0.2, 0.5, 0.6]))
        {
            var job = Grains.GetGrain<ITrainingJobGrain>(trial.JobId!);
            await job.ReportStarted(1, 0, 100);
            await job.ReportEvaluation(1, new JobEvaluation(10, new() { ["generation"] = score }, DateTime.UtcNow));
        }
        // The cutoff is the 2/3 quantile of (0.2, 0.5, 0.6): 0.5 + (0.6 - 0.5) / 3 = 0.5333; x and y fall below it.
        var stopped = await WaitForSweep(sweep, node, x => x.Trials[0].State == TrialState.Stopped && x.Trials[1].State == TrialState.Stopped);
        Assert.Equal(TrialState.Running, stopped.Trials[2].State);
        Assert.Equal(["x", "y"], stopped.Stops.Select(x => x.Configuration).Order());
        Assert.All(stopped.Stops, x => Assert.Equal(10, x.Rung));
        Assert.StartsWith("asha: rung 10: mean 0.2 over 1 seed below the top 1/3 cutoff 0.5333", stopped.Trials[0].Reason);
        var cancelled = await Grains.GetGrain<ITrainingJobGrain>(stopped.Trials[0].JobId!).GetStatus();
        Assert.Equal(JobState.Cancelled, cancelled!.State);

        await Succeed(stopped.Trials[2].JobId!, 0.8, started: true);
        var done = await WaitForSweep(sweep, node, x => x.State != SweepState.Running);
        Assert.Equal([TrialState.Stopped, TrialState.Stopped, TrialState.Succeeded], done.Trials.Select(t => t.State));
        Assert.Equal(0.8, done.BestScore);
        Assert.Equal("every trial ended: 1 succeeded, 2 stopped", done.Reason);
    }

    [Fact]
    public async Task Cancel_EndsTheTrialsAndTheirJobs()
    {
        var kind = Kind();
        var node = await Node(Grains, Unique("node"), 1, kind);
        var sweep = Grains.GetGrain<ISweepGrain>(Unique("sweep"));
        await sweep.Start(Spec(kind, ["a", "b"], seeds: [1]));
        var s = await WaitForSweep(sweep, node, x => x.Trials[0].JobId is not null);
        var cancelled = await sweep.Cancel("enough");
        Assert.Equal(SweepState.Cancelled, cancelled.State);
        Assert.All(cancelled.Trials, t => Assert.Equal(TrialState.Cancelled, t.State));
        Assert.Equal(JobState.Cancelled, (await Grains.GetGrain<ITrainingJobGrain>(s.Trials[0].JobId!).GetStatus())!.State);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sweep.Start(Spec(kind, ["a"], seeds: [1])));
    }

    private static SweepSpec Spec(string kind, string[] configurations, int[] seeds, int retries = 1, SweepAsha? asha = null, long steps = 20)
    {
        var trials = seeds.SelectMany(seed => configurations.Select(c => (c, seed))).Select((x, i) =>
            new SweepTrial($"t{i + 1}", x.c, x.seed, new() { ["steps"] = steps.ToString(System.Globalization.CultureInfo.InvariantCulture), ["seed"] = x.seed.ToString(System.Globalization.CultureInfo.InvariantCulture) })).ToList();
        return new SweepSpec
        {
            Name = "test",
            Directory = Path.Combine(Path.GetTempPath(), Unique("sweep-dir")),
            Configurations = configurations.Select(c => new SweepConfiguration(c, c, [])).ToList(),
            Trials = trials,
            Metric = "generation",
            Baseline = configurations[0],
            Asha = asha,
            TrialRetries = retries,
            Device = kind,
            MaxRestarts = 0,
            Steps = steps,
        };
    }

    private async Task Succeed(string jobId, double accuracy, bool started = false)
    {
        var job = await Submitted(jobId);
        await WaitFor(job, s => s.State is JobState.Scheduled or JobState.Running);
        if (!started) await job.ReportStarted(1, 0, 100);
        await job.ReportEvaluation(1, new JobEvaluation(20, new() { ["generation"] = accuracy }, DateTime.UtcNow));
        await job.ReportExited(1, 0, new RankExit(0, null, null, DateTime.UtcNow));
    }

    private async Task Fail(string jobId, string error)
    {
        var job = await Submitted(jobId);
        await WaitFor(job, s => s.State is JobState.Scheduled or JobState.Running);
        await job.ReportStarted(1, 0, 100);
        await job.ReportExited(1, 0, new RankExit(1, null, error, DateTime.UtcNow));
    }

    /// <summary>The sweep persists a trial's job id before it submits the job: wait for the job to exist.</summary>
    private async Task<ITrainingJobGrain> Submitted(string jobId)
    {
        var job = Grains.GetGrain<ITrainingJobGrain>(jobId);
        for (var i = 0; i < 200 && await job.GetStatus() is null; i++) await Task.Delay(25);
        return job;
    }

    /// <summary>Polls the sweep, beating the node as its agent would (a silent node would fail the trials' jobs).</summary>
    private static async Task<SweepStatus> WaitForSweep(ISweepGrain sweep, INodeGrain node, Func<SweepStatus, bool> done, int timeoutMs = 15_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            await node.Heartbeat(new NodeHeartbeat([]));
            var s = await sweep.GetStatus() ?? throw new InvalidOperationException("sweep vanished");
            if (done(s)) return s;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"sweep {s.SweepId} in {s.State}: {string.Join("; ", s.Trials.Select(t => $"{t.Name} {t.State} {t.JobId} {t.Reason}"))}");
            await Task.Delay(50);
        }
    }
}
