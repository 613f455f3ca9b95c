using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MoLA.Grains;

namespace MoLA.Silo;

/// <summary>
/// After a silo (re)starts, wakes every running sweep at once: its grain's durable reminder would do it too, but only
/// within a minute (Orleans' shortest reminder period), and meanwhile no trial would start. Jobs need no such help:
/// their node agents report to them as soon as the silo answers. Idempotent, so every silo of a cluster may do it.
/// </summary>
public sealed class SweepResumer(IGrainFactory grains, IHostApplicationLifetime lifetime, ILogger<SweepResumer> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        if (!await HostStart.WaitAsync(lifetime, stop)) return;
        for (var attempt = 0; attempt < 30 && !stop.IsCancellationRequested; attempt++)
        {
            try
            {
                var resumed = 0;
                foreach (var id in await grains.GetGrain<IJobCatalogGrain>(Catalogs.Sweeps).List())
                {
                    var sweep = grains.GetGrain<ISweepGrain>(id);
                    if (await sweep.GetStatus() is not { State: SweepState.Running }) continue;
                    await sweep.Advance();
                    resumed++;
                }
                if (resumed > 0) log.LogInformation("Resumed {Count} running sweep(s)", resumed);
                return;
            }
            catch (Exception e) when (!stop.IsCancellationRequested && e is not OutOfMemoryException)
            {
                log.LogWarning("Resuming the running sweeps failed, retrying: {Error}", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}
