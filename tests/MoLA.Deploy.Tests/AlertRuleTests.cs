using YamlDotNet.RepresentationModel;

namespace MoLA.Deploy.Tests;

/// <summary>
/// The alert rules (helm/mola-distributed/files/rules/*.yaml): `promtool check rules`, the promtool unit tests in
/// files/rules-tests/ (each alert fires on its series and stays silent on a healthy job), and the PrometheusRule the
/// chart renders carries every rule of the files.
/// </summary>
public sealed class AlertRuleTests
{
    private static string[] RuleFiles => Directory.GetFiles(Path.Combine(Tools.Chart, "files", "rules"), "*.yaml").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task PromtoolChecksTheRules()
    {
        Assert.NotEmpty(RuleFiles);
        var run = await Tools.Run(Tools.Promtool, ["check", "rules", .. RuleFiles]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("SUCCESS: 6 rules found", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromtoolUnitTestsPass()
    {
        var dir = Path.Combine(Tools.Chart, "files", "rules-tests");
        var tests = Directory.GetFiles(dir, "*.test.yaml");
        Assert.NotEmpty(tests);
        var run = await Tools.Run(Tools.Promtool, ["test", "rules", .. tests.Select(Path.GetFileName)!], workingDirectory: dir);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("SUCCESS", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryAlertIsUnitTested()
    {
        var tests = string.Concat(Directory.GetFiles(Path.Combine(Tools.Chart, "files", "rules-tests"), "*.test.yaml").Select(File.ReadAllText));
        foreach (var alert in AlertsOfFiles())
            Assert.Contains($"alertname: {alert}\n", tests, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task PrometheusRuleEmbedsEveryRule()
    {
        var m = new Manifests(await Tools.Template(sets: ["metrics.prometheusRule.enabled=true"]));
        var rule = m.Get("PrometheusRule", "mola-mola-distributed");
        var rendered = Y.Seq(rule, "spec", "groups").SelectMany(g => Y.Seq(g, "rules")).Select(r => Y.Str(r, "alert")).ToList();
        Assert.Equal(AlertsOfFiles().Order(StringComparer.Ordinal), rendered.Order(StringComparer.Ordinal));
        Assert.Contains(Y.Seq(rule, "spec", "groups").SelectMany(g => Y.Seq(g, "rules")),
            r => Y.Str(r, "alert") == "MolaExpertCollapse" && Y.Str(r, "for") == "15m" && Y.Str(r, "labels", "severity") == "warning");
    }

    private static List<string> AlertsOfFiles()
    {
        var alerts = new List<string>();
        foreach (var file in RuleFiles)
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(file)));
            alerts.AddRange(Y.Seq(stream.Documents[0].RootNode, "groups").SelectMany(g => Y.Seq(g, "rules")).Select(r => Y.Str(r, "alert")!));
        }
        return alerts;
    }
}
