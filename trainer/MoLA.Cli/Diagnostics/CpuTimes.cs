using System.Globalization;

namespace MoLA.Cli.Diagnostics;

/// <summary>
/// Whole-machine CPU time counters from the first line of /proc/stat (clock ticks), to say how busy
/// the machine was around a benchmark and how much time the hypervisor stole from this VM.
/// </summary>
internal readonly record struct CpuTimes(long Busy, long Idle, long Steal)
{
    public long Total => Busy + Idle + Steal;

    /// <summary>Null where /proc/stat is not readable (not Linux).</summary>
    public static CpuTimes? Read()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            if (line is null) return null;
            // cpu user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            if (f.Length < 8) return null;
            return new CpuTimes(f[0] + f[1] + f[2] + f[5] + f[6], f[3] + f[4], f[7]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>Share of all CPUs' time between two readings that was busy (0..1).</summary>
    public static double? BusyShare(CpuTimes? from, CpuTimes? to) => Share(from, to, t => t.Busy);

    /// <summary>Share of all CPUs' time between two readings that the hypervisor stole (0..1).</summary>
    public static double? StealShare(CpuTimes? from, CpuTimes? to) => Share(from, to, t => t.Steal);

    private static double? Share(CpuTimes? from, CpuTimes? to, Func<CpuTimes, long> part)
    {
        if (from is not { } a || to is not { } b) return null;
        var total = b.Total - a.Total;
        return total <= 0 ? null : Math.Round((double)(part(b) - part(a)) / total, 3);
    }
}
