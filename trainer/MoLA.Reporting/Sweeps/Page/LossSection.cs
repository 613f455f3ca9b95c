using System.Text;
using MoLA.Reporting.Charts;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Sweeps.Page;

/// <summary>
/// Training loss per configuration, the mean over its seeds at each step all of them logged (raw, faint, and smoothed),
/// each configuration with its own colour and dash pattern so that curves that coincide stay visible.
/// </summary>
internal static class LossSection
{
    public static void Write(StringBuilder sb, SweepPageContext page)
    {
        sb.Append("<section id=\"training\">\n<h2>Loss curves</h2>\n");
        var series = new List<LineSeries>();
        var without = new List<string>();
        var smoothing = $"EMA {SeriesMath.SmoothingWeight.ToString("0.##", Inv)}";
        foreach (var c in page.Configurations)
        {
            var (x, y) = MeanLoss(page.Trials[c.Name]);
            if (x.Count == 0) { without.Add(c.Name); continue; }
            var i = page.Index(c.Name);
            var seeds = page.Trials[c.Name].Count;
            series.Add(new LineSeries(c.Name, $"{c.Name} (mean of {seeds} seeds, raw)", x, y, Palette.Series(i), "raw", Palette.Pattern(i)));
            series.Add(new LineSeries(c.Name, $"{c.Name} (mean of {seeds} seeds, smoothed, {smoothing})", x, SeriesMath.Ema(y), Palette.Series(i), "smoothed", Palette.Pattern(i)));
        }
        if (without.Count > 0)
            sb.Append($"<p class=\"note\">No loss curve for {Esc(string.Join(", ", without))}: no finished trial with step records.</p>\n");
        if (series.Count > 0)
        {
            sb.Append("<figure>\n").Append(LineChart.Render("sweep-loss", page.NewId("chart"), "Training loss per optimizer step, mean over seeds", "step", "loss", series));
            sb.Append($"<figcaption>Training loss of each configuration, averaged over its finished seeds at the steps all of them logged: ")
              .Append($"raw (faint) and smoothed ({Esc(smoothing)}, debiased). Click a legend entry to hide a configuration.</figcaption>\n</figure>\n");
        }
        sb.Append("</section>\n");
    }

    /// <summary>Mean loss over the trials at the steps every trial logged (seeds may stop at different steps).</summary>
    internal static (List<double> X, List<double> Y) MeanLoss(IReadOnlyList<LoadedTrial> trials)
    {
        if (trials.Count == 0) return ([], []);
        var bySeed = trials.Select(t => t.Run.Steps.GroupBy(s => s.Step).ToDictionary(g => g.Key, g => g.Last().Loss)).ToList();
        var steps = bySeed.Skip(1).Aggregate(bySeed[0].Keys.ToHashSet(), (common, d) => { common.IntersectWith(d.Keys); return common; }).Order().ToList();
        return (steps.Select(s => (double)s).ToList(), steps.Select(s => bySeed.Average(d => d[s])).ToList());
    }
}
