using System.Text;
using MoLA.Reporting.Page;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Sweeps.Page;

/// <summary>Assembles the sweep page: leaderboard and verdicts, accuracy, loss curves, allocations and expert load, excluded trials.</summary>
internal static class SweepPage
{
    // No network: the browser may load nothing but what is inline.
    private const string Csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

    private const string Css = """
        .side-by-side { display: flex; flex-wrap: wrap; gap: 0.5em 1.5em; align-items: flex-start; }
        .side-by-side figure { margin: 0.5em 0; }
        ul.verdicts li, p.mirror { margin: 0.25em 0; } p.mirror { font-weight: 600; }
        p.mirror[data-outcome="supported"] { color: #1b6d1b; } p.mirror[data-outcome="contradicted"] { color: #a32020; }
        .interval-chart .value, .interval-chart .name { fill: #222; }
        table.leaderboard { font-size: 90%; } table.leaderboard td.name { font-weight: 600; } table.leaderboard .entry { display: block; font-weight: normal; color: #555; font-size: 90%; }
        table.leaderboard .ci { display: block; }
        """;

    public static string Render(SweepInput input, SweepResults results, IReadOnlyDictionary<string, IReadOnlyList<LoadedTrial>> trials, DateTimeOffset generated)
    {
        var page = new SweepPageContext(input, results, trials);
        var title = $"MoLA sweep {(string.IsNullOrWhiteSpace(results.Name) ? results.SweepId : results.Name)}";
        var sb = new StringBuilder(64 * 1024);
        sb.Append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
          .Append($"<meta http-equiv=\"Content-Security-Policy\" content=\"{Csp}\"/>\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
          .Append($"<title>{Esc(title)}</title>\n<style>\n{PageAssets.Css}\n{Css}\n</style>\n</head>\n")
          .Append($"<body data-mode=\"sweep\" data-configurations=\"{results.Configurations.Count}\">\n<header>\n<h1>{Esc(title)}</h1>\n")
          .Append($"<p class=\"meta\">Sweep {Esc(results.SweepId)}: {results.Configurations.Count} configurations, ")
          .Append($"{input.Trials?.Count ?? 0} trials, ranked by {Esc(results.Metric)} accuracy. Written by <code>mola sweep report</code> ")
          .Append($"at {Esc(generated.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Inv))} UTC.</p>\n")
          .Append("<nav><a href=\"#leaderboard\">leaderboard</a><a href=\"#accuracy\">accuracy</a><a href=\"#training\">loss curves</a>")
          .Append("<a href=\"#allocation\">allocation and expert load</a><a href=\"#excluded\">excluded trials</a></nav>\n</header>\n<main>\n");
        LeaderboardSection.Write(sb, page);
        AccuracySection.Write(sb, page);
        LossSection.Write(sb, page);
        AllocationSection.Write(sb, page);
        ExcludedSection.Write(sb, page);
        // The CDATA markers are JavaScript comments to an HTML parser and hide the script's '<' from an XML one.
        sb.Append("</main>\n<script>//<![CDATA[\n").Append(PageAssets.Script).Append("\n//]]></script>\n</body>\n</html>\n");
        return sb.ToString();
    }
}
