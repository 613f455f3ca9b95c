using System.Text;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Sweeps.Page;

/// <summary>The leaderboard (one row per configuration, best first) with intervals, then the verdicts and mirror statements.</summary>
internal static class LeaderboardSection
{
    public static void Write(StringBuilder sb, SweepPageContext page)
    {
        var r = page.Results;
        sb.Append("<section id=\"leaderboard\">\n<h2>Leaderboard</h2>\n<table class=\"leaderboard\" data-table=\"leaderboard\">\n")
          .Append($"<caption>Ranked by mean {Esc(r.Metric)} accuracy over seeds, with its 95% interval (t over seeds; Wilson over items for one seed)")
          .Append(r.Baseline is null ? "." : $"; difference to the baseline {Esc(r.Baseline)} over paired (seed, item) pairs.").Append("</caption>\n<thead><tr>");
        foreach (var h in new[] { "rank", "configuration", "experts per layer", "trainable parameters", "seeds", "accuracy [95% interval]",
                     "vs baseline [95% interval]", "p", "tokens/s", "wall time / trial" })
            sb.Append($"<th scope=\"col\">{h}</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        foreach (var c in r.Configurations)
        {
            var cmp = r.Comparisons.FirstOrDefault(x => x.Configuration == c.Name)?.Comparison;
            sb.Append($"<tr data-configuration=\"{Esc(c.Name)}\"><td class=\"num\">{(c.Rank is { } k ? k.ToString(Inv) : "-")}</td>")
              .Append($"<td class=\"name\">{Esc(c.Name)}<span class=\"entry\">{Esc(c.Entry)}</span></td>")
              .Append($"<td>{Esc(c.ExpertsPerLayer is null ? "-" : string.Join(' ', c.ExpertsPerLayer))}</td>")
              .Append($"<td class=\"num\">{(c.TrainableParameters is { } p ? Int(p) : "-")}</td>")
              .Append($"<td class=\"num\">{Seeds(c)}</td>");
            sb.Append(c.Score is { } s
                ? $"<td class=\"num\" data-mean=\"{Data(s.Mean)}\">{Pct(s.Mean)} <span class=\"ci\">[{Pct(s.Low)}, {Pct(s.High)}] {Esc(s.Interval)}</span></td>"
                : "<td class=\"num missing\">-</td>");
            sb.Append(c.Name == r.Baseline ? "<td>baseline</td><td class=\"num\">-</td>"
                : cmp is null ? "<td class=\"num missing\">-</td><td class=\"num\">-</td>"
                : $"<td class=\"num\">{Signed(cmp.Difference)} <span class=\"ci\">[{Signed(cmp.Low)}, {Signed(cmp.High)}]</span></td><td class=\"num\">{Esc(cmp.PValue.ToString("G2", Inv))}</td>");
            sb.Append($"<td class=\"num\">{(c.TokensPerSecond is { } tps ? Esc(Num(tps)) : "-")}</td>")
              .Append($"<td class=\"num\">{(c.WallSeconds is { } w ? Esc(Duration(w)) : "-")}</td></tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");

        if (r.Comparisons.Count > 0)
        {
            sb.Append("<h3>Verdicts against the baseline</h3>\n<ul class=\"verdicts\">\n");
            foreach (var v in r.Comparisons)
                sb.Append($"<li data-configuration=\"{Esc(v.Configuration)}\">{Esc(v.Verdict)}")
                  .Append(v.Comparison is { } c ? $" <span class=\"ci\">({c.Items} paired items over {Esc(MirrorAnalysis.Seeds(v.Seeds))}; {c.OnlyA} only {Esc(v.Configuration)} right, {c.OnlyB} only {Esc(v.Baseline)} right; {Esc(c.Test)})</span>" : "")
                  .Append("</li>\n");
            sb.Append("</ul>\n");
        }
        if (r.Mirrors.Count > 0)
        {
            sb.Append("<h3>Do higher layers need more experts?</h3>\n");
            foreach (var m in r.Mirrors)
                sb.Append($"<p class=\"mirror\" data-outcome=\"{Esc(m.Outcome)}\">{Esc(m.Statement)}</p>\n");
        }
        sb.Append("</section>\n");
    }

    /// <summary>Finished seeds, and below them the ones that did not finish.</summary>
    private static string Seeds(ConfigurationResult c)
    {
        var other = new List<string>();
        if (c.SeedsFailed > 0) other.Add($"{c.SeedsFailed} failed");
        if (c.SeedsStopped > 0) other.Add($"{c.SeedsStopped} stopped");
        if (c.SeedsUnfinished > 0) other.Add($"{c.SeedsUnfinished} unfinished");
        return c.Seeds.Count.ToString(Inv) + (other.Count == 0 ? "" : $"<span class=\"ci\">{Esc(string.Join(", ", other))}</span>");
    }

    /// <summary>A difference of accuracies in points with its sign.</summary>
    private static string Signed(double fraction) => double.IsFinite(fraction) ? (fraction * 100).ToString("+0.0;-0.0;0.0", Inv) : "n/a";

    internal static string Duration(double seconds) =>
        seconds <= 0 || !double.IsFinite(seconds) ? "-" : TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 86400 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", Inv);
}
