using NcclSharp;

namespace NcclSharp.Tests;

/// <summary>
/// A fact that needs a CUDA GPU and libnccl.so.2. Elsewhere (CPU CI machines) it is reported as
/// skipped with the concrete reason, rather than passing vacuously or failing on a missing library.
/// </summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public GpuFactAttribute()
    {
        var reason = GpuEnvironment.SkipReason;
        if (reason is not null)
        {
            Skip = reason;
        }
    }
}

/// <summary>Decides once per test run whether GPU tests can run here.</summary>
public static class GpuEnvironment
{
    private static readonly Lazy<string?> s_skipReason = new(ComputeSkipReason);

    /// <summary>Null when a CUDA GPU and libnccl.so.2 are both usable; otherwise why not.</summary>
    public static string? SkipReason => s_skipReason.Value;

    private static string? ComputeSkipReason()
    {
        if (!CudaRuntime.TryGetDeviceCount(out var count, out var failure))
        {
            return $"no CUDA GPU on this machine (cudaGetDeviceCount unavailable: {Shorten(failure)}); NCCL tests need one";
        }

        if (count == 0)
        {
            return "no CUDA GPU on this machine (cudaGetDeviceCount=0); NCCL tests need one";
        }

        if (!Nccl.IsAvailable)
        {
            return $"libnccl.so.2 not available ({Shorten(Nccl.UnavailableReason)}); set NCCL_LIBRARY to its full path to run the NCCL GPU tests";
        }

        return null;
    }

    // The loader's messages repeat .NET's long diagnostic hint for every attempt; keep the gist.
    private static string Shorten(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "unknown reason";
        }

        return text.Length <= 600 ? text : text[..600] + "...";
    }
}
