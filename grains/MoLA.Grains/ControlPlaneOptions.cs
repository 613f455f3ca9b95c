namespace MoLA.Grains;

/// <summary>Timings of the control plane (options pattern; the silo binds them from its configuration).</summary>
public sealed class ControlPlaneOptions
{
    /// <summary>
    /// A node whose agent has not called for this long is treated as gone and its jobs' ranks are replaced. Agents call
    /// every 200 ms, so 8 s is 40 missed calls (a long GC pause or a starved CPU does not reach it), and a dead node is
    /// acted on within 10 s.
    /// </summary>
    public TimeSpan NodeSilentAfter { get; set; } = TimeSpan.FromSeconds(8);
    /// <summary>How often an active job checks its nodes (grain timer).</summary>
    public TimeSpan WatchdogPeriod { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How often the scheduler retries queued jobs (nodes come and go between submissions).</summary>
    public TimeSpan SchedulerPeriod { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How often a running sweep follows its trials' jobs and submits what fits.</summary>
    public TimeSpan SweepPeriod { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// After a failure, how long the job waits for the failed generation's ranks to report their exits before it starts
    /// the next one anyway (the agent's stop grace is 10 s: SIGTERM, then SIGKILL).
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Durable reminder period: re-activates an active job after a silo restart (Orleans' minimum is 1 minute).</summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Storage and reminder names the grains use; the silo maps them to providers.</summary>
public static class StorageNames
{
    public const string Grains = "mola";
}
