using System.Net;
using System.Net.Sockets;

namespace MoLA.TestSupport;

/// <summary>Loopback ports for tests that start servers (TCPStore, /metrics, Prometheus).</summary>
public static class LoopbackPorts
{
    /// <summary>A port nothing listens on right now (bound to port 0, then released).</summary>
    public static int Free()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
