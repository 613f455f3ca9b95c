using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MoLA.Grains;

namespace MoLA.Silo;

/// <summary>
/// The node agent (torchrun's elastic agent, run as a hosted service of the silo): registers this node's device slots,
/// then every period reports the rank processes it runs and receives the ranks it should run (its NodeGrain's desired
/// state); starts what is missing, stops what was released, and reports starts, progress and exits to each job grain.
/// Reports are queued and retried in order, so a grain call that fails (a silo restarting) loses nothing.
/// </summary>
public sealed class NodeAgent(
    IGrainFactory grains, SiloOptions options, RankProgram program, IHostApplicationLifetime lifetime, ILogger<NodeAgent> log, SiloMetrics metrics)
    : BackgroundService
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private readonly Dictionary<string, RankProcess> _ranks = [];
    private readonly HashSet<string> _launched = [];
    private readonly ConcurrentQueue<Func<Task>> _reports = new();
    private readonly ConcurrentDictionary<string, (RankAssignment, RankProgress)> _latestProgress = new();
    /// <summary>Released by a rank's first step, so "training has started" reaches the job grain without waiting a period.</summary>
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ConcurrentDictionary<string, byte> _stepping = new();

    /// <summary>True once this node is registered (the silo's readiness).</summary>
    public bool Registered { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (!await HostStart.WaitAsync(lifetime, stop)) return;
        var registration = new NodeRegistration
        {
            Name = options.NodeName,
            Address = options.NodeAddress,
            Devices = Enumerable.Range(0, options.CpuSlots).Select(i => new DeviceSlot(i, "cpu")).ToList(),
            RendezvousPortStart = options.RendezvousPortStart,
            RendezvousPortCount = options.RendezvousPortCount,
        };
        var node = grains.GetGrain<INodeGrain>(options.NodeName);
        while (!stop.IsCancellationRequested && !Registered)
        {
            try
            {
                await node.Register(registration);
                await grains.GetGrain<ISchedulerGrain>(0).AddNode(options.NodeName);
                Registered = true;
                log.LogInformation("Node agent {Node}: {Slots} CPU slots registered", options.NodeName, options.CpuSlots);
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                log.LogWarning("Node agent {Node}: registration failed, retrying: {Error}", options.NodeName, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stop).ContinueWith(_ => { });
            }
        }
        try
        {
            while (true)
            {
                await Reconcile(node);
                await Flush();
                await _wake.WaitAsync(options.AgentPeriod, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            StopAll();
        }
    }

    private async Task Reconcile(INodeGrain node)
    {
        List<RankAssignment> desired;
        try
        {
            desired = await node.Heartbeat(new NodeHeartbeat(_ranks.ToDictionary(r => r.Key, r => r.Value.ProcessId)));
        }
        catch (Exception e)
        {
            log.LogWarning("Node agent {Node}: heartbeat failed: {Error}", options.NodeName, e.Message);
            return;
        }
        var wanted = desired.Where(a => !a.Kill).ToDictionary(a => a.Key);
        var kill = desired.Where(a => a.Kill).Select(a => a.Key).ToHashSet();
        // A job's new generation waits until its older generation's processes on this node are gone (they may still be
        // writing their run directory).
        foreach (var a in wanted.Values.Where(a => !_launched.Contains(a.Key) && !OlderGenerationRuns(a)))
            Launch(a);
        var now = DateTime.UtcNow;
        // Causes before consequences: a rank killed as hung while stopped, then any rank killed as hung, then a rank killed
        // by a signal from outside (kill -9, the OOM killer), is reported before the peers that waited on it (hung too) or
        // that its death broke (they exit with an error of their own, often within the same period).
        foreach (var (key, rank) in _ranks.OrderByDescending(r => r.Value.StoppedWhenKilled).ThenByDescending(r => r.Value.Hung)
                     .ThenByDescending(r => r.Value.ExitSignal is not null).ToList())
        {
            if (rank.HasExited)
            {
                var exit = rank.Exit();
                var a = rank.Assignment;
                QueueLatestProgress(a);
                // Stopped ranks report too: a job replacing a failed generation waits for every old rank's exit.
                Enqueue(() => grains.GetGrain<ITrainingJobGrain>(a.JobId).ReportExited(a.Generation, a.Rank, exit));
                metrics.RankExited(exit.Succeeded);
                log.LogInformation("Rank {Key} (pid {Pid}) {Exit}", key, rank.ProcessId, exit.Describe());
                rank.Dispose();
                _ranks.Remove(key);
                metrics.RanksRunning(_ranks.Count);
            }
            else if (kill.Contains(key))
            {
                rank.Stop(TimeSpan.Zero);
            }
            else if (!wanted.ContainsKey(key))
            {
                rank.Stop(StopGrace);
            }
            else if (now - rank.LastActivity is var silent && silent > HangLimit(rank) && !rank.Hung)
            {
                log.LogWarning("Rank {Key} (pid {Pid}) printed no step for {Seconds:0} s: killing it as hung", key, rank.ProcessId, silent.TotalSeconds);
                rank.KillHung(silent, HangLimit(rank));
            }
        }
        foreach (var (assignment, _) in _latestProgress.Values.ToList())
            QueueLatestProgress(assignment);
    }

    private void Launch(RankAssignment a)
    {
        _launched.Add(a.Key);
        try
        {
            var threads = options.ThreadsPerSlot ?? Math.Max(1, Environment.ProcessorCount / Math.Max(1, options.CpuSlots));
            var rank = RankProcess.Start(a, program, threads, p =>
            {
                // The first step goes out at once and as is (a restarted generation's first step tells the job where it
                // resumed); later ones are coalesced to the latest per period.
                if (_stepping.TryAdd(a.Key, 0))
                {
                    Enqueue(() => grains.GetGrain<ITrainingJobGrain>(a.JobId).ReportProgress(a.Generation, a.Rank, p));
                    _wake.Release();
                }
                else _latestProgress[a.Key] = (a, p);
            }, evaluation =>
            {
                // After the steps before it (a sweep judges a trial on it as soon as it arrives).
                QueueLatestProgress(a);
                Enqueue(() => grains.GetGrain<ITrainingJobGrain>(a.JobId).ReportEvaluation(a.Generation, evaluation));
                _wake.Release();
            });
            _ranks[a.Key] = rank;
            metrics.RanksRunning(_ranks.Count);
            metrics.RankStarted();
            log.LogInformation("Started rank {Key} as pid {Pid}", a.Key, rank.ProcessId);
            Enqueue(() => grains.GetGrain<ITrainingJobGrain>(a.JobId).ReportStarted(a.Generation, a.Rank, rank.ProcessId));
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            log.LogError("Cannot start rank {Key}: {Error}", a.Key, e.Message);
            var exit = new RankExit(127, null, $"the node agent could not start '{program.Program}': {e.Message}", DateTime.UtcNow);
            Enqueue(() => grains.GetGrain<ITrainingJobGrain>(a.JobId).ReportExited(a.Generation, a.Rank, exit));
        }
    }

    /// <summary>
    /// The hang timeout counts from a rank's last step. Before its first step the rank loads its checkpoint and meets its
    /// peers (the rendezvous has its own timeout), which may take minutes for a large model: it gets at least
    /// <see cref="StartupAllowance"/>.
    /// </summary>
    private static TimeSpan HangLimit(RankProcess rank) =>
        rank.Stepped ? rank.Assignment.Spec.HangTimeout : TimeSpan.FromTicks(Math.Max(rank.Assignment.Spec.HangTimeout.Ticks, StartupAllowance.Ticks));

    private static readonly TimeSpan StartupAllowance = TimeSpan.FromMinutes(10);

    private bool OlderGenerationRuns(RankAssignment a) =>
        _ranks.Values.Any(r => r.Assignment.JobId == a.JobId && r.Assignment.Generation < a.Generation);

    private void QueueLatestProgress(RankAssignment a)
    {
        if (_latestProgress.TryRemove(a.Key, out var latest))
            Enqueue(() => grains.GetGrain<ITrainingJobGrain>(a.JobId).ReportProgress(a.Generation, a.Rank, latest.Item2));
    }

    private void Enqueue(Func<Task> report) => _reports.Enqueue(report);

    /// <summary>Sends queued reports in order; stops at the first failure and retries it next period.</summary>
    private async Task Flush()
    {
        while (_reports.TryPeek(out var report))
        {
            try
            {
                await report();
            }
            catch (Exception e)
            {
                log.LogWarning("Node agent {Node}: report failed, will retry: {Error}", options.NodeName, e.Message);
                return;
            }
            _reports.TryDequeue(out _);
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _wake.Dispose();
    }

    /// <summary>The silo is stopping: ranks get SIGTERM (they checkpoint), then SIGKILL after the grace period.</summary>
    private void StopAll()
    {
        foreach (var rank in _ranks.Values) rank.Stop(StopGrace);
        var deadline = DateTime.UtcNow + StopGrace;
        while (_ranks.Values.Any(r => !r.HasExited) && DateTime.UtcNow < deadline) Thread.Sleep(50);
        foreach (var rank in _ranks.Values)
        {
            rank.Stop(TimeSpan.Zero);
            rank.Dispose();
        }
        _ranks.Clear();
    }
}
