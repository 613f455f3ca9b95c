using System.Text;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Charts;

/// <summary>One line of a chart.</summary>
/// <param name="Group">Legend entry (and data-series key) the line belongs to; a run's raw and smoothed lines share one.</param>
/// <param name="Kind">CSS class of the path: "raw" (drawn faint) or "smoothed".</param>
internal sealed record LineSeries(string Group, string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, string Colour, string Kind, string? Dash = null);

/// <summary>
/// An inline SVG line chart: axes with nice ticks, one path per series (non-finite values break the line), a legend,
/// and data-* attributes from which the page's optional script shows the values under the pointer.
/// Without the script each path still has a &lt;title&gt; tooltip.
/// </summary>
internal static class LineChart
{
    private const int Left = 64, Right = 16, Bottom = 42, LegendRow = 18;

    public static string Render(string chart, string id, string title, string xLabel, string yLabel,
        IReadOnlyList<LineSeries> series, int width = 760, int height = 300)
    {
        var groups = series.GroupBy(s => s.Group, StringComparer.Ordinal).Select(g => g.First()).ToList();
        var legendRows = LayoutLegend(groups, width, out var legendPos);
        var top = 14 + legendRows * LegendRow;
        var plotW = width - Left - Right;
        var plotH = height - top - Bottom;

        var finiteX = series.SelectMany(s => s.X.Where((_, i) => double.IsFinite(s.Y[i]))).Where(double.IsFinite).ToList();
        var finiteY = series.SelectMany(s => s.Y).Where(double.IsFinite).ToList();
        var (x0, x1) = finiteX.Count == 0 ? (0.0, 1.0) : (finiteX.Min(), finiteX.Max());
        if (x1 == x0) (x0, x1) = (x0 - 0.5, x1 + 0.5);
        var (y0, y1, yTicks) = Ticks.Nice(finiteY.Count == 0 ? 0 : finiteY.Min(), finiteY.Count == 0 ? 1 : finiteY.Max());
        var xTicks = Ticks.Nice(x0, x1, 6).Values.Where(v => v >= x0 - 1e-9 && v <= x1 + 1e-9).ToList();
        double Sx(double v) => Left + (v - x0) / (x1 - x0) * plotW;
        double Sy(double v) => top + plotH - (v - y0) / (y1 - y0) * plotH;

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart line-chart\" data-chart=\"{Esc(chart)}\" id=\"{Esc(id)}\" ")
          .Append($"viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"{Esc(id)}-title\" ")
          .Append($"data-x0=\"{Data(x0)}\" data-x1=\"{Data(x1)}\" data-px0=\"{Left}\" data-px1=\"{Left + plotW}\" data-xlabel=\"{Esc(xLabel)}\">\n");
        sb.Append($"<title id=\"{Esc(id)}-title\">{Esc(title)}</title>\n");

        sb.Append("<g class=\"axes\">\n");
        foreach (var v in yTicks)
        {
            var y = Px(Sy(v));
            sb.Append($"<line class=\"grid\" x1=\"{Left}\" y1=\"{y}\" x2=\"{Left + plotW}\" y2=\"{y}\"/>")
              .Append($"<text class=\"tick\" x=\"{Left - 6}\" y=\"{y}\" dy=\"0.32em\" text-anchor=\"end\">{Esc(Num(v))}</text>\n");
        }
        foreach (var v in xTicks)
        {
            var x = Px(Sx(v));
            sb.Append($"<line class=\"tick-mark\" x1=\"{x}\" y1=\"{Px(top + plotH)}\" x2=\"{x}\" y2=\"{Px(top + plotH + 4)}\"/>")
              .Append($"<text class=\"tick\" x=\"{x}\" y=\"{Px(top + plotH + 16)}\" text-anchor=\"middle\">{Esc(Num(v))}</text>\n");
        }
        sb.Append($"<rect class=\"frame\" x=\"{Left}\" y=\"{top}\" width=\"{plotW}\" height=\"{plotH}\"/>\n");
        sb.Append($"<text class=\"axis-label\" x=\"{Px(Left + plotW / 2.0)}\" y=\"{height - 6}\" text-anchor=\"middle\">{Esc(xLabel)}</text>\n");
        var mid = Px(top + plotH / 2.0);
        sb.Append($"<text class=\"axis-label\" x=\"14\" y=\"{mid}\" transform=\"rotate(-90 14 {mid})\" text-anchor=\"middle\">{Esc(yLabel)}</text>\n");
        sb.Append("</g>\n<g class=\"plot\">\n");

        foreach (var s in series)
        {
            var (xs, ys) = SeriesMath.Decimate(s.X, s.Y);
            var d = PathData(xs, ys, Sx, Sy);
            if (d.Length == 0) continue; // nothing finite to draw
            sb.Append($"<path class=\"series {Esc(s.Kind)}\" data-series=\"{Esc(s.Group)}\" data-name=\"{Esc(s.Name)}\" d=\"{d}\" stroke=\"{s.Colour}\"")
              .Append(s.Dash is null ? "" : $" stroke-dasharray=\"{s.Dash}\"")
              .Append($" data-x=\"{string.Join(',', xs.Select(Data))}\" data-y=\"{string.Join(',', ys.Select(Data))}\">")
              .Append($"<title>{Esc(s.Name)}</title></path>\n");
        }
        sb.Append("</g>\n");

        sb.Append("<g class=\"legend\">\n");
        for (var i = 0; i < groups.Count; i++)
        {
            var (lx, ly) = legendPos[i];
            var g = groups[i];
            sb.Append($"<g class=\"legend-item\" data-series=\"{Esc(g.Group)}\">")
              .Append($"<line x1=\"{Px(lx)}\" y1=\"{Px(ly)}\" x2=\"{Px(lx + 18)}\" y2=\"{Px(ly)}\" stroke=\"{g.Colour}\" stroke-width=\"3\"")
              .Append(g.Dash is null ? "" : $" stroke-dasharray=\"{g.Dash}\"").Append("/>")
              .Append($"<text x=\"{Px(lx + 23)}\" y=\"{Px(ly)}\" dy=\"0.32em\">{Esc(Clip(g.Group))}</text><title>{Esc(g.Group)}</title></g>\n");
        }
        sb.Append("</g>\n");
        sb.Append($"<line class=\"cursor\" x1=\"{Left}\" y1=\"{top}\" x2=\"{Left}\" y2=\"{top + plotH}\" visibility=\"hidden\"/>\n");
        sb.Append($"<text class=\"readout\" x=\"{Left + 6}\" y=\"{top + 12}\"></text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>"M x y L x y ..." with a new "M" after every gap; a lone point becomes a dot (round caps draw "h0").</summary>
    internal static string PathData(IReadOnlyList<double> xs, IReadOnlyList<double> ys, Func<double, double> sx, Func<double, double> sy)
    {
        var sb = new StringBuilder();
        var run = 0;
        for (var i = 0; i < xs.Count; i++)
        {
            if (!double.IsFinite(ys[i]) || !double.IsFinite(xs[i]))
            {
                if (run == 1) sb.Append("h0");
                run = 0;
                continue;
            }
            sb.Append(run == 0 ? (sb.Length == 0 ? "M" : " M") : " L").Append(Px(sx(xs[i]))).Append(' ').Append(Px(sy(ys[i])));
            run++;
        }
        if (run == 1) sb.Append("h0");
        return sb.ToString();
    }

    private static string Clip(string s) => s.Length <= 60 ? s : s[..59] + "\u2026";

    /// <summary>Legend entries laid out left to right, wrapping; returns the number of rows.</summary>
    private static int LayoutLegend(IReadOnlyList<LineSeries> groups, int width, out List<(double X, double Y)> positions)
    {
        positions = [];
        if (groups.Count == 0) return 0;
        double x = Left, row = 0;
        foreach (var g in groups)
        {
            var w = 32 + 6.5 * Math.Min(g.Group.Length, 60);
            if (x > Left && x + w > width - Right) { x = Left; row++; }
            positions.Add((x, 12 + row * LegendRow));
            x += w;
        }
        return (int)row + 1;
    }
}
