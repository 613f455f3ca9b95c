using System.Text;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Charts;

/// <summary>
/// Expert load heatmap: rows = layers, columns = experts, colour = share of the layer's tokens on a white-to-blue
/// scale from 0 to the largest share, with a legend. Layers have different expert counts: cells past a layer's count
/// are not drawn. A layer that routed no tokens gets grey cells.
/// </summary>
internal static class Heatmap
{
    private const int Left = 48, Top = 34, Cell = 22, RowH = 16, LegendW = 180, LegendLabelW = 175;

    public static string Render(string id, string title, ExpertLoadGrid grid)
    {
        var layers = grid.Shares.Length;
        var maxExperts = grid.Shares.Max(r => r.Length);
        var scaleMax = grid.MaxShare > 0 ? grid.MaxShare : 1;
        var plotW = maxExperts * Cell;
        // Room for the legend's label right of the scale (about 160 px at 11 px), which an SVG would otherwise clip.
        var width = Math.Max(Left + plotW + 16, Left + LegendW + 8 + LegendLabelW);
        var height = Top + layers * RowH + 56;

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart heatmap\" data-chart=\"expert-load\" id=\"{Esc(id)}\" ")
          .Append($"viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"{Esc(id)}-title\">\n");
        sb.Append($"<title id=\"{Esc(id)}-title\">{Esc(title)}</title>\n");
        sb.Append($"<text class=\"axis-label\" x=\"{Left + plotW / 2}\" y=\"12\" text-anchor=\"middle\">expert</text>\n");
        for (var e = 0; e < maxExperts; e++)
            sb.Append($"<text class=\"tick\" x=\"{Left + e * Cell + Cell / 2}\" y=\"{Top - 6}\" text-anchor=\"middle\">{e}</text>");
        sb.Append('\n');

        sb.Append("<g class=\"cells\">\n");
        for (var l = 0; l < layers; l++)
        {
            var y = Top + l * RowH;
            sb.Append($"<text class=\"tick\" x=\"{Left - 6}\" y=\"{y + RowH / 2}\" dy=\"0.32em\" text-anchor=\"end\">L{l}</text>");
            var row = grid.Shares[l];
            for (var e = 0; e < row.Length; e++)
            {
                var share = row[e];
                var fill = double.IsFinite(share) ? Palette.Sequential(share / scaleMax) : "#d0d0d0";
                var tip = double.IsFinite(share)
                    ? $"layer {l}, expert {e}: {Pct(share)} of the layer's tokens ({Int(grid.Tokens[l][e])} tokens; uniform would be {Pct(1.0 / row.Length)})"
                    : $"layer {l}, expert {e}: no tokens recorded";
                sb.Append($"<rect class=\"cell\" data-layer=\"{l}\" data-expert=\"{e}\" data-share=\"{Data(share)}\" ")
                  .Append($"x=\"{Left + e * Cell}\" y=\"{y}\" width=\"{Cell - 1}\" height=\"{RowH - 1}\" fill=\"{fill}\">")
                  .Append($"<title>{Esc(tip)}</title></rect>");
            }
            sb.Append('\n');
        }
        sb.Append("</g>\n");
        sb.Append($"<text class=\"axis-label\" x=\"12\" y=\"{Top + layers * RowH / 2}\" transform=\"rotate(-90 12 {Top + layers * RowH / 2})\" text-anchor=\"middle\">layer</text>\n");

        // Legend: the colour scale as a gradient bar from 0 to the largest share.
        var ly = Top + layers * RowH + 16;
        var gid = id + "-scale";
        sb.Append("<g class=\"legend\">\n<defs><linearGradient id=\"").Append(Esc(gid)).Append("\">");
        for (var i = 0; i < Palette.SequentialStops; i++)
            sb.Append($"<stop offset=\"{Px(i / (double)(Palette.SequentialStops - 1))}\" stop-color=\"{Palette.SequentialStop(i)}\"/>");
        sb.Append("</linearGradient></defs>\n");
        sb.Append($"<rect class=\"scale\" x=\"{Left}\" y=\"{ly}\" width=\"{LegendW}\" height=\"10\" fill=\"url(#{Esc(gid)})\"/>")
          .Append($"<text class=\"tick\" x=\"{Left}\" y=\"{ly + 22}\" text-anchor=\"start\">0%</text>")
          .Append($"<text class=\"tick\" x=\"{Left + LegendW}\" y=\"{ly + 22}\" text-anchor=\"end\">{Pct(scaleMax)}</text>")
          .Append($"<text class=\"tick\" x=\"{Left + LegendW + 8}\" y=\"{ly + 9}\">share of the layer's tokens</text>\n");
        sb.Append("</g>\n</svg>\n");
        return sb.ToString();
    }
}
