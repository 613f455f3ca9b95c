using System.Runtime.InteropServices;

namespace MoLA.Torch.Native;

/// <summary>
/// Which OpenBLAS kernel family ("core") runs our matmuls. Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and
/// falls back to generic kernels: on an Intel Sapphire Rapids it ran Prescott (SSE3) kernels at 27 GFLOP/s where
/// SkylakeX gave 166 (python3-torch, 2 threads, 2048^2 fp32, same minute). So before libtorch loads, unless the user set
/// OPENBLAS_CORETYPE (or MOLA_OPENBLAS_CORETYPE=default), the loader sets it to the best family the CPU's flags
/// support: AVX-512 (F, BW, VL, DQ) -> SkylakeX (it beat Cooperlake on Intel, 166 vs 148; on AMD Zen 5 the two were
/// within noise), AVX2 + FMA -> Zen on AMD, Haswell on Intel (on an AMD AVX2 machine Zen, Haswell and OpenBLAS's own
/// choice all gave 122-134 GFLOP/s). `mola doctor` shows the result and checks it numerically.
/// </summary>
public static class OpenBlasCore
{
    public const string Variable = "OPENBLAS_CORETYPE";
    public const string OptOut = "MOLA_OPENBLAS_CORETYPE";

    /// <summary>How the core was chosen: "user" (OPENBLAS_CORETYPE was set), "auto" (set by us), "openblas" (left to OpenBLAS).</summary>
    public static string Source { get; private set; } = "openblas";

    private static int _selected;

    /// <summary>The family this CPU supports best, from /proc/cpuinfo (null when unknown or without AVX2).</summary>
    public static string? Best { get; } = BestFor(CpuInfo());

    /// <summary>Generic fallbacks: a sign that OpenBLAS did not recognise the CPU.</summary>
    public static bool IsGeneric(string core) =>
        core is "Prescott" or "Core2" or "Katmai" or "Coppermine" or "Northwood" or "Penryn" or "Dunnington" or "Nehalem" or "Atom"
            or "Opteron" or "Opteron_SSE3" or "Barcelona" or "Generic" or "unknown";

    internal static string? BestFor(string cpuinfo)
    {
        var flagsLine = cpuinfo.Split('\n').FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        if (flagsLine is null) return null;
        var flags = flagsLine[(flagsLine.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        if (flags.IsSupersetOf(["avx512f", "avx512bw", "avx512vl", "avx512dq"])) return "SkylakeX";
        if (!flags.IsSupersetOf(["avx2", "fma"])) return null;
        return cpuinfo.Contains("AuthenticAMD", StringComparison.Ordinal) ? "Zen" : "Haswell";
    }

    /// <summary>Called once by the loader before libtorch (and with it OpenBLAS) is loaded.</summary>
    internal static void SelectBeforeLoad(Func<string, string, int> setenv)
    {
        // The resolver may run more than once; after the first, OPENBLAS_CORETYPE is ours, not the user's.
        if (Interlocked.Exchange(ref _selected, 1) == 1) return;
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 })
        {
            Source = "user";
            return;
        }
        if (Environment.GetEnvironmentVariable(OptOut) is "default" || Best is null) return;
        if (setenv(Variable, Best) != 0) return;
        // Child processes (python3-torch in benchmarks and tests, the ranks of a launch) get .NET's copy of the
        // environment: the same kernels on both sides of a comparison.
        Environment.SetEnvironmentVariable(Variable, Best);
        Source = "auto";
    }

    /// <summary>The core OpenBLAS runs now (openblas_get_corename), or null when OpenBLAS is not loaded (e.g. MKL).</summary>
    public static unsafe string? InUse()
    {
        foreach (var name in new[] { "libopenblas.so.0", "libopenblasp.so.0" })
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "openblas_get_corename", out var export)) continue;
            var text = ((delegate* unmanaged<sbyte*>)export)();
            return text is null ? null : new string(text).Trim();
        }
        return null;
    }

    private static string CpuInfo()
    {
        try { return File.ReadAllText("/proc/cpuinfo"); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
