using System.Text;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Sweeps.Page;

/// <summary>Trials left out of the statistics (failed, stopped, cancelled, unfinished) with their reasons.</summary>
internal static class ExcludedSection
{
    public static void Write(StringBuilder sb, SweepPageContext page)
    {
        var r = page.Results;
        sb.Append($"<section id=\"excluded\">\n<h2>Excluded trials</h2>\n<p>{Esc(r.Exclusion)}</p>\n");
        if (r.ExcludedTrials.Count > 0)
        {
            sb.Append("<table data-table=\"excluded\">\n<thead><tr><th scope=\"col\">trial</th><th scope=\"col\">configuration</th>")
              .Append("<th scope=\"col\">seed</th><th scope=\"col\">state</th><th scope=\"col\">reason</th></tr></thead>\n<tbody>\n");
            foreach (var t in r.ExcludedTrials)
                sb.Append($"<tr data-state=\"{Esc(t.State)}\"><td>{Esc(t.Trial)}</td><td>{Esc(t.Configuration)}</td><td class=\"num\">{t.Seed}</td>")
                  .Append($"<td>{Esc(t.State)}</td><td>{Esc(t.Reason ?? "-")}</td></tr>\n");
            sb.Append("</tbody>\n</table>\n");
        }
        sb.Append("</section>\n");
    }
}
