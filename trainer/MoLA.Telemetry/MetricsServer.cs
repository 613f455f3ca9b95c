using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace MoLA.Telemetry;

/// <summary>
/// Serves meters at <c>http://127.0.0.1:{Port}/metrics</c> with OpenTelemetry's Prometheus exporter on a minimal
/// Kestrel app (the silo serves its /metrics the same way). Dispose stops it.
/// </summary>
public sealed class MetricsServer : IDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private MetricsServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
        Url = new Uri($"http://127.0.0.1:{port}/metrics");
    }

    /// <summary>The bound TCP port (the one picked when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>The scrape URL, <c>http://127.0.0.1:{Port}/metrics</c>.</summary>
    public Uri Url { get; }

    /// <summary>
    /// Starts serving on loopback. <paramref name="port"/> 0 picks a free port (see <see cref="Port"/>);
    /// <paramref name="meterNames"/> defaults to <see cref="TrainingMetrics.MeterName"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The port is in use or cannot be bound; the message names it.</exception>
    public static MetricsServer Start(int port = 0, params string[] meterNames)
    {
        if (port is < 0 or > IPEndPoint.MaxPort)
            throw new ArgumentOutOfRangeException(nameof(port), port, $"metrics port must be 0..{IPEndPoint.MaxPort}");
        if (meterNames is null || meterNames.Length == 0) meterNames = [TrainingMetrics.MeterName];

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "mola-metrics", Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("mola-train")) // target_info's service_name
            .WithMetrics(m => m
            .AddMeter(meterNames)
            // No response cache: a scrape right after a step shows that step (Prometheus scrapes at its own pace).
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new InvalidOperationException(e.InnerException is AddressInUseException
                ? $"port {port} on 127.0.0.1 is already in use; choose another port or 0 for a free one"
                : $"cannot listen on 127.0.0.1:{port}: {e.Message}", e);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new MetricsServer(app, new Uri(address).Port);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _app.StopAsync().GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
