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
        if (state.State.Status is { State: var s } && !s.IsFinal()) StartWatchdog();
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
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IJobCatalogGrain>(0).Add(JobId);
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
        if (state.State.Status is not { State: JobState.Queued })
        {
            // Cancelled (or gone) while the scheduler placed it: give the slots back.
            await GrainFactory.GetGrain<ISchedulerGrain>(0).Remove(JobId);
            return;
        }
        // The nodes learn their ranks first: a job shown as Scheduled has its ranks on their nodes.
        foreach (var group in assignments.GroupBy(a => a.Node))
            await GrainFactory.GetGrain<INodeGrain>(group.Key).Assign(group.ToList());
        state.State.Assignments = assignments;
        var nodes = string.Join(", ", assignments.GroupBy(a => a.Node).Select(g => $"{g.Key} ({g.Count()})"));
        Update(JobState.Scheduled, $"placed on {nodes}", s => s with
        {
            Generation = generation,
            Rendezvous = assignments[0].Rendezvous,
            Ranks = assignments.Select(a => new RankStatus { Rank = a.Rank, Node = a.Node, Slot = a.Slot }).ToList(),
        });
        await state.WriteStateAsync();
    }

    public async Task ReportStarted(int generation, int rank, int processId)
    {
        if (!Current(generation)) return;
        SetRank(rank, r => r with { ProcessId = processId, LastHeartbeat = DateTime.UtcNow });
        if (Status.State == JobState.Scheduled && Status.Ranks.All(r => r.ProcessId is not null))
            Update(JobState.Running, $"all {Status.Ranks.Count} ranks started (generation {generation})", s => s with { StartedAt = DateTime.UtcNow });
        await state.WriteStateAsync();
    }

    public Task ReportProgress(int generation, int rank, RankProgress progress)
    {
        if (!Current(generation)) return Task.CompletedTask;
        // Progress is frequent and recomputable (metrics.jsonl holds it durably): kept in memory, persisted with the
        // next transition.
        SetRank(rank, r => r with { Progress = progress, LastHeartbeat = DateTime.UtcNow });
        return Task.CompletedTask;
    }

    public async Task ReportCheckpoint(int generation, string checkpoint)
    {
        if (!Current(generation)) return;
        state.State.Status = Status with { LastCheckpoint = checkpoint };
        await state.WriteStateAsync();
    }

    public async Task ReportExited(int generation, int rank, RankExit exit)
    {
        if (!Current(generation)) return;
        SetRank(rank, r => r with { Exit = exit, LastHeartbeat = DateTime.UtcNow });
        var node = Status.Ranks.First(r => r.Rank == rank).Node;
        if (!exit.Succeeded)
        {
            await Finish(JobState.Failed, $"rank {rank} on node {node} {exit.Describe()}");
            return;
        }
        if (Status.Ranks.All(r => r.Exit is { Succeeded: true }))
        {
            if (Status.State == JobState.Scheduled) Update(JobState.Running, "all ranks started", s => s with { StartedAt = exit.At });
            await Finish(JobState.Succeeded, $"all {Status.Ranks.Count} ranks finished");
            return;
        }
        await state.WriteStateAsync();
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
        state.State.Status is { } s && !s.State.IsFinal() && s.Generation == generation && s.State != JobState.Queued;

    private void StartWatchdog() =>
        _watchdog ??= this.RegisterGrainTimer(CheckNodes, new GrainTimerCreationOptions(_options.WatchdogPeriod, _options.WatchdogPeriod));

    /// <summary>Fails the job when a node that runs one of its ranks has gone silent.</summary>
    private async Task CheckNodes(CancellationToken cancel)
    {
        if (state.State.Status is not { State: JobState.Scheduled or JobState.Running } s) return;
        var now = DateTime.UtcNow;
        foreach (var node in s.Ranks.Select(r => r.Node).Distinct())
        {
            var info = await GrainFactory.GetGrain<INodeGrain>(node).GetInfo();
            var silentFor = info is null ? TimeSpan.MaxValue : now - info.LastHeartbeat;
            if (silentFor > _options.NodeSilentAfter)
            {
                await Finish(JobState.Failed, $"node {node} went silent (no agent heartbeat for {_options.NodeSilentAfter.TotalSeconds:0} s)");
                return;
            }
        }
    }

    private async Task Finish(JobState to, string reason)
    {
        Update(to, reason, s => s with { FinishedAt = DateTime.UtcNow });
        await state.WriteStateAsync();
        log.LogInformation("Job {JobId} {State}: {Reason}", JobId, to.Name(), reason);
        foreach (var node in Status.Ranks.Select(r => r.Node).Distinct())
            await GrainFactory.GetGrain<INodeGrain>(node).Release(JobId);
        await GrainFactory.GetGrain<ISchedulerGrain>(0).Remove(JobId);
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
    }

    private void SetRank(int rank, Func<RankStatus, RankStatus> change)
    {
        var ranks = Status.Ranks.Select(r => r.Rank == rank ? change(r) : r).ToList();
        state.State.Status = Status with { Ranks = ranks };
    }
}
