using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;

namespace MoLA.Telemetry.Tests;

/// <summary>The OpenTelemetry Prometheus exporter behind <see cref="MetricsServer"/>, over real HTTP on loopback.</summary>
public sealed class MetricsServerTests
{
    private static string UniqueMeter() => "MoLA.Telemetry.Tests." + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Serves_counter_gauge_updown_and_histogram_under_Prometheus_names()
    {
        string meterName = UniqueMeter();
        using var meter = new Meter(meterName);
        using var server = MetricsServer.Start(0, meterName);
        Assert.NotEqual(0, server.Port);
        Assert.Equal($"http://127.0.0.1:{server.Port}/metrics", server.Url.ToString());

        meter.CreateCounter<long>("http.requests", "{request}", "Requests served.").Add(3, new KeyValuePair<string, object?>("path", "/a\"b"));
        meter.CreateGauge<double>("room.temperature", "Cel", "Temperature.").Record(21.5);
        var queue = meter.CreateUpDownCounter<long>("queue_depth", null, "Items queued.");
        queue.Add(5);
        queue.Add(-2);
        var latency = meter.CreateHistogram<double>("rpc.latency", "s", "RPC latency.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        foreach (var v in new[] { 0.05, 0.5, 3 }) latency.Record(v, new KeyValuePair<string, object?>("op", "get"));

        var lines = await Scrape.Lines(server.Url);
        Assert.Contains("# TYPE http_requests_total counter", lines);
        Assert.Contains(lines, l => l.StartsWith("http_requests_total{", StringComparison.Ordinal) && l.Contains("path=\"/a\\\"b\"", StringComparison.Ordinal) && Scrape.Value(l) == 3);
        Assert.Contains(lines, l => l.StartsWith("room_temperature_celsius", StringComparison.Ordinal) && Scrape.Value(l) == 21.5);
        Assert.Equal(3, Scrape.Single(lines, "queue_depth"));
        Assert.Contains("# TYPE rpc_latency_seconds histogram", lines);
        Assert.Equal(1, Scrape.Single(lines, "rpc_latency_seconds_bucket", "le=\"0.1\""));
        Assert.Equal(2, Scrape.Single(lines, "rpc_latency_seconds_bucket", "le=\"1\""));
        Assert.Equal(3, Scrape.Single(lines, "rpc_latency_seconds_bucket", "le=\"+Inf\""));
        Assert.Equal(3.55, Scrape.Single(lines, "rpc_latency_seconds_sum"), 9);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var missing = await http.GetAsync(new Uri($"http://127.0.0.1:{server.Port}/other"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Counters_are_cumulative_and_each_scrape_is_current()
    {
        string meterName = UniqueMeter();
        using var meter = new Meter(meterName);
        using var server = MetricsServer.Start(0, meterName);
        var c = meter.CreateCounter<double>("work_seconds_total", "s");
        c.Add(1.5);
        Assert.Equal(1.5, Scrape.Single(await Scrape.Lines(server.Url), "work_seconds_total"));
        c.Add(2);
        Assert.Equal(3.5, Scrape.Single(await Scrape.Lines(server.Url), "work_seconds_total"));
    }

    [Fact]
    public void A_port_in_use_gives_an_error_naming_the_port()
    {
        var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        try
        {
            int port = ((IPEndPoint)blocker.LocalEndpoint).Port;
            var e = Assert.Throws<InvalidOperationException>(() => MetricsServer.Start(port, UniqueMeter()));
            Assert.Equal($"port {port} on 127.0.0.1 is already in use; choose another port or 0 for a free one", e.Message);
        }
        finally
        {
            blocker.Stop();
        }
    }

    [Fact]
    public async Task Dispose_stops_listening()
    {
        var server = MetricsServer.Start(0, UniqueMeter());
        var url = server.Url;
        server.Dispose();
        server.Dispose();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(url));
    }
}
