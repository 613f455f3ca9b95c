using System.Diagnostics.Metrics;

namespace MoLA.Silo;

/// <summary>
/// The silo's own instruments (meter "MoLA.Silo"), served with Orleans' at /metrics by the OpenTelemetry Prometheus
/// exporter: what the API accepted and refused, and what this node's agent started and saw exit.
/// </summary>
public sealed class SiloMetrics : IDisposable
{
    public const string MeterName = "MoLA.Silo";
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _submitted;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _started;
    private readonly Counter<long> _exits;

    private int _running;

    public SiloMetrics()
    {
        _submitted = _meter.CreateCounter<long>("mola.cluster.jobs.submitted", description: "Jobs accepted by this silo's API");
        _refused = _meter.CreateCounter<long>("mola.cluster.jobs.refused", description: "Job submissions refused (400), by the field at fault");
        _started = _meter.CreateCounter<long>("mola.agent.ranks.started", description: "Rank processes this node's agent started");
        _exits = _meter.CreateCounter<long>("mola.agent.rank.exits", description: "Rank processes that exited, by result");
        _meter.CreateObservableGauge("mola.agent.ranks.running", () => Volatile.Read(ref _running), description: "Rank processes this node's agent runs now");
    }

    /// <summary>How many rank processes the agent runs now (the agent sets it after every start and exit).</summary>
    public void RanksRunning(int count) => Volatile.Write(ref _running, count);

    public void Submitted() => _submitted.Add(1);
    public void Refused(string field) => _refused.Add(1, new KeyValuePair<string, object?>("field", field));
    public void RankStarted() => _started.Add(1);
    public void RankExited(bool succeeded) => _exits.Add(1, new KeyValuePair<string, object?>("result", succeeded ? "succeeded" : "failed"));

    public void Dispose() => _meter.Dispose();
}
