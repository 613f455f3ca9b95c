namespace MoLA.Deploy.Tests;

/// <summary>
/// files/dashboards/*.json become one ConfigMap each, with the Grafana sidecar's label (configurable); none without
/// files. Checked on a copy of the chart whose dashboards directory the test fills, so it holds whatever dashboards
/// the chart ships.
/// </summary>
public sealed class DashboardConfigMapTests : IDisposable
{
    private readonly string _chart = Path.Combine(Directory.CreateTempSubdirectory("mola-chart-").FullName, "mola-distributed");

    public DashboardConfigMapTests()
    {
        CopyDirectory(Tools.Chart, _chart);
        foreach (var f in Directory.GetFiles(Path.Combine(_chart, "files", "dashboards"))) File.Delete(f);
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_chart)!, recursive: true);

    private const string Training = """{"title": "MoLA training", "uid": "mola-training", "schemaVersion": 39, "panels": []}""";
    private const string Experts = """{"title": "MoLA experts", "uid": "mola-experts", "schemaVersion": 39, "panels": []}""";

    [Fact]
    public async Task OneConfigMapPerDashboardFile()
    {
        await File.WriteAllTextAsync(Path.Combine(_chart, "files", "dashboards", "training.json"), Training);
        await File.WriteAllTextAsync(Path.Combine(_chart, "files", "dashboards", "experts.json"), Experts);
        // Not a dashboard: only *.json is.
        await File.WriteAllTextAsync(Path.Combine(_chart, "files", "dashboards", "README.md"), "notes");
        var m = new Manifests(await Tools.Template(chart: _chart));
        var maps = m.OfKind("ConfigMap").Where(c => Y.Str(c, "metadata", "labels", "grafana_dashboard") == "1").ToList();
        Assert.Equal(2, maps.Count);
        var training = m.Get("ConfigMap", "mola-mola-distributed-dashboard-training");
        Assert.Equal(Training, Y.Str(training, "data", "training.json"));
        Assert.Equal("MoLA", Y.Str(training, "metadata", "annotations", "grafana_folder"));
        Assert.Equal("ml", Y.Str(training, "metadata", "namespace"));
        Assert.Equal(Experts, Y.Str(m.Get("ConfigMap", "mola-mola-distributed-dashboard-experts"), "data", "experts.json"));

        // The label, its value and the namespace are the sidecar's settings.
        var custom = new Manifests(await Tools.Template(chart: _chart, sets: ["dashboards.label=grafana_dash", "dashboards.labelValue=yes", "dashboards.namespace=monitoring"]));
        var customMaps = custom.OfKind("ConfigMap").Where(c => Y.Str(c, "metadata", "labels", "grafana_dash") == "yes").ToList();
        Assert.Equal(2, customMaps.Count);
        Assert.All(customMaps, c => Assert.Equal("monitoring", Y.Str(c, "metadata", "namespace")));

        var off = new Manifests(await Tools.Template(chart: _chart, sets: ["dashboards.enabled=false"]));
        Assert.DoesNotContain(off.OfKind("ConfigMap"), c => Y.At(c, "metadata", "labels", "grafana_dashboard") is not null);
    }

    [Fact]
    public async Task NoDashboardFilesNoConfigMaps()
    {
        var m = new Manifests(await Tools.Template(chart: _chart));
        Assert.DoesNotContain(m.OfKind("ConfigMap"), c => Y.At(c, "metadata", "labels", "grafana_dashboard") is not null);
        Assert.Single(m.OfKind("ConfigMap"));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
