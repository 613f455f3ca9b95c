using System.Diagnostics.Metrics;

namespace MoLA.Telemetry.Tests;

public sealed class PrometheusTextTests
{
    private static string UniqueMeter() => "MoLA.Telemetry.Tests." + Guid.NewGuid().ToString("N");

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Renders_counter_gauge_updown_and_histogram_exactly()
    {
        string meterName = UniqueMeter();
        using var meter = new Meter(meterName);
        using var endpoint = MetricsEndpoint.Start(0, meterName);

        var requests = meter.CreateCounter<long>("http.requests", "{request}", "Requests served.");
        requests.Add(3, new KeyValuePair<string, object?>("path", "/a\"b\\c\nd"));
        var temperature = meter.CreateGauge<double>("room.temperature", "Cel", "Line one\nline two \\ end");
        temperature.Record(21.5);
        var queue = meter.CreateUpDownCounter<long>("queue_depth", null, "Items queued.");
        queue.Add(5);
        queue.Add(-2);
        var latency = meter.CreateHistogram<double>("rpc.latency", "s", "RPC latency.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        latency.Record(0.05, new KeyValuePair<string, object?>("op", "get"));
        latency.Record(0.5, new KeyValuePair<string, object?>("op", "get"));
        latency.Record(3, new KeyValuePair<string, object?>("op", "get"));

        string text = endpoint.Scrape();
        string expected = string.Join('\n',
            "# HELP http_requests_total Requests served.",
            "# TYPE http_requests_total counter",
            "http_requests_total{path=\"/a\\\"b\\\\c\\nd\"} 3",
            "# HELP room_temperature_celsius Line one\\nline two \\\\ end",
            "# TYPE room_temperature_celsius gauge",
            "room_temperature_celsius 21.5",
            "# HELP queue_depth Items queued.",
            "# TYPE queue_depth gauge",
            "queue_depth 3",
            "# HELP rpc_latency_seconds RPC latency.",
            "# TYPE rpc_latency_seconds histogram",
            "rpc_latency_seconds_bucket{op=\"get\",le=\"0.1\"} 1",
            "rpc_latency_seconds_bucket{op=\"get\",le=\"1\"} 2",
            "rpc_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 3",
            "rpc_latency_seconds_sum{op=\"get\"} 3.55",
            "rpc_latency_seconds_count{op=\"get\"} 3") + "\n";
        Assert.Equal(expected, text);
    }

    [Fact]
    public void Counters_are_cumulative_across_scrapes()
    {
        string meterName = UniqueMeter();
        using var meter = new Meter(meterName);
        using var endpoint = MetricsEndpoint.Start(0, meterName);
        var c = meter.CreateCounter<double>("work_seconds_total", "s");
        c.Add(1.5);
        Assert.Contains("work_seconds_total 1.5\n", endpoint.Scrape());
        c.Add(2);
        Assert.Contains("work_seconds_total 3.5\n", endpoint.Scrape());
    }

    [Theory]
    [InlineData("mola_tokens_total", "{token}", "counter", "mola_tokens_total")]
    [InlineData("mola.tokens", "{token}", "counter", "mola_tokens_total")]
    [InlineData("mola_collective_seconds_total", "s", "counter", "mola_collective_seconds_total")]
    [InlineData("mola_collective_bytes", "By", "counter", "mola_collective_bytes_total")]
    [InlineData("step.duration", "s", "histogram", "step_duration_seconds")]
    [InlineData("step_duration_seconds", "s", "histogram", "step_duration_seconds")]
    [InlineData("mfu", "1", "gauge", "mfu_ratio")]
    [InlineData("hits", "1", "counter", "hits_total")]
    [InlineData("throughput", "By/s", "gauge", "throughput_bytes_per_second")]
    [InlineData("9lives--cat", "ms", "gauge", "_9lives_cat_milliseconds")]
    [InlineData("a:b", "", "gauge", "a:b")]
    public void Names_follow_the_OpenTelemetry_Prometheus_conventions(string name, string unit, string type, string expected) =>
        Assert.Equal(expected, PrometheusText.MetricName(name, unit, type));

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.0, "-2")]
    [InlineData(1e-7, "1E-07")]
    public void Formats_special_and_ordinary_values(double value, string expected) =>
        Assert.Equal(expected, PrometheusText.FormatDouble(value));

    [Fact]
    public void Sanitises_label_names()
    {
        Assert.Equal("http_method", PrometheusText.SanitizeLabelName("http.method"));
        Assert.Equal("a_b", PrometheusText.SanitizeLabelName("a:b"));
    }
}
