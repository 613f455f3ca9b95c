using MoLA.Torch;

namespace MoLA.Cli.Benchmarks;

/// <summary>One timed batch of calls on the C# side.</summary>
internal readonly record struct OverheadSample(double NsPerCall, double BytesPerCall, int Gen0Collections);

/// <summary>
/// Times many calls of a small op the way a MoLA.Torch training loop runs them: inside a
/// <see cref="DisposeScope"/> that is disposed (releasing every result) every
/// <see cref="ScopeEvery"/> calls, so memory stays flat. The clock covers the calls and the scope
/// disposals, as Python's timing covers the calls and the reference-count releases. The wall clock
/// is the Stopwatch's; see <see cref="BenchClock"/> for the alternative.
/// </summary>
internal static class OverheadTimer
{
    public const int ScopeEvery = 100;

    public static OverheadSample Measure(Action call, int iterations, BenchClock clock = BenchClock.Wall)
    {
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "need at least one iteration");
        var bytes0 = GC.GetAllocatedBytesForCurrentThread();
        var gen0 = GC.CollectionCount(0);
        var start = clock.NowNs();
        var done = 0;
        while (done < iterations)
        {
            var n = Math.Min(ScopeEvery, iterations - done);
            using (torch.NewDisposeScope())
            {
                for (var i = 0; i < n; i++) call();
            }
            done += n;
        }
        var elapsedNs = clock.NowNs() - start;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - bytes0;
        return new OverheadSample((double)elapsedNs / iterations, (double)bytes / iterations, GC.CollectionCount(0) - gen0);
    }
}
