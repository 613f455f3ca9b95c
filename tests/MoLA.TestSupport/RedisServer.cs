using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace MoLA.TestSupport;

/// <summary>
/// Debian's real redis-server (installed by ./mola's bootstrap) on a free loopback port, in a temporary directory,
/// without persistence. Disposing kills it and removes the directory.
/// </summary>
public sealed class RedisServer : IDisposable
{
    public const string ExecutablePath = "/usr/bin/redis-server";

    private readonly Process _process;
    private readonly string _dir;
    private readonly StringBuilder _log = new();

    private RedisServer()
    {
        _dir = Directory.CreateTempSubdirectory("mola-redis-").FullName;
        Port = LoopbackPorts.Free();
        var psi = new ProcessStartInfo(ExecutablePath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--dir", _dir, "--save", "", "--appendonly", "no", "--protected-mode", "no" })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Port { get; }

    /// <summary>StackExchange.Redis connection string.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static RedisServer Start()
    {
        var server = new RedisServer();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (server._process.HasExited)
            {
                var message = $"redis-server exited with {server._process.ExitCode}: {server.Log}";
                server.Dispose();
                throw new InvalidOperationException(message);
            }
            try
            {
                using var client = new TcpClient();
                client.Connect("127.0.0.1", server.Port);
                return server;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        server.Dispose();
        throw new TimeoutException("redis-server did not listen within 20 s");
    }

    public string Log { get { lock (_log) return _log.ToString(); } }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
