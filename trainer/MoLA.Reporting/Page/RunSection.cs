using System.Text;
using MoLA.Reporting.Charts;
using MoLA.Training.Runs;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Page;

/// <summary>Per run: the allocation (bar chart of experts per layer) and the expert load heatmap.</summary>
internal static class RunSection
{
    public static void Write(StringBuilder sb, PageContext page)
    {
        for (var i = 0; i < page.Runs.Count; i++)
        {
            var r = page.Runs[i];
            var a = r.Manifest.Allocation;
            sb.Append($"<section class=\"run\" id=\"run-{i + 1}\" data-run=\"{Esc(r.Label)}\">\n");
            sb.Append($"<h2>{(page.Comparing ? Esc(r.Label) + ": allocation and expert load" : "Allocation and expert load")}</h2>\n");
            sb.Append("<figure>\n").Append(BarChart.Render(page.NewId("chart"), $"Experts per layer ({SummarySection.Allocation(a)})",
                a.Experts, page.Comparing ? Palette.Series(i) : "#4878d0"));
            sb.Append($"<figcaption>Allocation: {Esc(SummarySection.Allocation(a))}; top-k {Esc(SummarySection.PerLayer(a.TopK))}; ")
              .Append($"rank {Esc(SummarySection.PerLayer(a.Ranks))}.</figcaption>\n</figure>\n");

            if (r.ExpertLoad is null)
            {
                sb.Append($"<p class=\"note\" data-missing=\"{RunFiles.ExpertLoad}\">Expert load not available for {Esc(r.Label)}: no {RunFiles.ExpertLoad}")
                  .Append(r.Manifest.Method == "lora" ? " (plain LoRA has no router)." : ".").Append("</p>\n");
            }
            else
            {
                var grid = ExpertLoadGrid.From(r.ExpertLoad, a.Experts);
                sb.Append("<figure>\n").Append(Heatmap.Render(page.NewId("chart"), $"Expert load of {r.Label}: share of each layer's tokens per expert", grid));
                sb.Append($"<figcaption>Share of each layer's routed tokens per expert, summed over {grid.Modules} modules, ")
                  .Append($"over {Int(r.ExpertLoad.Steps)} steps. Blank: the layer has fewer experts; grey: no tokens recorded.</figcaption>\n</figure>\n");
            }
            sb.Append("</section>\n");
        }
    }
}
