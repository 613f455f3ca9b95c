using System.Text;
using MoLA.Reporting.Charts;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Sweeps.Page;

/// <summary>The metric's accuracy per configuration with interval bars, then every (dataset, format, task) slice as a table.</summary>
internal static class AccuracySection
{
    public static void Write(StringBuilder sb, SweepPageContext page)
    {
        var r = page.Results;
        sb.Append("<section id=\"accuracy\">\n<h2>Accuracy</h2>\n");
        var scored = r.Configurations.Where(c => c.Score is not null).ToList();
        if (scored.Count == 0)
        {
            sb.Append("<p class=\"note\">No configuration has a finished trial: nothing to show.</p>\n</section>\n");
            return;
        }
        var rows = scored.Select(c => new IntervalRow(c.Name, c.Score!.Mean, c.Score.Low, c.Score.High, Palette.Series(page.Index(c.Name)),
            c.Score.Interval == "t" ? $"t-interval over {c.Score.Seeds} seeds" : $"Wilson interval over {c.Score.Items} items of one seed")).ToList();
        var reference = r.Baseline is { } b ? r.Configurations.FirstOrDefault(c => c.Name == b)?.Score?.Mean : null;
        sb.Append("<figure>\n").Append(IntervalChart.Render(page.NewId("chart"), $"Overall {r.Metric} accuracy per configuration with 95% intervals",
            $"{r.Metric} accuracy", rows, reference));
        sb.Append($"<figcaption>Mean overall {Esc(r.Metric)} accuracy over seeds with its 95% interval (t over seeds; Wilson over items when one seed finished)")
          .Append(reference is null ? "." : $"; dashed line: the baseline {Esc(r.Baseline)}.").Append("</figcaption>\n</figure>\n");

        var keys = r.Configurations.SelectMany(c => c.Accuracy.Select(a => (a.Dataset, a.Format, a.Task))).Distinct().ToList();
        sb.Append("<table class=\"accuracy\" data-table=\"sweep-accuracy\">\n<caption>Mean accuracy over seeds per dataset, format and task [95% interval]</caption>\n<thead><tr>")
          .Append("<th scope=\"col\">dataset</th><th scope=\"col\">format</th><th scope=\"col\">task</th>");
        foreach (var c in scored) sb.Append($"<th scope=\"col\">{Esc(c.Name)}</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        foreach (var k in keys)
        {
            sb.Append($"<tr{(k.Task == AccuracyAggregation.All ? " class=\"overall\"" : "")}><td>{Esc(k.Dataset)}</td><td>{Esc(k.Format)}</td><td>{Esc(k.Task)}</td>");
            foreach (var c in scored)
            {
                var a = c.Accuracy.FirstOrDefault(x => (x.Dataset, x.Format, x.Task) == k);
                sb.Append(a is null ? "<td class=\"num missing\">-</td>"
                    : $"<td class=\"num\" data-mean=\"{Data(a.Mean)}\" title=\"{Esc($"{a.Interval}, {a.Seeds} seeds, {a.Items} items")}\">{Pct(a.Mean)}<br/><span class=\"ci\">[{Pct(a.Low)}, {Pct(a.High)}]</span></td>");
            }
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody>\n</table>\n</section>\n");
    }
}
