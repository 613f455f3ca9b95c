using YamlDotNet.RepresentationModel;

namespace MoLA.Deploy.Tests;

/// <summary>
/// The chart's silo.yaml and the flags of its StatefulSets are settings `mola silo` knows: `mola silo` refuses unknown
/// keys, so a key the CLI renamed would crash every pod; this catches it here.
/// </summary>
public sealed class SiloConfigTests
{
    [Fact]
    public async Task EveryKeyAndFlagIsAMolaSiloSetting()
    {
        var mola = Path.Combine(AppContext.BaseDirectory, "mola.dll");
        var help = await Tools.Run("dotnet", ["exec", mola, "silo", "--help"]);
        Assert.True(help.ExitCode == 0, help.ToString());

        var m = new Manifests(await Tools.Template(sets: ["workers.threadsPerSlot=4"]));
        var yaml = new YamlStream();
        yaml.Load(new StringReader(Y.Str(m.Get("ConfigMap", "mola-mola-distributed-silo"), "data", "silo.yaml")!));
        var keys = ((YamlMappingNode)yaml.Documents[0].RootNode).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();
        Assert.Contains("kubernetes", keys);
        var flags = m.OfKind("StatefulSet").Where(s => Y.Str(s, "spec", "template", "metadata", "labels", "mola.dev/silo") == "true")
            .SelectMany(s => Y.Seq(Y.Seq(s, "spec", "template", "spec", "containers")[0], "args"))
            .Select(a => ((YamlScalarNode)a).Value!).Where(a => a.StartsWith("--", StringComparison.Ordinal)).Select(a => a[2..]).Distinct().ToList();
        Assert.Contains("threads-per-slot", flags);
        foreach (var setting in keys.Concat(flags))
            Assert.True(help.Stdout.Contains($"--{setting} ", StringComparison.Ordinal), $"`mola silo` has no setting '{setting}':\n{help.Stdout}");
    }
}
