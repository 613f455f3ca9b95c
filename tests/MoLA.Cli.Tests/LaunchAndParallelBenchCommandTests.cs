using System.Text.Json;

namespace MoLA.Cli.Tests;

public sealed class LaunchAndParallelBenchCommandTests
{
    [Fact]
    public void Launch_refuses_nproc_that_is_not_dp_times_ep_with_exit_2()
    {
        var run = Cli.InProcess("launch", "--nproc", "3", "--dp", "2", "--ep", "2", "--", "train");
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains("--nproc: 3 processes do not match --dp 2 x --ep 2 = 4", run.Stderr);
        Assert.DoesNotContain("[rank", run.Stderr);
    }

    [Fact]
    public void Launch_refuses_port_0()
    {
        var run = Cli.InProcess("launch", "--nproc", "2", "--master-port", "0", "--", "doctor");
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains("--master-port: must be a TCP port 1 .. 65535, got 0", run.Stderr);
    }

    [Fact]
    public void Launch_starts_every_rank_as_mola_and_exits_4_naming_the_rank_that_failed()
    {
        // Every rank is `mola doctor --threads 0`, which exits 2: the launcher reports the first.
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        var run = Cli.ChildProcess(new Dictionary<string, string>(), "launch", "--nproc", "2", "--master-port", $"{port}", "--", "doctor", "--threads", "0");
        Assert.True(run.ExitCode == 4, run.ToString());
        Assert.Matches(@"mola launch: rank [01] \(pid \d+\) exited with code 2", run.Stderr);
        Assert.Contains("[rank 0] mola: error:", run.Stderr);
        Assert.Contains("[rank 1] mola: error:", run.Stderr);
    }

    [Fact]
    public void Bench_allreduce_reports_positive_bandwidth_per_size_as_json()
    {
        var run = Cli.InProcess("bench", "allreduce", "--quick", "--json");
        Assert.True(run.ExitCode == ExitCodes.Ok, run.ToString());
        using var doc = JsonDocument.Parse(run.Stdout);
        var samples = doc.RootElement.GetProperty("samples").EnumerateArray().ToList();
        Assert.Equal([4096L, 65536L, 1048576L], samples.Select(s => s.GetProperty("bytes").GetInt64()));
        Assert.All(samples, s => Assert.True(s.GetProperty("algorithmic_g_bps").GetDouble() > 0, s.ToString()));
    }
}
