using System.Text;
using MoLA.Reporting.Charts;
using MoLA.Training.Runs;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Page;

/// <summary>
/// Loss curves (raw and smoothed; runs overlaid when comparing), the auxiliary loss when any run has a non-zero one,
/// (drawn for the runs that have one) and the learning rate as a small chart.
/// </summary>
internal static class TrainingSection
{
    private const string RawColour = "#a9bfe6", SmoothColour = "#1f4e9c";

    public static void Write(StringBuilder sb, PageContext page)
    {
        sb.Append("<section id=\"training\">\n<h2>Training</h2>\n");
        var withSteps = page.Runs.Where(r => r.Steps.Count > 0).ToList();
        var without = page.Runs.Where(r => r.Steps.Count == 0).ToList();
        if (without.Count > 0)
        {
            var which = page.Comparing ? $" for {string.Join(", ", without.Select(r => r.Label))}" : "";
            sb.Append($"<p class=\"note\" data-missing=\"{RunFiles.Steps}\">Training curves not available{Esc(which)}: {RunFiles.Steps} holds no step records yet.</p>\n");
        }
        if (withSteps.Count == 0) { sb.Append("</section>\n"); return; }

        var smoothing = $"EMA {SeriesMath.SmoothingWeight.ToString("0.##", Inv)}";
        sb.Append("<figure>\n");
        sb.Append(LineChart.Render("loss", page.NewId("chart"), "Training loss per optimizer step", "step", "loss",
            Curves(page, s => s.Loss, smoothing)));
        sb.Append($"<figcaption>Training loss: raw per step (faint) and smoothed ({Esc(smoothing)}, debiased).</figcaption>\n</figure>\n");

        static bool HasAux(ReportRun r) => r.Steps.Any(s => double.IsFinite(s.AuxLoss) && s.AuxLoss != 0);
        if (withSteps.Any(HasAux))
        {
            sb.Append("<figure>\n");
            sb.Append(LineChart.Render("aux", page.NewId("chart"), "Auxiliary (load-balancing) loss per optimizer step", "step", "aux loss",
                Curves(page, s => s.AuxLoss, smoothing, HasAux), height: 240));
            sb.Append("<figcaption>Auxiliary load-balancing loss (1 per layer is perfect balance).</figcaption>\n</figure>\n");
        }

        var lr = page.Runs.Select((r, i) => new LineSeries(page.Comparing ? r.Label : "learning rate", $"{r.Label}: learning rate",
            X(r), r.Steps.Select(s => s.LearningRate).ToList(), page.Comparing ? Palette.Series(i) : SmoothColour, "line", Palette.Dash(i))).ToList();
        sb.Append("<figure class=\"small\">\n");
        sb.Append(LineChart.Render("lr", page.NewId("chart"), "Learning rate per optimizer step", "step", "learning rate", lr, width: 560, height: 190));
        sb.Append("<figcaption>Learning rate schedule.</figcaption>\n</figure>\n</section>\n");
    }

    /// <summary>Raw and smoothed lines of one metric per run; one legend entry per run when comparing.</summary>
    private static List<LineSeries> Curves(PageContext page, Func<StepRecord, double> metric, string smoothing, Func<ReportRun, bool>? include = null)
    {
        var series = new List<LineSeries>();
        for (var i = 0; i < page.Runs.Count; i++)
        {
            var r = page.Runs[i];
            if (include is not null && !include(r)) continue; // e.g. runs trained without the aux loss
            var y = r.Steps.Select(metric).ToList();
            var smooth = SeriesMath.Ema(y);
            if (page.Comparing)
            {
                series.Add(new LineSeries(r.Label, $"{r.Label} (raw)", X(r), y, Palette.Series(i), "raw", Palette.Dash(i)));
                series.Add(new LineSeries(r.Label, $"{r.Label} (smoothed, {smoothing})", X(r), smooth, Palette.Series(i), "smoothed", Palette.Dash(i)));
            }
            else
            {
                series.Add(new LineSeries("raw", "raw", X(r), y, RawColour, "raw"));
                series.Add(new LineSeries($"smoothed ({smoothing})", $"smoothed ({smoothing})", X(r), smooth, SmoothColour, "smoothed"));
            }
        }
        return series;
    }

    private static List<double> X(ReportRun r) => r.Steps.Select(s => (double)s.Step).ToList();
}
