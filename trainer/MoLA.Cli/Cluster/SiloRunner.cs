using MoLA.Cli.Commands;
using MoLA.Silo;

namespace MoLA.Cli.Cluster;

/// <summary>Runs a silo host in this process until Ctrl-C / SIGTERM; the rank program is this `mola` itself.</summary>
internal static class SiloRunner
{
    public static int Run(SiloOptions options, TextWriter output, TextWriter error)
    {
        WebApplicationHandle app;
        try
        {
            app = new WebApplicationHandle(SiloHost.Build(options, new TrainJobValidator(), MoLA.Cli.SelfProgram.Get()));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        using var cancel = new CancellationTokenSource();
        using var signals = StopSignals.Register(cancel, error);
        try
        {
            app.App.StartAsync(cancel.Token).GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            throw new UsageException($"api-port: cannot listen on {options.ApiAddress}:{options.ApiPort}: {e.Message}");
        }
        new ClusterEndpoint(options.ApiUrl, options.ResolvedTokenFile).Save(options.StateDirectory);
        output.WriteLine($"mola silo {options.NodeName}: API {options.ApiUrl}  token file {options.ResolvedTokenFile}");
        output.WriteLine($"  run root {options.RunRoot}  state {options.StateDirectory}  {(options.Agent ? $"{options.CpuSlots} CPU slots" : "no agent")}");
        output.WriteLine("  Ctrl-C stops it (running ranks get SIGTERM and checkpoint)");
        output.Flush();
        try
        {
            cancel.Token.WaitHandle.WaitOne();
        }
        finally
        {
            app.App.StopAsync().GetAwaiter().GetResult();
            app.App.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return ExitCodes.Ok;
    }

    private sealed record WebApplicationHandle(Microsoft.AspNetCore.Builder.WebApplication App);
}
