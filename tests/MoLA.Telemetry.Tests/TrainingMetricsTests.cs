namespace MoLA.Telemetry.Tests;

public sealed class TrainingMetricsTests
{
    [Fact]
    public async Task Every_instrument_is_served_under_its_Prometheus_name_with_run_and_rank()
    {
        string meterName = "MoLA.Training.Test." + Guid.NewGuid().ToString("N");
        using var metrics = new TrainingMetrics(meterName, run: "sft-a", rank: 1);
        using var server = MetricsServer.Start(0, meterName);

        metrics.RecordStep(tokens: 4096, seconds: 0.3, loss: 2.5, learningRate: 0.001, mfu: 0.42);
        metrics.RecordStep(tokens: 4096, seconds: 0.2, loss: 2.25, learningRate: 0.0005, mfu: 0.4);
        metrics.RecordProgress(completed: 2, planned: 10);
        metrics.RecordExpertTokens(layer: 3, module: "mlp", counts: [10, 30, 20, 20]);
        metrics.RecordAux("z", 0.01);
        metrics.RecordAux("contrastive", 0.5);
        metrics.RecordCollective("all_to_all", 0.125, 1 << 20);
        metrics.RecordCollective("all_to_all", 0.125, 1 << 20);

        var lines = await Scrape.Lines(server.Url);
        const string Run = "run=\"sft-a\"", Rank = "rank=\"1\"";
        double Get(string name, params string[] labels) => Scrape.Single(lines, name, [Run, Rank, .. labels]);
        Assert.Contains("# TYPE mola_tokens_total counter", lines);
        Assert.Equal(8192, Get("mola_tokens_total"));
        Assert.Equal(4096 / 0.2, Get("mola_tokens_per_second"), 6);
        Assert.Contains("# TYPE mola_step_duration_seconds histogram", lines);
        Assert.Equal(1, Get("mola_step_duration_seconds_bucket", "le=\"0.25\""));
        Assert.Equal(2, Get("mola_step_duration_seconds_bucket", "le=\"0.5\""));
        Assert.Equal(2, Get("mola_step_duration_seconds_bucket", "le=\"+Inf\""));
        Assert.Equal(0.5, Get("mola_step_duration_seconds_sum"), 9);
        Assert.Equal(2, Get("mola_step_duration_seconds_count"));
        Assert.Equal(2, Get("mola_steps_completed"));
        Assert.Equal(10, Get("mola_steps_planned"));
        Assert.Contains("# TYPE mola_loss gauge", lines);
        Assert.Equal(2.25, Get("mola_loss"));
        Assert.Equal(0.0005, Get("mola_learning_rate"));
        Assert.Equal(0.4, Get("mola_model_flops_utilization_ratio"));
        Assert.Equal(0.01, Get("mola_aux_loss", "kind=\"z\""));
        Assert.Equal(0.5, Get("mola_aux_loss", "kind=\"contrastive\""));
        Assert.Contains("# TYPE mola_expert_tokens_total counter", lines);
        Assert.Equal(30, Get("mola_expert_tokens_total", "expert=\"1\"", "layer=\"3\"", "module=\"mlp\""));
        Assert.Equal(1.5, Get("mola_expert_load_imbalance_ratio", "layer=\"3\"", "module=\"mlp\""), 9);
        // counts 10, 30, 20, 20: mean 20, population std sqrt(50) = 7.071; p = 1/8, 3/8, 1/4, 1/4.
        Assert.Equal(Math.Sqrt(50) / 20, Get("mola_expert_load_cv_ratio", "layer=\"3\"", "module=\"mlp\""), 9);
        var entropy = -(0.125 * Math.Log(0.125) + 0.375 * Math.Log(0.375) + 2 * 0.25 * Math.Log(0.25));
        Assert.Equal(entropy, Get("mola_router_entropy", "layer=\"3\"", "module=\"mlp\""), 9);
        Assert.Equal(0.25, Get("mola_collective_seconds_total", "op=\"all_to_all\""), 9);
        Assert.Equal(2097152, Get("mola_collective_bytes_total", "op=\"all_to_all\""));
    }

    [Fact]
    public void Load_statistics_of_balanced_collapsed_and_empty_routing()
    {
        Assert.Equal((1.0, 0.0, Math.Log(4)), TrainingMetrics.LoadStatistics([5, 5, 5, 5], 20, 5));
        var (imbalance, variation, entropy) = TrainingMetrics.LoadStatistics([0, 0, 12, 0], 12, 12);
        Assert.Equal(4.0, imbalance, 12);
        Assert.Equal(Math.Sqrt(3), variation, 12);
        Assert.Equal(0.0, entropy, 12);
        Assert.Equal((1.0, 0.0, Math.Log(3)), TrainingMetrics.LoadStatistics([0, 0, 0], 0, 0));
    }

    [Fact]
    public void Rejects_bad_input_naming_the_field()
    {
        using var metrics = new TrainingMetrics("MoLA.Training.Test." + Guid.NewGuid().ToString("N"));
        Assert.Contains("aux, contrastive, z", Assert.Throws<ArgumentException>(() => metrics.RecordAux("load", 1)).Message);
        Assert.Equal("counts", Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordExpertTokens(0, "mlp", [1, -1])).ParamName);
        Assert.Equal("seconds", Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordStep(1, double.NaN, 0, 0, 0)).ParamName);
        Assert.Equal("bytes", Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordCollective("all_reduce", 0, -1)).ParamName);
        Assert.Equal("planned", Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordProgress(5, 4)).ParamName);
        Assert.Equal("rank", Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingMetrics("x", rank: -1)).ParamName);
    }

    [Fact]
    public void Without_NVML_no_GPU_memory_gauge_is_added()
    {
        // This machine has no NVIDIA driver: the gauges must be skipped, not fail the run.
        if (File.Exists("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1")) return;
        using var meter = new System.Diagnostics.Metrics.Meter("MoLA.Gpu.Test." + Guid.NewGuid().ToString("N"));
        Assert.False(GpuMemory.TryObserve(meter, []));
    }
}
