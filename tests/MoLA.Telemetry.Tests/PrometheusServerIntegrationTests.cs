using MoLA.TestSupport;

namespace MoLA.Telemetry.Tests;

/// <summary>Scrapes our endpoint with the real Prometheus server (installed by ./mola's bootstrap) and queries it back.</summary>
public sealed class PrometheusServerIntegrationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Real_prometheus_scrapes_tokens_and_expert_load()
    {
        string meterName = "MoLA.Training.Prom." + Guid.NewGuid().ToString("N");
        using var metrics = new TrainingMetrics(meterName);
        using var endpoint = MetricsServer.Start(0, meterName);
        metrics.RecordStep(tokens: 1000, seconds: 0.5, loss: 3.0, learningRate: 1e-3, mfu: 0.3);
        metrics.RecordStep(tokens: 2345, seconds: 0.4, loss: 2.9, learningRate: 1e-3, mfu: 0.31);
        metrics.RecordExpertTokens(layer: 2, module: "attn", counts: [5, 15, 40]);

        using var server = PrometheusServer.Start(endpoint.Port);
        Assert.Equal(3345, await server.QueryAsync("mola_tokens_total", Deadline));
        Assert.Equal(40, await server.QueryAsync("mola_expert_tokens_total{layer=\"2\",module=\"attn\",expert=\"2\",job=\"mola\"}", Deadline));
        Assert.Equal(2.0, await server.QueryAsync("mola_expert_load_imbalance_ratio{layer=\"2\",module=\"attn\"}", Deadline), 9);

        // A later step shows up in a later scrape.
        metrics.RecordStep(tokens: 655, seconds: 0.4, loss: 2.8, learningRate: 1e-3, mfu: 0.32);
        Assert.Equal(4000, await server.QueryAsync("mola_tokens_total == 4000", Deadline));
    }
}
