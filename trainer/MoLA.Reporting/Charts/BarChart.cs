using System.Text;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Charts;

/// <summary>The allocation as a bar chart: one bar per decoder layer, height = its number of experts.</summary>
internal static class BarChart
{
    private const int Left = 40, Right = 12, Top = 14, Bottom = 36;

    public static string Render(string id, string title, IReadOnlyList<int> experts, string colour, int width = 760, int height = 200)
    {
        var plotW = width - Left - Right;
        var plotH = height - Top - Bottom;
        var (_, yMax, ticks) = Ticks.Nice(0, Math.Max(1, experts.Count == 0 ? 1 : experts.Max()), 4);
        var slot = plotW / (double)Math.Max(1, experts.Count);
        var labelEvery = Math.Max(1, (int)Math.Ceiling(18 / slot)); // keep layer labels from overlapping

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart bar-chart\" data-chart=\"allocation\" id=\"{Esc(id)}\" ")
          .Append($"viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"{Esc(id)}-title\">\n");
        sb.Append($"<title id=\"{Esc(id)}-title\">{Esc(title)}</title>\n<g class=\"axes\">\n");
        foreach (var v in ticks)
        {
            var y = Px(Top + plotH - v / yMax * plotH);
            sb.Append($"<line class=\"grid\" x1=\"{Left}\" y1=\"{y}\" x2=\"{Left + plotW}\" y2=\"{y}\"/>")
              .Append($"<text class=\"tick\" x=\"{Left - 5}\" y=\"{y}\" dy=\"0.32em\" text-anchor=\"end\">{Esc(Num(v))}</text>\n");
        }
        sb.Append($"<text class=\"axis-label\" x=\"{Px(Left + plotW / 2.0)}\" y=\"{height - 4}\" text-anchor=\"middle\">layer</text>\n</g>\n<g class=\"bars\">\n");
        for (var l = 0; l < experts.Count; l++)
        {
            var h = experts[l] / yMax * plotH;
            var x = Left + l * slot;
            sb.Append($"<rect class=\"bar\" data-layer=\"{l}\" data-experts=\"{experts[l]}\" x=\"{Px(x + slot * 0.12)}\" y=\"{Px(Top + plotH - h)}\" ")
              .Append($"width=\"{Px(slot * 0.76)}\" height=\"{Px(h)}\" fill=\"{colour}\"><title>layer {l}: {experts[l]} experts</title></rect>");
            if (l % labelEvery == 0)
                sb.Append($"<text class=\"tick\" x=\"{Px(x + slot / 2)}\" y=\"{Top + plotH + 14}\" text-anchor=\"middle\">{l}</text>");
            sb.Append('\n');
        }
        sb.Append("</g>\n</svg>\n");
        return sb.ToString();
    }
}
