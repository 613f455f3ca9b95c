using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace MoLA.Telemetry;

/// <summary>
/// A pull exporter: <see cref="Scrape"/> asks the reader it is attached to (a <see cref="BaseExportingMetricReader"/>)
/// to collect, and renders the batch it is handed as Prometheus text. Cumulative temporality (the reader's default).
/// </summary>
[ExportModes(ExportModes.Pull)]
public sealed class PrometheusExporter : BaseExporter<Metric>, IPullMetricExporter
{
    private readonly object gate = new();
    private StringBuilder? buffer;

    /// <summary>Set by the reader this exporter is attached to: collect, then export, within the timeout (ms).</summary>
    public Func<int, bool>? Collect { get; set; }

    /// <summary>Collects every instrument now and returns the exposition text.</summary>
    /// <exception cref="InvalidOperationException">Not attached to a reader, or the provider has shut down.</exception>
    public string Scrape(int timeoutMilliseconds = 5000)
    {
        lock (gate)
        {
            var collect = Collect ?? throw new InvalidOperationException("the Prometheus exporter is not attached to a metric reader");
            buffer = new StringBuilder();
            try
            {
                if (!collect(timeoutMilliseconds))
                    throw new InvalidOperationException("metric collection failed (the meter provider has shut down or timed out)");
                return buffer.ToString();
            }
            finally
            {
                buffer = null;
            }
        }
    }

    /// <inheritdoc />
    public override ExportResult Export(in Batch<Metric> batch)
    {
        // Called on the scraping thread inside Scrape's collect, with the gate held.
        var sb = buffer;
        if (sb is null) return ExportResult.Failure;
        foreach (var metric in batch)
            PrometheusText.WriteMetric(sb, metric);
        return ExportResult.Success;
    }
}
