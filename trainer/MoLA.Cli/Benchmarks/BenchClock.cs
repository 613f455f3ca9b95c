using System.Diagnostics;
using System.Runtime.InteropServices;

namespace MoLA.Cli.Benchmarks;

/// <summary>
/// What the small-op timings count. <see cref="Wall"/> (the default) is elapsed time, what a user
/// waits for. <see cref="ThreadCpu"/> is the CPU time of the calling thread only
/// (CLOCK_THREAD_CPUTIME_ID on both sides): on a shared, oversubscribed machine it leaves out the
/// time the thread sat preempted, so the C#/Python ratio stays meaningful. Small ops run on the
/// calling thread; GEMM always uses the wall clock (its work is on OpenBLAS's threads).
/// </summary>
internal enum BenchClock { Wall, ThreadCpu }

internal static partial class BenchClocks
{
    public static string Name(this BenchClock clock) => clock == BenchClock.Wall ? "wall" : "thread-cpu";

    public static BenchClock Parse(string text) => text switch
    {
        "wall" => BenchClock.Wall,
        "thread-cpu" => BenchClock.ThreadCpu,
        _ => throw new ArgumentException($"unknown clock '{text}' (wall, thread-cpu)", nameof(text)),
    };

    /// <summary>A reading in nanoseconds; only differences between two readings of the same clock mean anything.</summary>
    public static long NowNs(this BenchClock clock)
    {
        if (clock == BenchClock.Wall)
            return (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
        if (clock_gettime(ClockThreadCpuTimeId, out var ts) != 0)
            throw new InvalidOperationException($"clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed (errno {Marshal.GetLastPInvokeError()})");
        return ts.Seconds * 1_000_000_000L + ts.Nanoseconds;
    }

    private const int ClockThreadCpuTimeId = 3; // Linux

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int clock_gettime(int clockId, out Timespec time);
}
