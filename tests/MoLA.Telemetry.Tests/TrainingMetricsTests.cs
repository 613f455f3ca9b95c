namespace MoLA.Telemetry.Tests;

public sealed class TrainingMetricsTests
{
    [Fact]
    public void Every_instrument_renders_under_its_Prometheus_name()
    {
        string meterName = "MoLA.Training.Test." + Guid.NewGuid().ToString("N");
        using var metrics = new TrainingMetrics(meterName);
        using var endpoint = MetricsEndpoint.Start(0, meterName);

        metrics.RecordStep(tokens: 4096, seconds: 0.3, loss: 2.5, learningRate: 0.001, mfu: 0.42);
        metrics.RecordStep(tokens: 4096, seconds: 0.2, loss: 2.25, learningRate: 0.0005, mfu: 0.4);
        metrics.RecordExpertTokens(layer: 3, module: "mlp", counts: [10, 30, 20, 20]);
        metrics.RecordAux("z", 0.01);
        metrics.RecordAux("contrastive", 0.5);
        metrics.RecordCollective("all_to_all", 0.125, 1 << 20);
        metrics.RecordCollective("all_to_all", 0.125, 1 << 20);

        var lines = endpoint.Scrape().Split('\n');
        Assert.Contains("# TYPE mola_tokens_total counter", lines);
        Assert.Contains("mola_tokens_total 8192", lines);
        Assert.Contains("# TYPE mola_step_duration_seconds histogram", lines);
        Assert.Contains("mola_step_duration_seconds_bucket{le=\"0.25\"} 1", lines);
        Assert.Contains("mola_step_duration_seconds_bucket{le=\"0.5\"} 2", lines);
        Assert.Contains("mola_step_duration_seconds_bucket{le=\"+Inf\"} 2", lines);
        Assert.Contains("mola_step_duration_seconds_sum 0.5", lines);
        Assert.Contains("mola_step_duration_seconds_count 2", lines);
        Assert.Contains("# TYPE mola_loss gauge", lines);
        Assert.Contains("mola_loss 2.25", lines);
        Assert.Contains("mola_learning_rate 0.0005", lines);
        Assert.Contains("mola_model_flops_utilization_ratio 0.4", lines);
        Assert.Contains("mola_aux_loss{kind=\"z\"} 0.01", lines);
        Assert.Contains("mola_aux_loss{kind=\"contrastive\"} 0.5", lines);
        Assert.Contains("# TYPE mola_expert_tokens_total counter", lines);
        Assert.Contains("mola_expert_tokens_total{expert=\"1\",layer=\"3\",module=\"mlp\"} 30", lines);
        Assert.Contains("mola_expert_load_imbalance_ratio{layer=\"3\",module=\"mlp\"} 1.5", lines);
        Assert.Contains("mola_collective_seconds_total{op=\"all_to_all\"} 0.25", lines);
        Assert.Contains("mola_collective_bytes_total{op=\"all_to_all\"} 2097152", lines);
    }

    [Fact]
    public void Rejects_bad_input_naming_the_field()
    {
        using var metrics = new TrainingMetrics("MoLA.Training.Test." + Guid.NewGuid().ToString("N"));
        Assert.Contains("aux, contrastive, z", Assert.Throws<ArgumentException>(() => metrics.RecordAux("load", 1)).Message);
        Assert.Equal("counts", Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordExpertTokens(0, "mlp", [1, -1])).ParamName);
        Assert.Equal("seconds", Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordStep(1, double.NaN, 0, 0, 0)).ParamName);
        Assert.Equal("bytes", Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordCollective("all_reduce", 0, -1)).ParamName);
    }
}
