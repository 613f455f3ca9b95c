namespace MoLA.Cli.Diagnostics;

/// <summary>The CPU as this process sees it.</summary>
internal sealed record CpuInfo(string Model, int LogicalCores, int OnlineProcessors, IReadOnlyList<string> VectorFlags)
{
    private static readonly string[] InterestingFlags = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "amx_tile"];

    public static CpuInfo Read()
    {
        var model = "unknown";
        var processors = 0;
        var flags = new List<string>();
        if (File.Exists("/proc/cpuinfo"))
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0) continue;
                var key = line[..colon].Trim();
                var value = line[(colon + 1)..].Trim();
                if (key == "processor") processors++;
                else if (key == "model name" && model == "unknown") model = value;
                else if (key == "flags" && flags.Count == 0)
                {
                    var have = value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
                    flags.AddRange(InterestingFlags.Where(have.Contains));
                }
            }
        }
        // ProcessorCount honours the affinity mask and cgroup CPU limits: the cores we may use.
        return new CpuInfo(model, Environment.ProcessorCount, processors, flags);
    }
}
