using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace MoLA.Grains.Tests;

/// <summary>A real in-process Orleans cluster (TestingHost: two silos, in-memory storage and reminders).</summary>
public sealed class ClusterFixture : IDisposable
{
    public TestCluster Cluster { get; }

    public ClusterFixture()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        Cluster.Deploy();
    }

    public IGrainFactory Grains => Cluster.GrainFactory;

    public void Dispose() => Cluster.StopAllSilos();

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            silo.AddMemoryGrainStorage(StorageNames.Grains);
            silo.UseInMemoryReminderService();
            silo.Services.Configure<ControlPlaneOptions>(o =>
            {
                o.SchedulerPeriod = TimeSpan.FromMilliseconds(200);
                o.WatchdogPeriod = TimeSpan.FromMilliseconds(200);
                o.NodeSilentAfter = TimeSpan.FromSeconds(3);
                o.DrainTimeout = TimeSpan.FromSeconds(3);
                o.SweepPeriod = TimeSpan.FromMilliseconds(200);
            });
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "orleans";
}
