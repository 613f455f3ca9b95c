using System.Text.Json;

namespace MoLA.Cli.Tests;

/// <summary>One PromQL target of a panel of a shipped Grafana dashboard.</summary>
internal sealed record PanelQuery(string Dashboard, string Panel, string RefId, string Expr)
{
    public override string ToString() => $"{Dashboard} / {Panel} / {RefId}: {Expr}";
}

/// <summary>Reads the Grafana dashboards the Helm chart ships (copied next to the tests) and their panels' queries.</summary>
internal static class GrafanaDashboards
{
    public static readonly string[] Files = ["training.json", "experts.json", "cluster.json", "sweeps.json"];

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "dashboards");

    /// <summary>Every target of every panel (rows' nested panels included), with Grafana variables replaced.</summary>
    public static List<PanelQuery> Queries(IReadOnlyDictionary<string, string> variables)
    {
        var queries = new List<PanelQuery>();
        foreach (var file in Files)
        {
            var path = Path.Combine(Directory, file);
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var panels = doc.RootElement.GetProperty("panels").EnumerateArray()
                .SelectMany(p => p.TryGetProperty("panels", out var nested) ? nested.EnumerateArray().Prepend(p) : [p]);
            foreach (var panel in panels)
            {
                if (!panel.TryGetProperty("targets", out var targets)) continue;
                foreach (var target in targets.EnumerateArray())
                {
                    var expr = target.GetProperty("expr").GetString()!;
                    // Longest names first: $run must not eat the start of a longer $runner.
                    foreach (var (name, value) in variables.OrderByDescending(v => v.Key.Length))
                        expr = expr.Replace("$" + name, value, StringComparison.Ordinal);
                    Assert.False(expr.Contains('$'), $"{file}: panel '{panel.GetProperty("title").GetString()}' uses a variable the test does not set: {expr}");
                    queries.Add(new PanelQuery(file, panel.GetProperty("title").GetString()!, target.GetProperty("refId").GetString()!, expr));
                }
            }
        }
        return queries;
    }
}
