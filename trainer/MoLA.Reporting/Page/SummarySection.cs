using System.Text;
using MoLA.Training.Runs;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Page;

/// <summary>The run summary: one row per property, one column per run; each run's resolved config in a details box.</summary>
internal static class SummarySection
{
    public static void Write(StringBuilder sb, PageContext page)
    {
        sb.Append("<section id=\"summary\">\n<h2>Run summary</h2>\n<table class=\"summary\" data-table=\"summary\">\n<thead><tr><th></th>");
        foreach (var r in page.Runs) sb.Append($"<th scope=\"col\">{Esc(r.Label)}</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        Row(sb, page, "directory", r => r.Directory);
        Row(sb, page, "method", r => r.Manifest.Method);
        Row(sb, page, "base model", r => r.Manifest.BaseModel);
        Row(sb, page, "created (UTC)", r => r.Manifest.CreatedUtc ?? "-");
        Row(sb, page, "steps", r => $"{(r.Steps.Count == 0 ? 0 : r.Steps[^1].Step)} of {r.Manifest.TotalSteps}");
        Row(sb, page, "trainable parameters", r => Int(r.Manifest.TrainableParameters));
        Row(sb, page, "allocation", r => Allocation(r.Manifest.Allocation));
        Row(sb, page, "experts per layer", r => PerLayer(r.Manifest.Allocation.Experts));
        Row(sb, page, "top-k", r => PerLayer(r.Manifest.Allocation.TopK));
        Row(sb, page, "rank", r => PerLayer(r.Manifest.Allocation.Ranks));
        Row(sb, page, "final loss", r => Last(r.Steps, s => s.Loss));
        Row(sb, page, "lowest loss", r => Lowest(r.Steps));
        Row(sb, page, "tokens", r => Int(r.Steps.Sum(s => s.Tokens)));
        Row(sb, page, "training time", r => Duration(r.Steps.Where(s => double.IsFinite(s.Seconds)).Sum(s => s.Seconds)));
        Row(sb, page, "tokens/s (mean)", r => Mean(r.Steps.Select(s => s.TokensPerSecond)));
        Row(sb, page, "MFU (mean)", r => r.Steps.Any(s => s.Mfu is not null) ? Pct(r.Steps.Where(s => s.Mfu is not null).Average(s => s.Mfu!.Value)) : "-");
        sb.Append("</tbody>\n</table>\n");

        foreach (var r in page.Runs)
        {
            var config = r.Manifest.Config ?? new Dictionary<string, string>();
            sb.Append($"<details class=\"config\"><summary>Configuration of {Esc(r.Label)} ({config.Count} entries)</summary>\n<table>");
            foreach (var (k, v) in config.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                sb.Append($"<tr><th scope=\"row\">{Esc(k)}</th><td><code>{Esc(v)}</code></td></tr>");
            sb.Append("</table></details>\n");
        }
        sb.Append("</section>\n");
    }

    private static void Row(StringBuilder sb, PageContext page, string name, Func<ReportRun, string> value)
    {
        sb.Append($"<tr><th scope=\"row\">{Esc(name)}</th>");
        foreach (var r in page.Runs) sb.Append($"<td>{Esc(value(r))}</td>");
        sb.Append("</tr>\n");
    }

    internal static string Allocation(AllocationSummary a) =>
        $"{a.Strategy}{(string.IsNullOrEmpty(a.Shape) ? "" : $" {a.Shape}")}: {a.Experts.Sum()} experts over {a.Experts.Length} layers";

    /// <summary>"2 (every layer)" when all layers agree, else the list.</summary>
    internal static string PerLayer(int[]? values) =>
        values is null || values.Length == 0 ? "-"
        : values.Distinct().Count() == 1 ? $"{values[0]} (every layer)"
        : string.Join(' ', values);

    private static string Last(IReadOnlyList<StepRecord> steps, Func<StepRecord, double> f) =>
        steps.Count == 0 ? "-" : $"{Num(f(steps[^1]))} (step {steps[^1].Step})";

    private static string Lowest(IReadOnlyList<StepRecord> steps)
    {
        var finite = steps.Where(s => double.IsFinite(s.Loss)).ToList();
        if (finite.Count == 0) return "-";
        var best = finite.MinBy(s => s.Loss)!;
        var bad = steps.Count - finite.Count;
        return $"{Num(best.Loss)} (step {best.Step})" + (bad > 0 ? $"; {bad} steps with non-finite loss" : "");
    }

    private static string Mean(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        return v.Count == 0 ? "-" : Num(v.Average());
    }

    private static string Duration(double seconds) =>
        seconds <= 0 ? "-" : TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 86400 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", Inv);
}
