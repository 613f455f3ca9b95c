using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel;

/// <summary>What `mola launch` starts: <see cref="NProc"/> copies of <see cref="Program"/> with <see cref="Arguments"/>.</summary>
public sealed record LaunchOptions
{
    public required int NProc { get; init; }
    public int? DataParallel { get; init; }
    public int? ExpertParallel { get; init; }
    public string MasterAddress { get; init; } = "127.0.0.1";
    public int MasterPort { get; init; } = 29500;
    /// <summary>Rendezvous and collective timeout of every rank; also how long survivors get to stop after a rank died.</summary>
    public TimeSpan Timeout { get; init; } = RendezvousInfo.DefaultTimeout;
    public string? PlacementFile { get; init; }
    public required string Program { get; init; }
    public IReadOnlyList<string> Arguments { get; init; } = [];
    /// <summary>Each line a rank prints (stdout and stderr), as (rank, line).</summary>
    public Action<int, string>? OnOutput { get; init; }
    /// <summary>Called once per started rank with its process id.</summary>
    public Action<int, int>? OnStarted { get; init; }
}

/// <summary>How a launch ended. <see cref="ExitCode"/>: 0 all ranks succeeded, <see cref="RankFailedExitCode"/> a rank failed.</summary>
public sealed record LaunchResult(int ExitCode, int? FailedRank, string Message, IReadOnlyList<int> RankExitCodes, TimeSpan Elapsed)
{
    public const int RankFailedExitCode = 4;
}

/// <summary>
/// Starts the ranks of a job on this machine, like torchrun. The launcher validates everything first
/// (nproc = dp x ep, the placement table, the port) and serves the TCPStore itself, so when a rank
/// dies it can post which one ("mola/failed") for the survivors' error messages. When a rank exits
/// with an error, the others get <see cref="LaunchOptions.Timeout"/> plus a grace period to stop on
/// their own (their collectives fail at once on a closed connection, at the latest after the timeout)
/// and are then killed; the result names the first rank that failed.
/// </summary>
public static class Launcher
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    /// <summary>Checks the options without starting anything; throws <see cref="ParallelConfigException"/> naming the field.</summary>
    public static ParallelTopology Validate(LaunchOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.NProc < 1) throw new ParallelConfigException("--nproc", $"must be at least 1, got {o.NProc}");
        ParallelTopology topology;
        if (o.DataParallel is { } dp && o.ExpertParallel is { } ep && (long)dp * ep != o.NProc)
            throw new ParallelConfigException("--nproc", $"{o.NProc} processes do not match --dp {dp} x --ep {ep} = {(long)dp * ep}");
        try
        {
            topology = ParallelTopology.Infer(o.NProc, o.DataParallel, o.ExpertParallel);
        }
        catch (ParallelConfigException e)
        {
            throw new ParallelConfigException(e.Field.StartsWith("--", StringComparison.Ordinal) ? e.Field : "--" + e.Field, e.Message[(e.Field.Length + 2)..]);
        }
        if (o.MasterPort is < 1 or > 65535) throw new ParallelConfigException("--master-port", $"must be a TCP port 1 .. 65535, got {o.MasterPort}");
        if (o.Timeout <= TimeSpan.Zero) throw new ParallelConfigException("--timeout", "must be positive");
        if (string.IsNullOrWhiteSpace(o.Program)) throw new ParallelConfigException("program", "nothing to launch");
        if (o.PlacementFile is { } file)
        {
            if (!File.Exists(file)) throw new ParallelConfigException("--placement", $"file '{file}' does not exist");
            ExpertPlacement.Load(file, topology.ExpertParallel);
        }
        if (!PortIsFree(o.MasterAddress, o.MasterPort))
            throw new ParallelConfigException("--master-port", $"port {o.MasterPort} on {o.MasterAddress} is already in use; pick another with --master-port");
        return topology;
    }

    private static bool PortIsFree(string host, int port)
    {
        var address = IPAddress.TryParse(host, out var a) ? a : IPAddress.Loopback;
        try
        {
            var l = new TcpListener(address, port);
            l.Start();
            l.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static LaunchResult Run(LaunchOptions o, CancellationToken cancel = default)
    {
        var topology = Validate(o);
        var watch = Stopwatch.StartNew();
        TcpStore store;
        try
        {
            store = TcpStore.CreateServer(o.MasterPort, o.Timeout, host: o.MasterAddress);
        }
        catch (StoreException e)
        {
            throw new ParallelConfigException("--master-port", $"cannot serve the rendezvous on {o.MasterAddress}:{o.MasterPort}: {e.NativeMessage}");
        }
        var processes = new Process[o.NProc];
        try
        {
            for (var r = 0; r < o.NProc; r++)
            {
                var info = new RendezvousInfo(r, topology, o.MasterAddress, o.MasterPort, o.Timeout, o.PlacementFile, StoreHostedByLauncher: true);
                processes[r] = Start(o, r, info);
            }
            return Monitor(o, processes, store, watch, cancel);
        }
        finally
        {
            foreach (var p in processes)
            {
                if (p is null) continue;
                try
                {
                    if (!p.HasExited) p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
                catch (InvalidOperationException)
                {
                }
                p.Dispose();
            }
            store.Dispose();
        }
    }

    private static Process Start(LaunchOptions o, int rank, RendezvousInfo info)
    {
        var psi = new ProcessStartInfo(o.Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in o.Arguments) psi.ArgumentList.Add(a);
        foreach (var (k, v) in info.ToEnvironment()) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi };
        var sink = o.OnOutput ?? ((r, line) => Console.Error.WriteLine($"[rank {r}] {line}"));
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) sink(rank, e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) sink(rank, e.Data); };
        try
        {
            p.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new ParallelConfigException("program", $"cannot start '{o.Program}': {e.Message}");
        }
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        o.OnStarted?.Invoke(rank, p.Id);
        return p;
    }

    private static LaunchResult Monitor(LaunchOptions o, Process[] ps, TcpStore store, Stopwatch watch, CancellationToken cancel)
    {
        int? failed = null;
        string? failure = null;
        Stopwatch? sinceFailure = null;
        var killed = new HashSet<int>();
        while (true)
        {
            for (var r = 0; r < ps.Length; r++)
            {
                if (failed is not null || !ps[r].HasExited || ps[r].ExitCode == 0) continue;
                failed = r;
                failure = $"rank {r} (pid {ps[r].Id}) {Describe(ps[r].ExitCode)}";
                sinceFailure = Stopwatch.StartNew();
                try
                {
                    store.Set(ParallelGroups.FailureKey, failure);
                }
                catch (StoreException)
                {
                }
            }
            if (ps.All(p => p.HasExited)) break;
            if (cancel.IsCancellationRequested && failed is null)
            {
                failed = -1;
                failure = "the launch was cancelled";
                sinceFailure = Stopwatch.StartNew();
            }
            if (sinceFailure is not null && sinceFailure.Elapsed > o.Timeout + Grace)
            {
                for (var r = 0; r < ps.Length; r++)
                    if (!ps[r].HasExited)
                    {
                        ps[r].Kill(entireProcessTree: true);
                        killed.Add(r);
                    }
                foreach (var p in ps) p.WaitForExit(5000);
                break;
            }
            Thread.Sleep(50);
        }
        foreach (var p in ps) p.WaitForExit();  // drain the output readers
        var codes = ps.Select(p => p.ExitCode).ToList();
        if (failed is null) return new LaunchResult(0, null, $"all {ps.Length} ranks finished", codes, watch.Elapsed);
        var others = string.Join(", ", Enumerable.Range(0, ps.Length).Where(r => r != failed).Select(r =>
            killed.Contains(r) ? $"rank {r} killed by the launcher after {o.Timeout.TotalSeconds:0.#} s + grace"
            : $"rank {r} {Describe(codes[r])}"));
        return new LaunchResult(LaunchResult.RankFailedExitCode, failed < 0 ? null : failed,
            $"{failure}; {(others.Length > 0 ? others : "no other ranks")}", codes, watch.Elapsed);
    }

    private static string Describe(int code) => code switch
    {
        0 => "finished",
        > 128 and < 160 => $"was killed by signal {code - 128}{(code - 128 == 9 ? " (SIGKILL)" : code - 128 == 15 ? " (SIGTERM)" : "")}",
        _ => $"exited with code {code.ToString(CultureInfo.InvariantCulture)}",
    };
}
