using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace MoLA.Cli.Tests;

/// <summary>
/// A `mola cluster` or `mola silo` as a real child process: started, waited for until /readyz answers 200, stopped with
/// SIGTERM (as systemd or Kubernetes do), then SIGKILL if it does not stop within 20 s. Its output is kept for messages.
/// </summary>
internal sealed class SiloProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private SiloProcess(Process process) => _process = process;

    public int ApiPort { get; private init; }
    public string Url => $"http://127.0.0.1:{ApiPort}";

    public string Output { get { lock (_output) return _output.ToString(); } }

    public static SiloProcess Start(int apiPort, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Cli.MolaDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var silo = new SiloProcess(Process.Start(psi)!) { ApiPort = apiPort };
        silo._process.OutputDataReceived += (_, e) => { lock (silo._output) silo._output.AppendLine(e.Data); };
        silo._process.ErrorDataReceived += (_, e) => { lock (silo._output) silo._output.AppendLine(e.Data); };
        silo._process.BeginOutputReadLine();
        silo._process.BeginErrorReadLine();
        try
        {
            silo.WaitReady();
        }
        catch
        {
            silo.Dispose();
            throw;
        }
        return silo;
    }

    /// <summary>Starts it and expects it to exit on its own (a refused configuration): returns the exit code and output.</summary>
    public static (int ExitCode, string Output) RunToExit(params string[] args)
    {
        var run = Cli.ChildProcess(new Dictionary<string, string>(), args);
        return (run.ExitCode, run.Stdout + run.Stderr);
    }

    private void WaitReady()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) Assert.Fail($"the silo exited with {_process.ExitCode}:\n{Output}");
            try
            {
                if (http.GetAsync($"{Url}/readyz").GetAwaiter().GetResult().StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            Thread.Sleep(200);
        }
        Assert.Fail($"the silo was not ready within 60 s:\n{Output}");
    }

    /// <summary>SIGKILL to the silo and its children together, as when the machine dies.</summary>
    public void KillTree()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Idempotent: a cluster helper may dispose a silo it already replaced (or that failed to start).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
            if (!_process.WaitForExit(20_000)) _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit();
        _process.Dispose();
    }
}
