using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace MoLA.Grains;

/// <summary>
/// The job grains' instruments (meter "MoLA.ControlPlane"): restarts, steps redone and recovery time, and the state
/// and generation of every job whose grain is active on this silo (each silo reports the jobs it hosts, so sums over
/// silos count each job once; a finished job's series goes when its grain deactivates). Static because grains are
/// created by Orleans wherever they activate; the silo's OpenTelemetry exporter serves the meter.
/// </summary>
public static class ControlPlaneMetrics
{
    public const string MeterName = "MoLA.ControlPlane";
    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<string, (string State, int Generation)> ActiveJobs = new(StringComparer.Ordinal);

    private static readonly Counter<long> Restarts =
        Meter.CreateCounter<long>("mola.job.restarts", description: "Generations of a job replaced after a rank or node failure");
    private static readonly Counter<long> StepsLost =
        Meter.CreateCounter<long>("mola.job.steps_lost", description: "Completed training steps computed again after a failure");
    private static readonly Histogram<double> Recovery = Meter.CreateHistogram(
        "mola.job.recovery", unit: "s", description: "From a failure to the first step of the job's next generation",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300] });
    private static readonly Counter<long> Failures =
        Meter.CreateCounter<long>("mola.job.failures", description: "Rank or node failures seen by job grains, by what failed");

    static ControlPlaneMetrics()
    {
        Meter.CreateObservableGauge("mola.job.state",
            () => ActiveJobs.Select(kv => new Measurement<int>(1, new KeyValuePair<string, object?>("job_id", kv.Key), new KeyValuePair<string, object?>("state", kv.Value.State))),
            description: "1 for each job whose grain is active on this silo, labelled with its state");
        Meter.CreateObservableGauge("mola.job.generation",
            () => ActiveJobs.Select(kv => new Measurement<int>(kv.Value.Generation, new KeyValuePair<string, object?>("job_id", kv.Key))),
            description: "The current generation of each job whose grain is active on this silo (1 + restarts)");
    }

    /// <summary>The job's grain is active here in this state and generation (called on activation and every transition).</summary>
    public static void JobActive(string job, JobState state, int generation) => ActiveJobs[job] = (state.Name(), generation);

    public static void JobInactive(string job) => ActiveJobs.TryRemove(job, out _);

    public static void Failure(string job, string what) =>
        Failures.Add(1, new KeyValuePair<string, object?>("job_id", job), new KeyValuePair<string, object?>("kind", what));

    public static void Restarted(string job) => Restarts.Add(1, new KeyValuePair<string, object?>("job_id", job));

    public static void Recovered(string job, long stepsLost, double seconds)
    {
        StepsLost.Add(stepsLost, new KeyValuePair<string, object?>("job_id", job));
        Recovery.Record(seconds, new KeyValuePair<string, object?>("job_id", job));
    }
}
