using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MoLA.Grains.Sweeps;

[GenerateSerializer]
public sealed class SweepRecord
{
    [Id(0)] public SweepStatus? Status { get; set; }
}

/// <summary>
/// One sweep's trials, run as ordinary training jobs (they get the scheduler's gang placement, restarts and run
/// directories). Each period it follows the trials' jobs, lets ASHA stop configurations that fall behind at a rung, runs a
/// failed trial again while its retries last, and submits pending trials while the cluster has room for them.
/// <para>
/// A trial never runs twice to completion: its job id (sweep, trial, attempt) is persisted before the job is submitted,
/// and a job grain refuses a second Submit with the same id, so a silo restart between the two steps finds the job and
/// follows it instead of starting another. A durable reminder brings the grain back after a restart.
/// </para>
/// </summary>
public sealed class SweepGrain(
    [PersistentState("sweep", StorageNames.Grains)] IPersistentState<SweepRecord> state,
    IOptions<ControlPlaneOptions> options,
    ILogger<SweepGrain> log) : Grain, ISweepGrain, IRemindable
{
    private const string AdvanceReminder = "advance";
    private readonly ControlPlaneOptions _options = options.Value;
    private IGrainTimer? _timer;

    private string SweepId => this.GetPrimaryKeyString();
    private SweepStatus Status => state.State.Status ?? throw new InvalidOperationException($"sweep {SweepId} does not exist");

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Status is { } s)
        {
            SweepMetrics.Active(s);
            if (s.State == SweepState.Running) StartTimer();
        }
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        SweepMetrics.Inactive(SweepId);
        return Task.CompletedTask;
    }

    public async Task<SweepStatus> Start(SweepSpec spec)
    {
        if (state.State.Status is not null) throw new InvalidOperationException($"sweep {SweepId} already exists");
        state.State.Status = new SweepStatus
        {
            SweepId = SweepId,
            Spec = spec,
            State = SweepState.Running,
            SubmittedAt = DateTime.UtcNow,
            Reason = $"{spec.Trials.Count} trials of {spec.Configurations.Count} configurations",
            Trials = spec.Trials.Select(t => new TrialStatus { Name = t.Name, Configuration = t.Configuration, Seed = t.Seed }).ToList(),
        };
        await state.WriteOrReload(this);
        await GrainFactory.GetGrain<IJobCatalogGrain>(Catalogs.Sweeps).Add(SweepId);
        await this.RegisterOrUpdateReminder(AdvanceReminder, _options.ReminderPeriod, _options.ReminderPeriod);
        log.LogInformation("Sweep {SweepId} started: {Trials} trials of {Configurations} configurations", SweepId, spec.Trials.Count, spec.Configurations.Count);
        StartTimer();
        await Advance();
        return Status;
    }

    public Task<SweepStatus?> GetStatus() => Task.FromResult(state.State.Status);

    public async Task<SweepStatus> Cancel(string reason)
    {
        if (Status.State != SweepState.Running) return Status;
        foreach (var trial in Status.Trials.Where(t => !t.State.IsFinal()))
        {
            if (trial.JobId is { } job && trial.State is TrialState.Queued or TrialState.Running)
                await BestEffort($"cancel job {job}", () => GrainFactory.GetGrain<ITrainingJobGrain>(job).Cancel($"sweep {SweepId} cancelled: {reason}"));
            SetTrial(trial.Name, t => t with { State = TrialState.Cancelled, Reason = reason, FinishedAt = DateTime.UtcNow });
        }
        await Finish(SweepState.Cancelled, reason);
        return Status;
    }

    public async Task Advance()
    {
        if (state.State.Status is not { State: SweepState.Running }) return;
        var changed = false;
        foreach (var trial in Status.Trials.Where(t => t.State is TrialState.Queued or TrialState.Running).ToList())
            changed |= await Follow(trial);
        if (Status.Spec.Asha is not null) changed |= await ApplyAsha();
        changed |= await SubmitWhatFits();
        if (Status.Trials.All(t => t.State.IsFinal()))
        {
            var succeeded = Status.Trials.Count(t => t.State == TrialState.Succeeded);
            var summary = string.Join(", ", Status.Trials.GroupBy(t => t.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.Name()}"));
            await Finish(succeeded > 0 ? SweepState.Succeeded : SweepState.Failed, $"every trial ended: {summary}");
            return;
        }
        if (changed) await state.WriteOrReload(this);
        SweepMetrics.Active(Status);
    }

    /// <summary>Copies the trial's job into the trial; an ended job ends the trial (or starts its next attempt).</summary>
    private async Task<bool> Follow(TrialStatus trial)
    {
        var job = await GrainFactory.GetGrain<ITrainingJobGrain>(trial.JobId!).GetStatus();
        if (job is null)
        {
            // Persisted as submitted, but the submission itself was lost (a silo restart in between): submit again.
            await SubmitJob(trial);
            return true;
        }
        var rank0 = job.Ranks.FirstOrDefault(r => r.Rank == 0)?.Progress;
        var next = trial with
        {
            State = job.State == JobState.Running ? TrialState.Running : trial.State,
            Step = job.Step,
            TotalSteps = job.TotalSteps,
            Loss = rank0?.Loss ?? trial.Loss,
            TokensPerSecond = rank0 is null ? trial.TokensPerSecond : job.Ranks.Sum(r => r.Progress?.TokensPerSecond ?? 0),
            Evaluations = job.Evaluations,
            StartedAt = trial.StartedAt ?? job.StartedAt,
        };
        if (job.State.IsFinal())
        {
            next = job.State switch
            {
                JobState.Succeeded => next with
                {
                    State = TrialState.Succeeded,
                    Score = job.Evaluations.LastOrDefault()?.Accuracy.GetValueOrDefault(Status.Spec.Metric),
                    FinishedAt = job.FinishedAt,
                    Reason = job.Reason,
                },
                JobState.Failed when trial.Attempts <= Status.Spec.TrialRetries => next with
                {
                    State = TrialState.Pending,
                    FailedAttempts = [.. trial.FailedAttempts, $"attempt {trial.Attempts} (job {job.JobId}): {job.Reason}"],
                    Reason = $"attempt {trial.Attempts} failed ({job.Reason}); retry {trial.Attempts} of {Status.Spec.TrialRetries}",
                },
                JobState.Failed => next with
                {
                    State = TrialState.Failed,
                    FailedAttempts = [.. trial.FailedAttempts, $"attempt {trial.Attempts} (job {job.JobId}): {job.Reason}"],
                    FinishedAt = job.FinishedAt,
                    Reason = Status.Spec.TrialRetries == 0 ? job.Reason : $"{job.Reason} (after {trial.Attempts} attempts)",
                },
                // Cancelled by someone else (`mola cancel JOB`): the trial ends with the job's reason, not retried.
                _ => next with { State = TrialState.Cancelled, FinishedAt = job.FinishedAt, Reason = job.Reason },
            };
            if (next.State.IsFinal())
            {
                SweepMetrics.TrialEnded(SweepId, next);
                log.LogInformation("Sweep {SweepId} trial {Trial} {State}: {Reason}", SweepId, trial.Name, next.State.Name(), next.Reason);
            }
            else log.LogWarning("Sweep {SweepId} trial {Trial}: {Reason}", SweepId, trial.Name, next.Reason);
        }
        var changed = next.State != trial.State || next.Evaluations.Count != trial.Evaluations.Count;
        SetTrial(trial.Name, _ => next);
        return changed;
    }

    /// <summary>Rung results of every trial so far; each configuration ASHA rules out has its unfinished trials stopped.</summary>
    private async Task<bool> ApplyAsha()
    {
        var spec = Status.Spec;
        var asha = new AshaSettings(spec.Asha!.FirstRung, spec.Asha.Eta, spec.Asha.MinSeeds, spec.Steps);
        var rungs = AshaRule.Rungs(asha).ToHashSet();
        var results = Status.Trials
            .SelectMany(t => t.Evaluations.Where(e => rungs.Contains(e.Step) && e.Accuracy.ContainsKey(spec.Metric))
                .Select(e => new RungResult(t.Configuration, t.Seed, e.Step, e.Accuracy[spec.Metric])))
            .ToList();
        var stopped = Status.Stops.Select(s => s.Configuration).ToHashSet(StringComparer.Ordinal);
        var decisions = AshaRule.Decide(asha, results, stopped);
        foreach (var d in decisions)
        {
            state.State.Status = Status with { Stops = [.. Status.Stops, new SweepStop(d.Configuration, d.Rung, d.Reason, DateTime.UtcNow)] };
            log.LogInformation("Sweep {SweepId}: {Reason}", SweepId, d.Reason);
            foreach (var trial in Status.Trials.Where(t => t.Configuration == d.Configuration && !t.State.IsFinal()).ToList())
            {
                // Persisted first: after a restart the trial is not followed again, and its job is cancelled below.
                SetTrial(trial.Name, t => t with { State = TrialState.Stopped, Reason = d.Reason, FinishedAt = DateTime.UtcNow });
                await state.WriteOrReload(this);
                if (trial.JobId is { } job && trial.State is TrialState.Queued or TrialState.Running)
                    await BestEffort($"cancel job {job}", () => GrainFactory.GetGrain<ITrainingJobGrain>(job).Cancel(d.Reason));
                SweepMetrics.TrialEnded(SweepId, Status.Trials.First(t => t.Name == trial.Name));
            }
        }
        return decisions.Count > 0;
    }

    /// <summary>
    /// Pending trials start in order while fewer trials are active than the cluster's device slots of the sweep's kind can
    /// hold (at least one, so a sweep makes progress on a cluster smaller than a trial's gang: the scheduler queues it).
    /// </summary>
    private async Task<bool> SubmitWhatFits()
    {
        var pending = Status.Trials.Where(t => t.State == TrialState.Pending).ToList();
        if (pending.Count == 0) return false;
        var capacity = (await GrainFactory.GetGrain<ISchedulerGrain>(0).Capacity()).GetValueOrDefault(Status.Spec.Device);
        var room = Math.Max(1, capacity / Status.Spec.WorldSize) - Status.Trials.Count(t => t.State is TrialState.Queued or TrialState.Running);
        foreach (var trial in pending.Take(Math.Max(0, room)))
        {
            var attempt = trial.Attempts + 1;
            var jobDirectory = Path.Combine(Status.Spec.Directory, trial.Name, $"attempt-{attempt}");
            SetTrial(trial.Name, t => t with
            {
                State = TrialState.Queued,
                Attempts = attempt,
                JobId = $"{SweepId}-{trial.Name}-{attempt}",
                RunDirectory = Path.Combine(jobDirectory, "run"),
                Step = 0,
                Evaluations = [],
                Loss = null,
                StartedAt = null,
            });
            // Persisted before the job exists: after a restart the trial follows that job id, never a second one.
            await state.WriteOrReload(this);
            await SubmitJob(Status.Trials.First(t => t.Name == trial.Name));
        }
        return room > 0;
    }

    private async Task SubmitJob(TrialStatus trial)
    {
        var spec = Status.Spec;
        var settings = spec.Trials.First(t => t.Name == trial.Name).Settings;
        var job = new JobSpec
        {
            Name = $"{spec.Name}/{trial.Name} {trial.Configuration} seed {trial.Seed}",
            Settings = new Dictionary<string, string>(settings, StringComparer.Ordinal) { ["name"] = $"{trial.Configuration} seed {trial.Seed}" },
            DataParallel = spec.DataParallel,
            ExpertParallel = spec.ExpertParallel,
            Priority = spec.Priority,
            RunDirectory = Path.GetDirectoryName(trial.RunDirectory!)!,
            Device = spec.Device,
            MaxRestarts = spec.MaxRestarts,
            HangTimeout = spec.HangTimeout,
        };
        try
        {
            await GrainFactory.GetGrain<ITrainingJobGrain>(trial.JobId!).Submit(job);
            log.LogInformation("Sweep {SweepId} trial {Trial} ({Configuration}, seed {Seed}) submitted as job {JobId}",
                SweepId, trial.Name, trial.Configuration, trial.Seed, trial.JobId);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("already exists", StringComparison.Ordinal))
        {
            // Submitted before a restart: follow it.
        }
    }

    private async Task BestEffort(string what, Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.LogWarning("Sweep {SweepId}: could not {What}: {Error}", SweepId, what, e.Message);
        }
    }

    private async Task Finish(SweepState to, string reason)
    {
        state.State.Status = Status with { State = to, Reason = reason, FinishedAt = DateTime.UtcNow };
        await state.WriteOrReload(this);
        SweepMetrics.Active(Status);
        log.LogInformation("Sweep {SweepId} {State}: {Reason}", SweepId, to.Name(), reason);
        _timer?.Dispose();
        _timer = null;
        if (await this.GetReminder(AdvanceReminder) is { } r) await this.UnregisterReminder(r);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Status is { State: SweepState.Running }) StartTimer();
        return Task.CompletedTask;
    }

    private void StartTimer() =>
        _timer ??= this.RegisterGrainTimer(_ => Advance(), new GrainTimerCreationOptions(_options.SweepPeriod, _options.SweepPeriod));

    private void SetTrial(string name, Func<TrialStatus, TrialStatus> change) =>
        state.State.Status = Status with { Trials = Status.Trials.Select(t => t.Name == name ? change(t) : t).ToList() };
}
