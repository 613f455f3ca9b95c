namespace MoLA.Deploy.Tests;

/// <summary>
/// Bad values are refused before anything is rendered: by values.schema.json (helm lint names the value's path) or,
/// for the one rule a schema cannot express across keys, by the chart's own check (the database source).
/// </summary>
public sealed class ChartValuesValidationTests
{
    [Theory]
    [InlineData("workers.gpusPerPod=-1", "/workers/gpusPerPod")]
    [InlineData("cluster.provider=mysql", "/cluster/provider")]
    [InlineData("silo.replicas=0", "/silo/replicas")]
    [InlineData("ports.api=70000", "/ports/api")]
    [InlineData("runVolume.size=lots", "/runVolume/size")]
    [InlineData("runVolume.mountPath=runs", "/runVolume/mountPath")]
    [InlineData("metrics.serviceMonitor.interval=often", "/metrics/serviceMonitor/interval")]
    [InlineData("podSecurityContext.runAsNonRoot=false", "/podSecurityContext/runAsNonRoot")]
    [InlineData("image.pullPolicy=Sometimes", "/image/pullPolicy")]
    [InlineData("workers.gpuPerPod=8", "additional properties 'gpuPerPod' not allowed")]
    [InlineData("cluster.clusterId=bad id!", "/cluster/clusterId")]
    [InlineData("workers.resources.limits.memory=a lot", "/workers/resources/limits/memory")]
    public async Task SchemaRefusesTheValueNamingIt(string set, string field)
    {
        var run = await Tools.Run(Tools.Helm, ["lint", "--strict", Tools.Chart, "--set", set]);
        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains(field, run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgresql.enabled=false")]
    [InlineData("database.connectionString=Host=db;Database=mola")]
    [InlineData("database.existingSecret=mine")]
    public async Task ExactlyOneDatabaseSource(string set)
    {
        // The defaults have one (the bundled PostgreSQL): turning it off leaves none, adding another makes two.
        var run = await Tools.Run(Tools.Helm, ["template", "mola", Tools.Chart, "--set", set]);
        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains("database: set exactly one of database.existingSecret, database.connectionString, postgresql.enabled", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BundledPostgresqlNeedsTheProviderPostgres()
    {
        var run = await Tools.Run(Tools.Helm, ["template", "mola", Tools.Chart, "--set", "cluster.provider=redis"]);
        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains("postgresql.enabled: the bundled PostgreSQL needs cluster.provider postgres", run.Stderr, StringComparison.Ordinal);
    }
}
