using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using MoLA.Silo;

namespace MoLA.Cli.Cluster;

/// <summary>
/// A one-node embedded cluster inside this process, on free loopback ports under a given directory, for the cluster
/// benchmarks and the demo: started and ready (its agent registered) when constructed, stopped when disposed.
/// </summary>
internal sealed class InProcessSilo : IDisposable
{
    private readonly WebApplication _app;

    /// <param name="runRoot">Where jobs and sweeps write (default: ROOT/state/runs).</param>
    public InProcessSilo(string root, int cpuSlots, string? runRoot = null, int threadsPerSlot = 1)
    {
        Options = new SiloOptions
        {
            NodeName = "local", StateDirectory = Path.Combine(root, "state"), RunRoot = runRoot ?? Path.Combine(root, "state", "runs"),
            SiloPort = FreePort(), GatewayPort = FreePort(), ApiPort = FreePort(), RendezvousPortStart = FreePort(), RendezvousPortCount = cpuSlots,
            CpuSlots = cpuSlots, ThreadsPerSlot = threadsPerSlot,
        };
        _app = SiloHost.Build(Options, new TrainJobValidator(), SelfProgram.Get(), logging => { });
        _app.StartAsync().GetAwaiter().GetResult();
        try
        {
            WaitReady(Options.ApiUrl);
        }
        catch
        {
            Dispose();
            throw;
        }
        Client = new ClusterClient(new ClusterEndpoint(Options.ApiUrl, Options.ResolvedTokenFile));
    }

    public SiloOptions Options { get; }
    public ClusterClient Client { get; } = null!;

    public void Dispose()
    {
        Client?.Dispose();
        _app.StopAsync().GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static void WaitReady(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                if (http.GetAsync(url + "/readyz").GetAwaiter().GetResult().StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            Thread.Sleep(50);
        }
        throw new InvalidOperationException("the in-process silo was not ready within 60 s");
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
