using MoLA.Torch;

namespace MoLA.Parallel.Tests;

/// <summary>
/// A fact that needs what the NCCL backend needs: a CUDA build of libmola_torch, a CUDA GPU, libcudart and
/// libnccl.so.2. Elsewhere it is reported as skipped with the first thing missing (on CPU machines:
/// "no CUDA GPU ..."), never passed vacuously.
/// </summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (CudaEnvironment.SkipReason is { } reason) Skip = reason;
    }
}

public static class CudaEnvironment
{
    private static readonly Lazy<string?> Reason = new(() =>
    {
        try
        {
            CollectiveBackends.EnsureNcclUsable(Device.CUDA(0));
            return null;
        }
        catch (ParallelConfigException e)
        {
            return $"NCCL backend tests need a CUDA GPU with NCCL: {e.Message}";
        }
    });

    /// <summary>Null when the NCCL backend can run here; otherwise why not (checked once per run).</summary>
    public static string? SkipReason => Reason.Value;
}
