using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MoLA.Grains;

[GenerateSerializer]
public sealed class TrainingJobRecord
{
    [Id(0)] public JobStatus? Status { get; set; }
    [Id(1)] public List<RankAssignment> Assignments { get; set; } = [];
}

/// <summary>
/// One job's state machine (Queued -> Scheduled -> Running(g) -> Succeeded | Failed | Cancelled), persisted on every
/// transition with its reason. Rank reports carry the generation they belong to; reports of another generation are
/// stale and ignored. A grain timer watches the job's nodes while it is active; a durable reminder brings the grain
/// back after a silo restart so the watch goes on.
/// <para>
/// A failed rank or a silent node does not end the job while its restart budget lasts (torchrun's model): the job moves
/// to Restarting, its nodes stop the surviving ranks, and once none of generation g runs any more (each reported its
/// exit, or its node is gone, or the drain timeout passed) generation g + 1 is queued. Its ranks start with
/// <c>--resume auto</c> and continue from the newest complete checkpoint; the data order is a function of the step,
/// so the run continues as if uninterrupted. The restart log records each failure, the steps redone and the time from
/// the failure to the new generation's first step.
/// </para>
/// </summary>
public sealed class TrainingJobGrain(
    [PersistentState("job", StorageNames.Grains)] IPersistentState<TrainingJobRecord> state,
    IOptions<ControlPlaneOptions> options,
    ILogger<TrainingJobGrain> log) : Grain, ITrainingJobGrain, IRemindable
{
    private const string WatchdogReminder = "watchdog";
    private readonly ControlPlaneOptions _options = options.Value;
    private IGrainTimer? _watchdog;

    private string JobId => this.GetPrimaryKeyString();
    private JobStatus Status => state.State.Status ?? throw new InvalidOperationException($"job {JobId} does not exist");

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Status is { } status)
        {
            ControlPlaneMetrics.JobActive(JobId, status.State, status.Generation);
            if (!status.State.IsFinal()) StartWatchdog();
        }
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        ControlPlaneMetrics.JobInactive(JobId);
        return Task.CompletedTask;
    }

    public async Task<JobStatus> Submit(JobSpec spec)
    {
        if (state.State.Status is not null) throw new InvalidOperationException($"job {JobId} already exists");
        var now = DateTime.UtcNow;
        state.State.Status = new JobStatus
        {
            JobId = JobId,
            Spec = spec,
            State = JobState.Queued,
            SubmittedAt = now,
            Reason = "submitted",
            Transitions = [new JobTransition(JobState.Queued, JobState.Queued, now, "submitted")],
        };
        await state.WriteOrReload(this);
        ControlPlaneMetrics.JobActive(JobId, JobState.Queued, 0);
        await GrainFactory.GetGrain<IJobCatalogGrain>(Catalogs.Jobs).Add(JobId);
        await this.RegisterOrUpdateReminder(WatchdogReminder, _options.ReminderPeriod, _options.ReminderPeriod);
        StartWatchdog();
        await GrainFactory.GetGrain<ISchedulerGrain>(0).Enqueue(JobId, 1, spec, now);
        log.LogInformation("Job {JobId} queued: {World} ranks (dp {Dp} x ep {Ep})", JobId, spec.WorldSize, spec.DataParallel, spec.ExpertParallel);
        return Status;
    }

    public Task<JobStatus?> GetStatus() => Task.FromResult(state.State.Status);

    public async Task<JobStatus> Cancel(string reason)
    {
        if (Status.State.IsFinal()) return Status;
        await Finish(JobState.Cancelled, reason);
        return Status;
    }

    public async Task Schedule(int generation, List<RankAssignment> assignments)
    {
        var expected = state.State.Status switch
        {
            { State: JobState.Queued } => true,
            { State: JobState.Restarting, Drained: true } s => generation == s.Generation + 1,
            _ => false,
        };
        if (!expected)
        {
            // Cancelled (or gone) while the scheduler placed it: give the slots back.
            if (state.State.Status is null || Status.State.IsFinal()) await GrainFactory.GetGrain<ISchedulerGrain>(0).Remove(JobId);
            else log.LogWarning("Job {JobId}: ignored a placement of generation {Generation} in state {State}", JobId, generation, Status.State.Name());
            return;
        }
        // The nodes learn their ranks first: a job shown as Scheduled has its ranks on their nodes.
        foreach (var group in assignments.GroupBy(a => a.Node))
            await GrainFactory.GetGrain<INodeGrain>(group.Key).Assign(group.ToList());
        state.State.Assignments = assignments;
        var nodes = string.Join(", ", assignments.GroupBy(a => a.Node).Select(g => $"{g.Key} ({g.Count()})"));
        Update(JobState.Scheduled, generation == 1 ? $"placed on {nodes}" : $"generation {generation} placed on {nodes}", s => s with
        {
            Generation = generation,
            Drained = false,
            Rendezvous = assignments[0].Rendezvous,
            Ranks = assignments.Select(a => new RankStatus { Rank = a.Rank, Node = a.Node, Slot = a.Slot }).ToList(),
        });
        await state.WriteOrReload(this);
    }

    public async Task ReportStarted(int generation, int rank, int processId)
    {
        // A rank of a generation being stopped may still report its start: its exit is then awaited like the others'.
        if (!Current(generation) && !Stopping(generation)) return;
        SetRank(rank, r => r with { ProcessId = processId, LastHeartbeat = DateTime.UtcNow });
        if (Stopping(generation))
        {
            await state.WriteOrReload(this);
            return;
        }
        if (Status.State == JobState.Scheduled && Status.Ranks.All(r => r.ProcessId is not null))
            Update(JobState.Running, $"all {Status.Ranks.Count} ranks started (generation {generation})", s => s with { StartedAt = DateTime.UtcNow });
        await state.WriteOrReload(this);
    }

    public Task ReportProgress(int generation, int rank, RankProgress progress)
    {
        if (!Current(generation)) return Task.CompletedTask;
        // Progress is frequent and recomputable (metrics.jsonl holds it durably): kept in memory, persisted with the
        // next transition.
        SetRank(rank, r => r with { Progress = progress, LastHeartbeat = DateTime.UtcNow });
        return Status.RestartLog is [.., { ResumedFrom: null } last] && last.FailedGeneration < generation
            ? Recovered(last, progress)
            : Task.CompletedTask;
    }

    /// <summary>The first step of the generation that replaced a failed one: the restart log learns what it cost.</summary>
    private async Task Recovered(RestartRecord last, RankProgress first)
    {
        var resumedFrom = first.Step - 1;
        var lost = Math.Max(0, last.StepReached - resumedFrom);
        var seconds = Math.Max(0, (first.At - last.At).TotalSeconds);
        var done = last with { ResumedFrom = resumedFrom, StepsLost = lost, RecoverySeconds = seconds };
        state.State.Status = Status with
        {
            RestartLog = [.. Status.RestartLog.SkipLast(1), done],
            StepsLost = Status.StepsLost + lost,
            RecoverySeconds = seconds,
        };
        await state.WriteOrReload(this);
        ControlPlaneMetrics.Recovered(JobId, lost, seconds);
        log.LogInformation("Job {JobId} generation {Generation} resumed from step {Step}: {Lost} steps redone, recovered in {Seconds:0.0} s",
            JobId, Status.Generation, resumedFrom, lost, seconds);
    }

    public async Task ReportCheckpoint(int generation, string checkpoint)
    {
        if (!Current(generation)) return;
        state.State.Status = Status with { LastCheckpoint = checkpoint };
        await state.WriteOrReload(this);
    }

    public async Task ReportEvaluation(int generation, JobEvaluation evaluation)
    {
        if (!Current(generation)) return;
        // Persisted at once: evaluations are rare, and a sweep's scheduler decides on them.
        state.State.Status = Status with
        {
            Evaluations = [.. Status.Evaluations.Where(e => e.Step != evaluation.Step), evaluation],
        };
        await state.WriteOrReload(this);
    }

    public async Task ReportExited(int generation, int rank, RankExit exit)
    {
        if (Stopping(generation))
        {
            SetRank(rank, r => r with { Exit = exit, LastHeartbeat = DateTime.UtcNow });
            await CheckDrained();
            return;
        }
        if (!Current(generation)) return;
        SetRank(rank, r => r with { Exit = exit, LastHeartbeat = DateTime.UtcNow });
        var node = Status.Ranks.First(r => r.Rank == rank).Node;
        if (exit.Stopped)
        {
            // The agent stopped it because its node no longer runs it (the job was released there): not a failure.
            await state.WriteOrReload(this);
            return;
        }
        if (!exit.Succeeded)
        {
            ControlPlaneMetrics.Failure(JobId, "rank");
            await Restart(rank, node, $"rank {rank} on node {node} {exit.Describe()}", exit.At);
            return;
        }
        if (Status.Ranks.All(r => r.Exit is { Succeeded: true }))
        {
            if (Status.State == JobState.Scheduled) Update(JobState.Running, "all ranks started", s => s with { StartedAt = exit.At });
            await Finish(JobState.Succeeded, $"all {Status.Ranks.Count} ranks finished");
            return;
        }
        await state.WriteOrReload(this);
    }

    /// <summary>
    /// Generation g failed: with restarts left, stop its ranks everywhere, free its slots and wait for them to be gone
    /// (<see cref="CheckDrained"/> then queues g + 1); without, the job fails with the restart log.
    /// </summary>
    private async Task Restart(int? rank, string node, string reason, DateTime at)
    {
        var s = Status;
        var record = new RestartRecord { FailedGeneration = s.Generation, At = at, Rank = rank, Node = node, Reason = reason, StepReached = s.Step };
        if (s.Restarts >= s.Spec.MaxRestarts)
        {
            state.State.Status = s with { RestartLog = [.. s.RestartLog, record] };
            await Finish(JobState.Failed, s.Spec.MaxRestarts == 0
                ? reason
                : $"{reason}; no restart left ({s.Restarts} of max-restarts {s.Spec.MaxRestarts} used)");
            return;
        }
        state.State.Status = s with { Restarts = s.Restarts + 1, RestartLog = [.. s.RestartLog, record], Drained = false };
        Update(JobState.Restarting, $"{reason}; restart {s.Restarts + 1} of {s.Spec.MaxRestarts}: stopping generation {s.Generation}", x => x);
        await state.WriteOrReload(this);
        ControlPlaneMetrics.Restarted(JobId);
        log.LogWarning("Job {JobId}: {Reason}; restart {Restart} of {Max}", JobId, reason, s.Restarts + 1, s.Spec.MaxRestarts);
        // Best effort: a grain on a dead silo does not answer until membership declares it dead. The drain check
        // repeats the kill orders, and the next generation's Enqueue supersedes this one's placement.
        await KillOnNodes(Status.Ranks.Select(r => r.Node));
        await BestEffort("free the failed generation's slots", () => GrainFactory.GetGrain<ISchedulerGrain>(0).Remove(JobId));
        await CheckDrained();
    }

    private async Task ReleaseNodes(IEnumerable<string> nodes)
    {
        foreach (var n in nodes.Distinct())
            await BestEffort($"release node {n}", () => GrainFactory.GetGrain<INodeGrain>(n).Release(JobId));
    }

    /// <summary>The failed generation's survivors are killed, not stopped gracefully: their state is rolled back anyway.</summary>
    private async Task KillOnNodes(IEnumerable<string> nodes)
    {
        foreach (var n in nodes.Distinct())
            await BestEffort($"stop the ranks on node {n}", () => GrainFactory.GetGrain<INodeGrain>(n).Kill(JobId));
    }

    private async Task BestEffort(string what, Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.LogWarning("Job {JobId}: could not {What} (will retry where it matters): {Error}", JobId, what, e.Message);
        }
    }

    /// <summary>
    /// While Restarting: once no rank of the stopped generation can still run (it reported its exit, or its node went
    /// silent, or the drain timeout passed), queue the next generation at the job's original place in the queue. Two
    /// generations never write the run directory at once. Idempotent: the watchdog calls it until the job is placed.
    /// </summary>
    private async Task CheckDrained()
    {
        if (state.State.Status is not { State: JobState.Restarting } s) return;
        if (!s.Drained)
        {
            var failedAt = s.RestartLog[^1].At;
            var timedOut = DateTime.UtcNow - failedAt > _options.DrainTimeout;
            var live = new List<RankStatus>();
            var silent = new List<string>();
            foreach (var node in s.Ranks.Where(r => r.Exit is null).Select(r => r.Node).Distinct())
            {
                if (await NodeSilent(node)) silent.Add(node);
                else live.AddRange(s.Ranks.Where(r => r.Exit is null && r.Node == node));
            }
            if (live.Count > 0 && !timedOut)
            {
                await state.WriteOrReload(this);
                // Again, in case an order was lost: the agents stop the old generation's ranks only when told.
                await KillOnNodes(live.Select(r => r.Node));
                return;
            }
            if (live.Count > 0)
                log.LogWarning("Job {JobId}: ranks {Ranks} of generation {Generation} did not report their exit within {Timeout} s; starting the next generation",
                    JobId, string.Join(",", live.Select(r => r.Rank)), s.Generation, _options.DrainTimeout.TotalSeconds);
            // A node that died takes its agent with it: the failure first reported is often a peer's broken collective,
            // so the log names the silent node too.
            var record = s.RestartLog[^1];
            var lostNodes = silent.Where(n => !record.Reason.Contains($"node {n} went silent", StringComparison.Ordinal)).ToList();
            if (lostNodes.Count > 0)
                record = record with { Reason = $"{record.Reason}; node{(lostNodes.Count > 1 ? "s" : "")} {string.Join(", ", lostNodes)} went silent" };
            state.State.Status = s with { Drained = true, RestartLog = [.. s.RestartLog.SkipLast(1), record] };
            await state.WriteOrReload(this);
        }
        await GrainFactory.GetGrain<ISchedulerGrain>(0).Enqueue(JobId, Status.Generation + 1, Status.Spec, Status.SubmittedAt);
    }

    private async Task<bool> NodeSilent(string node)
    {
        var info = await GrainFactory.GetGrain<INodeGrain>(node).GetInfo();
        return info is null || DateTime.UtcNow - info.HeardOrActivatedAt > _options.NodeSilentAfter;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Status is null || Status.State.IsFinal())
        {
            await Unregister();
            return;
        }
        StartWatchdog();
    }

    private bool Current(int generation) =>
        state.State.Status is { State: JobState.Scheduled or JobState.Running } s && s.Generation == generation;

    /// <summary>Reports of a generation that failed and is being stopped.</summary>
    private bool Stopping(int generation) =>
        state.State.Status is { State: JobState.Restarting } s && s.Generation == generation;

    private void StartWatchdog() =>
        _watchdog ??= this.RegisterGrainTimer(CheckNodes, new GrainTimerCreationOptions(_options.WatchdogPeriod, _options.WatchdogPeriod));

    /// <summary>
    /// A node that runs one of the job's ranks and has gone silent takes its ranks with it: the generation is replaced
    /// (on the nodes still alive). While Restarting, retries the drain check and the queueing of the next generation.
    /// </summary>
    private async Task CheckNodes(CancellationToken cancel)
    {
        if (state.State.Status is { State: JobState.Restarting })
        {
            await CheckDrained();
            return;
        }
        if (state.State.Status is not { State: JobState.Scheduled or JobState.Running } s) return;
        foreach (var node in s.Ranks.Select(r => r.Node).Distinct())
        {
            if (await NodeSilent(node))
            {
                ControlPlaneMetrics.Failure(JobId, "node");
                await Restart(null, node, $"node {node} went silent (no agent heartbeat for {_options.NodeSilentAfter.TotalSeconds:0} s)", DateTime.UtcNow);
                return;
            }
        }
    }

    private async Task Finish(JobState to, string reason)
    {
        Update(to, reason, s => s with { FinishedAt = DateTime.UtcNow });
        await state.WriteOrReload(this);
        log.LogInformation("Job {JobId} {State}: {Reason}", JobId, to.Name(), reason);
        await ReleaseNodes(Status.Ranks.Select(r => r.Node));
        await BestEffort("free the job's slots", () => GrainFactory.GetGrain<ISchedulerGrain>(0).Remove(JobId));
        _watchdog?.Dispose();
        _watchdog = null;
        await Unregister();
    }

    private async Task Unregister()
    {
        if (await this.GetReminder(WatchdogReminder) is { } r) await this.UnregisterReminder(r);
    }

    private void Update(JobState to, string reason, Func<JobStatus, JobStatus> change)
    {
        var from = Status.State;
        if (!JobStates.CanMove(from, to)) throw new InvalidOperationException($"job {JobId}: cannot move from {from.Name()} to {to.Name()}");
        var next = change(Status);
        state.State.Status = next with
        {
            State = to,
            Reason = reason,
            Transitions = [.. next.Transitions, new JobTransition(from, to, DateTime.UtcNow, reason)],
        };
        ControlPlaneMetrics.JobActive(JobId, to, state.State.Status!.Generation);
    }

    private void SetRank(int rank, Func<RankStatus, RankStatus> change)
    {
        var ranks = Status.Ranks.Select(r => r.Rank == rank ? change(r) : r).ToList();
        state.State.Status = Status with { Ranks = ranks };
    }
}
