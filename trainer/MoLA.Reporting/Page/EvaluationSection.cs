using System.Text;
using MoLA.Training.Runs;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Page;

/// <summary>
/// The accuracy table: one row per (dataset, format, task), one column per run, accuracy with its 95% CI; when
/// comparing, the best accuracy of each row is highlighted (ties all are). Then continual-learning OP/PD if present.
/// </summary>
internal static class EvaluationSection
{
    public static void Write(StringBuilder sb, PageContext page)
    {
        sb.Append("<section id=\"evaluation\">\n<h2>Evaluation</h2>\n");
        foreach (var r in page.Runs.Where(r => r.Evaluation is null))
            sb.Append($"<p class=\"note\" data-missing=\"{RunFiles.Evaluation}\">Evaluation not available for {Esc(r.Label)}: no {RunFiles.Evaluation} (run `mola eval`).</p>\n");
        var evaluated = page.Runs.Where(r => r.Evaluation is not null).ToList();
        if (evaluated.Count > 0) WriteAccuracy(sb, page);
        if (page.Runs.Any(r => r.Evaluation?.Continual is not null)) WriteContinual(sb, page);
        sb.Append("</section>\n");
    }

    private static void WriteAccuracy(StringBuilder sb, PageContext page)
    {
        // Rows in order of first appearance over the runs, so a single run keeps its file's order.
        var keys = new List<(string Dataset, string Format, string Task)>();
        var cells = new Dictionary<(string, string, string), AccuracyRow?[]>();
        for (var i = 0; i < page.Runs.Count; i++)
            foreach (var row in page.Runs[i].Evaluation?.Rows ?? [])
            {
                var key = (row.Dataset, row.Format, row.Task);
                if (!cells.TryGetValue(key, out var byRun))
                {
                    cells[key] = byRun = new AccuracyRow?[page.Runs.Count];
                    keys.Add(key);
                }
                byRun[i] = row; // a repeated row in one file: the later one wins
            }

        sb.Append("<table class=\"accuracy\" data-table=\"accuracy\">\n<caption>Accuracy with 95% confidence interval</caption>\n<thead><tr>")
          .Append("<th scope=\"col\">dataset</th><th scope=\"col\">format</th><th scope=\"col\">task</th>");
        if (!page.Comparing) sb.Append("<th scope=\"col\">correct / total</th>");
        foreach (var r in page.Runs) sb.Append($"<th scope=\"col\">{Esc(page.Comparing ? r.Label : "accuracy [95% CI]")}</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        foreach (var key in keys)
        {
            var byRun = cells[key];
            var best = byRun.Where(c => c is not null).Max(c => c!.Accuracy);
            sb.Append($"<tr{(key.Task == "all" ? " class=\"overall\"" : "")}><td>{Esc(key.Dataset)}</td><td>{Esc(key.Format)}</td><td>{Esc(key.Task)}</td>");
            if (!page.Comparing) sb.Append($"<td class=\"num\">{byRun[0]!.Correct} / {byRun[0]!.Total}</td>");
            foreach (var c in byRun)
            {
                if (c is null) { sb.Append("<td class=\"num missing\">-</td>"); continue; }
                var cls = page.Comparing && c.Accuracy == best ? "num best" : "num";
                sb.Append($"<td class=\"{cls}\" data-accuracy=\"{Data(c.Accuracy)}\" title=\"{c.Correct} / {c.Total} correct\">")
                  .Append($"{Pct(c.Accuracy)} <span class=\"ci\">[{Pct(c.CiLow)}, {Pct(c.CiHigh)}]</span></td>");
            }
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");
    }

    /// <summary>acc[t][d] per run (rows: after training on task t; columns: domain d), with OP and PD.</summary>
    private static void WriteContinual(StringBuilder sb, PageContext page)
    {
        sb.Append("<h3>Continual learning</h3>\n");
        foreach (var r in page.Runs)
        {
            if (r.Evaluation?.Continual is not { } c) continue;
            sb.Append($"<table class=\"continual\" data-table=\"continual\">\n<caption>{Esc(r.Label)}: accuracy on each domain (columns) after training on each task (rows); ")
              .Append($"OP {Pct(c.Op)}, PD {Pct(c.Pd)}</caption>\n<thead><tr><th scope=\"col\">after</th>");
            foreach (var d in c.Domains) sb.Append($"<th scope=\"col\">{Esc(d)}</th>");
            sb.Append("</tr></thead>\n<tbody>\n");
            for (var t = 0; t < c.Accuracy.Length; t++)
            {
                sb.Append($"<tr><th scope=\"row\">{Esc(c.Domains[t])}</th>");
                foreach (var v in c.Accuracy[t]) sb.Append($"<td class=\"num\">{Pct(v)}</td>");
                sb.Append("</tr>\n");
            }
            sb.Append("</tbody>\n</table>\n");
        }
    }
}
