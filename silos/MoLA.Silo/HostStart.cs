using Microsoft.Extensions.Hosting;

namespace MoLA.Silo;

/// <summary>
/// Hosted services start before the silo accepts grain calls: the ones that call grains wait for the application to
/// have started (calling earlier only collects placement retries).
/// </summary>
internal static class HostStart
{
    /// <summary>True once the application has started; false when <paramref name="stop"/> came first.</summary>
    public static async Task<bool> WaitAsync(IHostApplicationLifetime lifetime, CancellationToken stop)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stop.Register(() => started.TrySetCanceled()))
        {
            try { await started.Task; }
            catch (TaskCanceledException) { return false; }
        }
        return true;
    }
}
