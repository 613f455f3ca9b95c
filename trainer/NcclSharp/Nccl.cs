namespace NcclSharp;

/// <summary>
/// Process-wide NCCL facts: whether libnccl.so.2 is usable here and which version it is.
/// </summary>
/// <remarks>
/// The trainer picks its collective backend from <see cref="IsAvailable"/> (NCCL on CUDA GPUs,
/// Gloo otherwise), so that check must be cheap, cached and never throw.
/// </remarks>
public static class Nccl
{
    private static readonly Lazy<(int Code, string? Reason)> s_state = new(Probe);

    /// <summary>True when libnccl.so.2 loads and answers ncclGetVersion. Never throws.</summary>
    public static bool IsAvailable => s_state.Value.Reason is null;

    /// <summary>Why NCCL cannot be used here (null when <see cref="IsAvailable"/> is true).</summary>
    public static string? UnavailableReason => s_state.Value.Reason;

    /// <summary>The raw NCCL_VERSION_CODE of the loaded library, e.g. 22703 for 2.27.3.</summary>
    /// <exception cref="NcclException">libnccl.so.2 is not available.</exception>
    public static int VersionCode
    {
        get
        {
            EnsureAvailable();
            return s_state.Value.Code;
        }
    }

    /// <summary>The version of the loaded libnccl.so.2 (major.minor.patch).</summary>
    /// <exception cref="NcclException">libnccl.so.2 is not available.</exception>
    public static Version Version => DecodeVersion(VersionCode);

    /// <summary>Throws the explanatory <see cref="NcclException"/> when NCCL cannot be used.</summary>
    public static void EnsureAvailable()
    {
        var reason = s_state.Value.Reason;
        if (reason is not null)
        {
            throw new NcclException(reason);
        }
    }

    /// <summary>
    /// Decodes NCCL_VERSION_CODE: X*1000+Y*100+Z up to 2.8, X*10000+Y*100+Z from 2.9 on
    /// (the two ranges do not overlap, so the code alone tells which encoding it uses).
    /// </summary>
    internal static Version DecodeVersion(int code)
    {
        return code >= 10000
            ? new Version(code / 10000, code % 10000 / 100, code % 100)
            : new Version(code / 1000, code % 1000 / 100, code % 100);
    }

    /// <summary>The message used when libnccl.so.2 cannot be loaded; says what to do about it.</summary>
    internal static string NotFoundMessage(string? probeDetails) =>
        $"{NativeLibraries.NcclName} was not found or could not be loaded ({probeDetails}). " +
        "NCCL is only for machines with NVIDIA CUDA GPUs: install the pip package nvidia-nccl-cu12 or " +
        $"nvidia-nccl-cu13 (it ships nvidia/nccl/lib/{NativeLibraries.NcclName}) and set " +
        $"{NativeLibraries.NcclPathVariable} to the full path of that file, or put its directory on " +
        "LD_LIBRARY_PATH. CPU-only runs use the Gloo backend instead of NCCL.";

    private static (int Code, string? Reason) Probe()
    {
        try
        {
            var probe = NativeLibraries.Nccl;
            if (!probe.IsLoaded)
            {
                return (0, NotFoundMessage(probe.Failure));
            }

            var result = NcclNative.GetVersion(out var code);
            if (result != NcclResult.Success)
            {
                return (0, $"{NativeLibraries.NcclName} loaded but ncclGetVersion returned {result.ToNcclName()}.");
            }

            return (code, null);
        }
        catch (Exception ex)
        {
            // A library that loads but lacks the symbol, or any other surprise: report, never throw.
            return (0, NotFoundMessage($"{ex.GetType().Name}: {ex.Message}"));
        }
    }
}
