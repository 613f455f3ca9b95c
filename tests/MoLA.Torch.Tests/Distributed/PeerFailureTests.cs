using System.Diagnostics;
using System.Text.Json;

namespace MoLA.Torch.Tests.Distributed;

/// <summary>
/// A peer that stalls or dies must make the survivor fail within the group's timeout (plus
/// start-up and grace slack), with a message naming the op and rank; never a hang. Every
/// test enforces its own deadline and kills leftover processes.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class PeerFailureTests
{
    private const int TimeoutMs = 3000;
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);
    // The native wait's grace after the group timeout: max(500 ms, timeout / 4).
    private const int GraceMs = 750;
    // Slack for a loaded 2-core machine (scheduling, process teardown).
    private const int SlackMs = 2000;
    // From "READY" (or the peer's death) to the survivor's exit.
    private static readonly TimeSpan FailDeadline = TimeSpan.FromMilliseconds(TimeoutMs + GraceMs + 2 * SlackMs);

    [Fact]
    public async Task Stalled_peer_makes_the_survivor_time_out()
    {
        var ranks = WorkerRunner.Start("stall", 2, TimeoutMs, r => ["--seconds", "30"]);
        try
        {
            Assert.True(await ranks[0].WaitForLineAsync(l => l == "READY", StartDeadline), WorkerRunner.Describe(ranks));
            var clock = Stopwatch.StartNew();
            Assert.True(await ranks[0].WaitForExitAsync(FailDeadline),
                $"rank 0 did not fail within {FailDeadline.TotalSeconds} s of a stalled peer:\n{WorkerRunner.Describe(ranks)}");
            Assert.Equal(3, ranks[0].ExitCode);
            var error = ErrorOf(ranks[0], ranks);
            var message = error.GetProperty("message").GetString()!;
            Assert.True(error.GetProperty("isTimeout").GetBoolean(), message);
            Assert.Contains("AllReduce", message);
            Assert.Contains("timed out", message);
            Assert.Contains($"{TimeoutMs} ms", message);
            Assert.Contains("rank 0 of 2", message);
            var waited = error.GetProperty("elapsedMs").GetInt64();
            Assert.InRange(waited, TimeoutMs - 100, TimeoutMs + GraceMs + SlackMs);
            Assert.True(clock.Elapsed < FailDeadline);
            Assert.False(ranks[1].HasExited, "the stalled peer should still be alive:\n" + WorkerRunner.Describe(ranks));
        }
        finally
        {
            foreach (var w in ranks) w.Dispose();
        }
    }

    [Fact]
    public async Task Peer_exiting_abruptly_mid_run_fails_the_survivor()
    {
        var ranks = WorkerRunner.Start("die", 2, TimeoutMs, r => ["--die-at", "3"]);
        try
        {
            Assert.True(await ranks[1].WaitForLineAsync(l => l == "DYING", StartDeadline), WorkerRunner.Describe(ranks));
            Assert.True(await ranks[1].WaitForExitAsync(TimeSpan.FromSeconds(10)), WorkerRunner.Describe(ranks));
            Assert.Equal(17, ranks[1].ExitCode);
            await AssertSurvivorFailsAsync(ranks);
        }
        finally
        {
            foreach (var w in ranks) w.Dispose();
        }
    }

    [Fact]
    public async Task Peer_killed_mid_run_fails_the_survivor()
    {
        var ranks = WorkerRunner.Start("loop", 2, TimeoutMs, r => ["--seconds", "30"]);
        try
        {
            Assert.True(await ranks[1].WaitForLineAsync(l => l == "ITER 3", StartDeadline), WorkerRunner.Describe(ranks));
            ranks[1].Kill();  // SIGKILL, mid-loop
            await AssertSurvivorFailsAsync(ranks);
        }
        finally
        {
            foreach (var w in ranks) w.Dispose();
        }
    }

    private static async Task AssertSurvivorFailsAsync(WorkerProcess[] ranks)
    {
        var clock = Stopwatch.StartNew();
        Assert.True(await ranks[0].WaitForExitAsync(FailDeadline),
            $"rank 0 did not fail within {FailDeadline.TotalSeconds} s of its peer dying:\n{WorkerRunner.Describe(ranks)}");
        Assert.True(clock.Elapsed < FailDeadline);
        Assert.Equal(3, ranks[0].ExitCode);
        var error = ErrorOf(ranks[0], ranks);
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("AllReduce", message);
        Assert.Contains("rank 0 of 2", message);
        Assert.Contains($"timeout {TimeoutMs} ms", message);
        // A dead peer's sockets are closed by the OS, so Gloo usually reports that at once
        // ("Connection closed by peer" / "reset by peer"); a peer whose host vanished shows as a timeout.
        Assert.True(
            message.Contains("timed out", StringComparison.OrdinalIgnoreCase) ||
            message.Contains("closed by peer", StringComparison.OrdinalIgnoreCase) ||
            message.Contains("reset by peer", StringComparison.OrdinalIgnoreCase),
            message);
        Assert.InRange(error.GetProperty("elapsedMs").GetInt64(), 0, TimeoutMs + GraceMs + SlackMs);
    }

    private static JsonElement ErrorOf(WorkerProcess w, WorkerProcess[] all) =>
        w.Error ?? throw new Xunit.Sdk.XunitException("no ERROR line:\n" + WorkerRunner.Describe(all));
}
