using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace MoLA.Torch.Tests.Distributed;

/// <summary>
/// Tests in this collection run one at a time and never beside other tests: they start
/// processes, bind ports and assert on timings.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DistributedCollection
{
    public const string Name = "Distributed";
}

/// <summary>One running rank of tests/MoLA.Collectives.Worker, its stdout kept line by line.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    public WorkerProcess(string scenario, int rank, int size, int port, int timeoutMs, params string[] extra)
    {
        Rank = rank;
        var psi = new ProcessStartInfo(WorkerRunner.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(WorkerRunner.WorkerDll);
        foreach (var a in new[] { "--scenario", scenario, "--rank", $"{rank}", "--size", $"{size}", "--port", $"{port}", "--timeout-ms", $"{timeoutMs}" })
            psi.ArgumentList.Add(a);
        foreach (var a in extra) psi.ArgumentList.Add(a);
        var lib = Environment.GetEnvironmentVariable("MOLA_TORCH_LIB");
        if (!string.IsNullOrWhiteSpace(lib)) psi.Environment["MOLA_TORCH_LIB"] = lib;
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            _lines.Enqueue(e.Data);
            _lineArrived.Release();
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) _errors.Enqueue(e.Data);
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Rank { get; }
    public IReadOnlyCollection<string> Lines => _lines;
    public string Stderr => string.Join("\n", _errors);
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The JSON after "RESULT " (null when the worker printed none).</summary>
    public JsonElement? Result => Tagged("RESULT ");

    /// <summary>The JSON after "ERROR " (null when the worker printed none).</summary>
    public JsonElement? Error => Tagged("ERROR ");

    /// <summary>Waits for a stdout line matching <paramref name="match"/>; false at the deadline or when the process ended first.</summary>
    public async Task<bool> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_lines.Any(match)) return true;
            if (_process.HasExited)
            {
                // Output may still be draining.
                await _process.WaitForExitAsync();
                return _lines.Any(match);
            }
            await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(50));
        }
        return _lines.Any(match);
    }

    /// <summary>Waits for the process to exit; false at the deadline (the process is then killed).</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            Kill();
            return false;
        }
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public string Describe() =>
        $"rank {Rank} ({(_process.HasExited ? $"exit {_process.ExitCode}" : "running")})\n  stdout: {string.Join("\n    ", _lines)}\n  stderr: {Stderr}";

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _lineArrived.Dispose();
    }

    private JsonElement? Tagged(string tag)
    {
        var line = _lines.LastOrDefault(l => l.StartsWith(tag, StringComparison.Ordinal));
        return line is null ? null : JsonDocument.Parse(line[tag.Length..]).RootElement.Clone();
    }
}

internal static class WorkerRunner
{
    private static readonly Lazy<string> Dll = new(FindWorkerDll);
    private static readonly Lazy<string> Host = new(FindDotnetHost);

    public static string WorkerDll => Dll.Value;
    public static string DotnetHost => Host.Value;

    public static int FreePort() => MoLA.TestSupport.LoopbackPorts.Free();

    /// <summary>Starts ranks 0..size-1 of a scenario on a fresh port.</summary>
    public static WorkerProcess[] Start(string scenario, int size, int timeoutMs, Func<int, string[]>? extra = null)
    {
        var port = FreePort();
        var ranks = new WorkerProcess[size];
        try
        {
            for (var r = 0; r < size; r++)
                ranks[r] = new WorkerProcess(scenario, r, size, port, timeoutMs, extra?.Invoke(r) ?? []);
        }
        catch
        {
            foreach (var w in ranks) w?.Dispose();
            throw;
        }
        return ranks;
    }

    public static string Describe(IEnumerable<WorkerProcess> ranks) => string.Join("\n", ranks.Select(w => w.Describe()));

    private static string FindWorkerDll()
    {
        const string name = "MoLA.Collectives.Worker.dll";
        var env = Environment.GetEnvironmentVariable("MOLA_COLLECTIVES_WORKER");
        if (!string.IsNullOrWhiteSpace(env)) return env;
        var candidates = new List<string>();
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        candidates.Add(Path.Combine(here.FullName, name));
        // tests/MoLA.Torch.Tests/bin/<Configuration>/<tfm>/ -> tests/MoLA.Collectives.Worker/bin/<Configuration>/<tfm>/
        var tfm = here.Name;
        var configuration = here.Parent?.Name;
        for (var dir = here; dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "MoLA.Distributed.sln"))) continue;
            var bin = Path.Combine(dir.FullName, "tests", "MoLA.Collectives.Worker", "bin");
            if (configuration is not null) candidates.Add(Path.Combine(bin, configuration, tfm, name));
            foreach (var c in new[] { "Debug", "Release" }) candidates.Add(Path.Combine(bin, c, tfm, name));
            break;
        }
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                $"{name} not found (looked in: {string.Join(", ", candidates)}); build tests/MoLA.Collectives.Worker or set MOLA_COLLECTIVES_WORKER");
    }

    private static string FindDotnetHost()
    {
        var candidates = new List<string?>
        {
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"),
            Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : null,
            Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } root ? Path.Combine(root, "dotnet") : null,
        };
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            candidates.Add(Path.Combine(dir, "dotnet"));
        return candidates.FirstOrDefault(c => c is not null && File.Exists(c)) ?? "dotnet";
    }
}
