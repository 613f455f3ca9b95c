using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;

namespace MoLA.Telemetry.Tests;

public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Serves_metrics_over_http_with_the_text_format_content_type()
    {
        string meterName = "MoLA.Telemetry.Http." + Guid.NewGuid().ToString("N");
        using var meter = new Meter(meterName);
        using var endpoint = MetricsEndpoint.Start(0, meterName);
        var counter = meter.CreateCounter<long>("scrapes_seen_total");
        counter.Add(7); // measurements before the provider starts listening are not seen
        Assert.NotEqual(0, endpoint.Port);
        Assert.Equal($"http://127.0.0.1:{endpoint.Port}/metrics", endpoint.Url.ToString());

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync(endpoint.Url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE scrapes_seen_total counter\nscrapes_seen_total 7\n", body);

        using var missing = await http.GetAsync(new Uri($"http://127.0.0.1:{endpoint.Port}/other"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public void A_port_in_use_gives_an_error_naming_the_port()
    {
        var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        try
        {
            int port = ((IPEndPoint)blocker.LocalEndpoint).Port;
            var e = Assert.Throws<InvalidOperationException>(() => MetricsEndpoint.Start(port));
            Assert.Contains($"port {port}", e.Message);
            Assert.Contains("in use", e.Message);
        }
        finally
        {
            blocker.Stop();
        }
    }

    [Fact]
    public async Task Dispose_stops_listening()
    {
        var endpoint = MetricsEndpoint.Start(0, "MoLA.Telemetry.Stop." + Guid.NewGuid().ToString("N"));
        var url = endpoint.Url;
        endpoint.Dispose();
        endpoint.Dispose();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(url));
    }
}
