using System.Text;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Page;

/// <summary>Assembles the page: header, summary, training curves, evaluation, then allocation and load per run.</summary>
internal static class ReportPage
{
    // No network: the browser may load nothing but what is inline.
    private const string Csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

    public static string Render(IReadOnlyList<ReportRun> runs, string source, DateTimeOffset generated)
    {
        if (runs.Count == 0) throw new ArgumentException("a report needs at least one run", nameof(runs));
        var page = new PageContext(runs);
        var title = page.Comparing ? $"MoLA comparison of {runs.Count} runs" : $"MoLA run {runs[0].Label}";
        var sb = new StringBuilder(64 * 1024);
        sb.Append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
          .Append($"<meta http-equiv=\"Content-Security-Policy\" content=\"{Csp}\"/>\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
          .Append($"<title>{Esc(title)}</title>\n<style>\n{PageAssets.Css}\n</style>\n</head>\n")
          .Append($"<body data-runs=\"{runs.Count}\" data-mode=\"{(page.Comparing ? "comparison" : "single")}\">\n<header>\n<h1>{Esc(title)}</h1>\n")
          .Append($"<p class=\"meta\">Written by <code>mola report</code> from {Esc(source)} at {Esc(generated.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Inv))} UTC.</p>\n")
          .Append("<nav><a href=\"#summary\">summary</a><a href=\"#training\">training</a><a href=\"#evaluation\">evaluation</a>");
        for (var i = 0; i < runs.Count; i++)
            sb.Append($"<a href=\"#run-{i + 1}\">{(page.Comparing ? Esc(runs[i].Label) : "allocation and expert load")}</a>");
        sb.Append("</nav>\n</header>\n<main>\n");
        SummarySection.Write(sb, page);
        TrainingSection.Write(sb, page);
        EvaluationSection.Write(sb, page);
        RunSection.Write(sb, page);
        // The CDATA markers are JavaScript comments to an HTML parser and hide the script's '<' from an XML one.
        sb.Append("</main>\n<script>//<![CDATA[\n").Append(PageAssets.Script).Append("\n//]]></script>\n</body>\n</html>\n");
        return sb.ToString();
    }
}
