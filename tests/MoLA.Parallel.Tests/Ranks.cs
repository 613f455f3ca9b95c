using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using MoLA.Parallel.Benchmarks;

namespace MoLA.Parallel.Tests;

/// <summary>Tests that start processes, bind ports or seed libtorch's global generator run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Parallel serial";
}

/// <summary>Starts the ranks of a worker job the Kubernetes way (RANK, WORLD_SIZE, MASTER_* in the environment).</summary>
internal static class Ranks
{
    private static readonly Lazy<string> Dll = new(() =>
    {
        var here = Path.Combine(AppContext.BaseDirectory, "MoLA.Parallel.Worker.dll");
        return File.Exists(here) ? here : throw new FileNotFoundException($"worker not found at {here}; build tests/MoLA.Parallel.Tests");
    });

    public static string WorkerDll => Dll.Value;

    public static string Dotnet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h
        : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    public static int FreePort() => MoLA.TestSupport.LoopbackPorts.Free();

    /// <summary>Runs world ranks with the given env extras and worker arguments; returns each rank's result file.</summary>
    public static TinyRunResult[] Run(int world, int ep, string[] args, string dir, TimeSpan limit, string? placement = null)
    {
        Directory.CreateDirectory(dir);
        var port = FreePort();
        var procs = new List<(Process P, ConcurrentQueue<string> Out)>();
        try
        {
            for (var r = 0; r < world; r++)
            {
                var psi = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                psi.ArgumentList.Add(WorkerDll);
                foreach (var a in args) psi.ArgumentList.Add(a);
                psi.ArgumentList.Add("--out");
                psi.ArgumentList.Add(Path.Combine(dir, "rank{rank}.json"));
                psi.Environment["RANK"] = r.ToString();
                psi.Environment["WORLD_SIZE"] = world.ToString();
                psi.Environment["MASTER_ADDR"] = "127.0.0.1";
                psi.Environment["MASTER_PORT"] = port.ToString();
                psi.Environment["MOLA_EP"] = ep.ToString();
                psi.Environment["MOLA_TIMEOUT_MS"] = "30000";
                if (placement is not null) psi.Environment["MOLA_PLACEMENT"] = placement;
                var p = new Process { StartInfo = psi };
                var q = new ConcurrentQueue<string>();
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) q.Enqueue(e.Data); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) q.Enqueue(e.Data); };
                p.Start();
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                procs.Add((p, q));
            }
            var watch = Stopwatch.StartNew();
            foreach (var (p, _) in procs)
                if (!p.WaitForExit(Math.Max(1, (int)(limit - watch.Elapsed).TotalMilliseconds))) break;
            var report = string.Join("\n", procs.Select((x, r) => $"rank {r}: {(x.P.HasExited ? $"exit {x.P.ExitCode}" : "running")}: {string.Join(" | ", x.Out.TakeLast(5))}"));
            Assert.True(procs.All(x => x.P.HasExited && x.P.ExitCode == 0), report);
            return Enumerable.Range(0, world)
                .Select(r => JsonSerializer.Deserialize<TinyRunResult>(File.ReadAllText(Path.Combine(dir, $"rank{r}.json")))!).ToArray();
        }
        finally
        {
            foreach (var (p, _) in procs)
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.Dispose();
            }
        }
    }
}
