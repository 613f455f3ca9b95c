using System.Net;
using System.Net.Sockets;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace MoLA.Telemetry;

/// <summary>
/// Serves the given meters in Prometheus text format at <c>http://127.0.0.1:{Port}/metrics</c>: an OpenTelemetry
/// MeterProvider with a pull reader, and a minimal HTTP/1.1 server (one request per connection). Dispose stops both.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    private const int MaxRequestHeaderBytes = 16 * 1024;
    private readonly TcpListener listener;
    private readonly MeterProvider provider;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task acceptLoop;
    private int disposed;

    private MetricsEndpoint(TcpListener listener, MeterProvider provider, PrometheusExporter exporter)
    {
        this.listener = listener;
        this.provider = provider;
        Exporter = exporter;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Url = new Uri($"http://127.0.0.1:{Port}/metrics");
        acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The bound TCP port (the one picked when 0 was asked for).</summary>
    public int Port { get; }

    /// <summary>The scrape URL, <c>http://127.0.0.1:{Port}/metrics</c>.</summary>
    public Uri Url { get; }

    /// <summary>The exporter; <see cref="PrometheusExporter.Scrape"/> renders without HTTP.</summary>
    public PrometheusExporter Exporter { get; }

    /// <summary>
    /// Starts the endpoint on loopback. <paramref name="port"/> 0 picks a free port (see <see cref="Port"/>);
    /// <paramref name="meterNames"/> defaults to <see cref="TrainingMetrics.MeterName"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The port is in use or cannot be bound; the message names it.</exception>
    public static MetricsEndpoint Start(int port = 0, params string[] meterNames)
    {
        if (port is < 0 or > IPEndPoint.MaxPort)
            throw new ArgumentOutOfRangeException(nameof(port), port, $"metrics port must be 0..{IPEndPoint.MaxPort}");
        if (meterNames is null || meterNames.Length == 0) meterNames = [TrainingMetrics.MeterName];

        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, false);
        try
        {
            listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener.Dispose();
            throw new InvalidOperationException(
                $"metrics endpoint: port {port} on 127.0.0.1 is already in use; choose another port or 0 for a free one", e);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new InvalidOperationException($"metrics endpoint: cannot listen on 127.0.0.1:{port}: {e.Message}", e);
        }

        var exporter = new PrometheusExporter();
        var reader = new BaseExportingMetricReader(exporter);
        exporter.Collect ??= reader.Collect;
        MeterProvider? provider = null;
        try
        {
            provider = Sdk.CreateMeterProviderBuilder().AddMeter(meterNames).AddReader(reader).Build();
            return new MetricsEndpoint(listener, provider, exporter);
        }
        catch
        {
            provider?.Dispose();
            listener.Stop();
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Renders the current metrics without HTTP.</summary>
    public string Scrape() => Exporter.Scrape();

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        stopping.Cancel();
        listener.Stop();
        try { acceptLoop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        listener.Dispose();
        provider.Dispose();
        stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var stream = client.GetStream();
            string? head = await ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false);
            if (head is null) return;
            string[] requestLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
            if (requestLine.Length != 3)
            {
                await RespondAsync(stream, 400, "Bad Request", "text/plain; charset=utf-8", "malformed request line\n", false, timeout.Token).ConfigureAwait(false);
                return;
            }
            string method = requestLine[0], target = requestLine[1];
            int query = target.IndexOf('?', StringComparison.Ordinal);
            string path = query < 0 ? target : target[..query];
            if (path != "/metrics")
            {
                await RespondAsync(stream, 404, "Not Found", "text/plain; charset=utf-8", "not found; metrics are at /metrics\n", method == "HEAD", timeout.Token).ConfigureAwait(false);
                return;
            }
            if (method != "GET" && method != "HEAD")
            {
                await RespondAsync(stream, 405, "Method Not Allowed", "text/plain; charset=utf-8", "use GET\n", false, timeout.Token).ConfigureAwait(false);
                return;
            }
            string body;
            try
            {
                body = Exporter.Scrape();
            }
            catch (InvalidOperationException e)
            {
                await RespondAsync(stream, 503, "Service Unavailable", "text/plain; charset=utf-8", e.Message + "\n", method == "HEAD", timeout.Token).ConfigureAwait(false);
                return;
            }
            await RespondAsync(stream, 200, "OK", PrometheusText.ContentType, body, method == "HEAD", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Client went away, timed out, or we are stopping.
        }
    }

    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var buf = new byte[4096];
        var head = new MemoryStream();
        while (head.Length < MaxRequestHeaderBytes)
        {
            int n = await stream.ReadAsync(buf, ct).ConfigureAwait(false);
            if (n == 0) return null;
            head.Write(buf, 0, n);
            string text = Encoding.ASCII.GetString(head.GetBuffer(), 0, (int)head.Length);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal)) return text;
        }
        return null;
    }

    private static async Task RespondAsync(NetworkStream stream, int status, string reason, string contentType, string body, bool headOnly, CancellationToken ct)
    {
        byte[] payload = Encoding.UTF8.GetBytes(body);
        string header =
            $"HTTP/1.1 {status} {reason}\r\n" +
            $"Content-Type: {contentType}\r\n" +
            $"Content-Length: {payload.Length}\r\n" +
            "Connection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(header), ct).ConfigureAwait(false);
        if (!headOnly) await stream.WriteAsync(payload, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }
}
