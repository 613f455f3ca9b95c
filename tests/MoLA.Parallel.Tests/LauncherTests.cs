using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MoLA.Parallel.Tests;

[Collection(SerialCollection.Name)]
public sealed class LauncherTests
{
    private static LaunchOptions Options(int nproc, params string[] args) => new()
    {
        NProc = nproc,
        MasterPort = Ranks.FreePort(),
        Program = Ranks.Dotnet,
        Arguments = [Ranks.WorkerDll, .. args],
        Timeout = TimeSpan.FromSeconds(5),
    };

    [Fact]
    public void NprocMustEqualDpTimesEpBeforeAnythingStarts()
    {
        var started = 0;
        var o = Options(3) with { DataParallel = 2, ExpertParallel = 2, OnStarted = (_, _) => started++ };
        var e = Assert.Throws<ParallelConfigException>(() => Launcher.Run(o));
        Assert.Equal("--nproc: 3 processes do not match --dp 2 x --ep 2 = 4", e.Message);
        Assert.Equal(0, started);
    }

    [Fact]
    public void ABadPlacementTableIsRefusedBeforeAnythingStarts()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """{ "0": [[0, 1], [3]] }""");
            var started = 0;
            var o = Options(2) with { ExpertParallel = 2, PlacementFile = file, OnStarted = (_, _) => started++ };
            var e = Assert.Throws<ParallelConfigException>(() => Launcher.Run(o));
            Assert.Contains("expert 2 is missing", e.Message);
            Assert.Equal(0, started);
            var missing = o with { PlacementFile = file + ".none" };
            Assert.Contains("does not exist", Assert.Throws<ParallelConfigException>(() => Launcher.Run(missing)).Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void APortInUseIsRefusedBeforeAnythingStarts()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var started = 0;
            var o = Options(2) with { MasterPort = port, OnStarted = (_, _) => started++ };
            var e = Assert.Throws<ParallelConfigException>(() => Launcher.Run(o));
            Assert.Contains($"port {port} on 127.0.0.1 is already in use", e.Message);
            Assert.Equal(0, started);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public void KillingOneRankMidStepEndsEveryRankWithAnErrorNamingIt()
    {
        var pids = new ConcurrentDictionary<int, int>();
        var lines = new ConcurrentQueue<string>();
        var killedAt = (Stopwatch?)null;
        var o = Options(2, "--steps", "200", "--sleep-ms", "50") with
        {
            OnStarted = (r, pid) => pids[r] = pid,
            OnOutput = (r, line) =>
            {
                lines.Enqueue($"[{r}] {line}");
                if (r == 1 && line == "STEP 3" && killedAt is null)
                {
                    killedAt = Stopwatch.StartNew();
                    Process.GetProcessById(pids[1]).Kill();  // SIGKILL: no cleanup, sockets closed by the OS
                }
            },
        };
        var result = Launcher.Run(o);
        var log = string.Join("\n", lines);
        Assert.NotNull(killedAt);
        Assert.Equal(LaunchResult.RankFailedExitCode, result.ExitCode);
        Assert.Equal(1, result.FailedRank);
        Assert.StartsWith($"rank 1 (pid {pids[1]}) was killed by signal 9 (SIGKILL)", result.Message);
        // The survivor stopped on its own with a collective error that names the dead rank, within the timeout.
        Assert.Equal(3, result.RankExitCodes[0]);
        Assert.Contains("rank 0 exited with code 3", result.Message);
        Assert.Contains(lines, l => l.StartsWith("[0] ERROR", StringComparison.Ordinal) && l.Contains("cause: rank 1 (pid", StringComparison.Ordinal));
        Assert.True(killedAt!.Elapsed < o.Timeout + TimeSpan.FromSeconds(3), $"took {killedAt.Elapsed} after the kill\n{log}");
    }
}
