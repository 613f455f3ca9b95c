using System.Text;
using MoLA.Reporting.Charts;
using MoLA.Reporting.Page;
using MoLA.Training.Runs;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Sweeps.Page;

/// <summary>Per configuration, side by side: its allocation (experts per layer) and its expert load pooled over its seeds.</summary>
internal static class AllocationSection
{
    public static void Write(StringBuilder sb, SweepPageContext page)
    {
        sb.Append("<section id=\"allocation\">\n<h2>Allocation and expert load</h2>\n<h3>Experts per layer</h3>\n<div class=\"side-by-side\" data-group=\"allocation\">\n");
        var loaded = page.Configurations.Where(c => page.Trials[c.Name].Count > 0).ToList();
        foreach (var c in loaded)
        {
            var a = page.Trials[c.Name][0].Run.Manifest.Allocation;
            sb.Append($"<figure data-configuration=\"{Esc(c.Name)}\">\n")
              .Append(BarChart.Render(page.NewId("chart"), $"{c.Name}: experts per layer ({SummarySection.Allocation(a)})", a.Experts,
                  Palette.Series(page.Index(c.Name)), width: 340, height: 170));
            sb.Append($"<figcaption><strong>{Esc(c.Name)}</strong>: {Esc(SummarySection.Allocation(a))}; top-k {Esc(SummarySection.PerLayer(a.TopK))}.</figcaption>\n</figure>\n");
        }
        sb.Append("</div>\n<h3>Expert load</h3>\n");
        var noLoad = new List<string>();
        sb.Append("<div class=\"side-by-side\" data-group=\"expert-load\">\n");
        foreach (var c in loaded)
        {
            var trials = page.Trials[c.Name];
            var loads = trials.Select(t => t.Run.ExpertLoad).OfType<ExpertLoadReport>().ToList();
            if (loads.Count == 0) { noLoad.Add(c.Name); continue; }
            var grid = ExpertLoadGrid.From(loads, trials[0].Run.Manifest.Allocation.Experts);
            sb.Append($"<figure data-configuration=\"{Esc(c.Name)}\">\n")
              .Append(Heatmap.Render(page.NewId("chart"), $"Expert load of {c.Name}: share of each layer's tokens per expert", grid));
            sb.Append($"<figcaption><strong>{Esc(c.Name)}</strong>: share of each layer's routed tokens per expert, ")
              .Append($"{grid.Modules} modules, pooled over {loads.Count} of {trials.Count} seeds.</figcaption>\n</figure>\n");
        }
        sb.Append("</div>\n");
        if (noLoad.Count > 0)
            sb.Append($"<p class=\"note\" data-missing=\"{RunFiles.ExpertLoad}\">No expert load for {Esc(string.Join(", ", noLoad))}: no {RunFiles.ExpertLoad} ")
              .Append("(plain LoRA has no router).</p>\n");
        sb.Append("</section>\n");
    }
}
