using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace MoLA.Grains.Sweeps;

/// <summary>
/// The sweep grains' instruments (meter "MoLA.ControlPlane", beside the jobs'): trials by state and each trial's latest
/// score for every sweep whose grain is active on this silo (so sums over silos count each sweep once), and how long
/// ended trials ran. Labels: sweep (id), state; trial and configuration on scores.
/// </summary>
public static class SweepMetrics
{
    private static readonly Meter Meter = new(ControlPlaneMetrics.MeterName);
    private static readonly ConcurrentDictionary<string, SweepStatus> Sweeps = new(StringComparer.Ordinal);

    private static readonly Histogram<double> TrialDuration = Meter.CreateHistogram(
        "mola.sweep.trial.duration", unit: "s", description: "Wall time of ended sweep trials, from their job's start to its end",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400] });

    static SweepMetrics()
    {
        Meter.CreateObservableGauge("mola.sweep.trials", () => Sweeps.Values.SelectMany(s =>
                Enum.GetValues<TrialState>().Select(state => new Measurement<int>(s.Trials.Count(t => t.State == state),
                    new KeyValuePair<string, object?>("sweep", s.SweepId), new KeyValuePair<string, object?>("state", state.Name())))),
            description: "Trials of each sweep whose grain is active on this silo, by state");
        Meter.CreateObservableGauge("mola.sweep.trial.score", () => Sweeps.Values.SelectMany(s =>
                s.Trials.Where(t => t.Score is not null || t.Evaluations.Count > 0).Select(t => new Measurement<double>(
                    t.Score ?? t.Evaluations[^1].Accuracy.GetValueOrDefault(s.Spec.Metric),
                    new KeyValuePair<string, object?>("sweep", s.SweepId), new KeyValuePair<string, object?>("trial", t.Name),
                    new KeyValuePair<string, object?>("configuration", t.Configuration)))),
            description: "Each trial's latest evaluation on the sweep's metric (accuracy in [0, 1]; its final one once it succeeded)");
    }

    /// <summary>The sweep's grain is active here with this status (called on activation and each period).</summary>
    public static void Active(SweepStatus status) => Sweeps[status.SweepId] = status;

    public static void Inactive(string sweep) => Sweeps.TryRemove(sweep, out _);

    public static void TrialEnded(string sweep, TrialStatus trial)
    {
        if (trial.WallSeconds is { } seconds)
            TrialDuration.Record(seconds, new KeyValuePair<string, object?>("sweep", sweep), new KeyValuePair<string, object?>("state", trial.State.Name()));
    }
}
