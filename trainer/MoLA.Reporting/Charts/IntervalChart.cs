using System.Text;
using static MoLA.Reporting.Html;

namespace MoLA.Reporting.Charts;

/// <summary>One row of an interval chart: a point estimate with its interval.</summary>
/// <param name="Note">How the interval was made, for the tooltip (e.g. "t over 3 seeds").</param>
internal sealed record IntervalRow(string Name, double Estimate, double Low, double High, string Colour, string Note);

/// <summary>
/// Estimates with interval bars, one row per item (a sweep's configurations), on a shared percentage axis; an optional
/// reference (the baseline's estimate) is a dashed vertical line. Each row's value is also written as text at the right.
/// </summary>
internal static class IntervalChart
{
    private const int Top = 14, RowH = 26, Bottom = 40, ValueW = 150, Right = 10, CharW = 7;

    public static string Render(string id, string title, string xLabel, IReadOnlyList<IntervalRow> rows, double? reference, int width = 760)
    {
        var nameW = 16 + CharW * Math.Clamp(rows.Count == 0 ? 4 : rows.Max(r => Clip(r.Name).Length), 4, 40);
        var plotW = width - nameW - ValueW - Right;
        var height = Top + Math.Max(1, rows.Count) * RowH + Bottom;
        var finite = rows.SelectMany(r => new[] { r.Low, r.High, r.Estimate }).Concat(reference is { } v ? [v] : []).Where(double.IsFinite).ToList();
        var (x0, x1, ticks) = Ticks.Nice(finite.Count == 0 ? 0 : Math.Max(0, finite.Min()), finite.Count == 0 ? 1 : Math.Min(1, finite.Max()), 5);
        double Sx(double x) => nameW + (Math.Clamp(x, x0, x1) - x0) / (x1 - x0) * plotW;
        var plotBottom = Top + rows.Count * RowH;

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart interval-chart\" data-chart=\"accuracy-intervals\" id=\"{Esc(id)}\" ")
          .Append($"viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"{Esc(id)}-title\">\n");
        sb.Append($"<title id=\"{Esc(id)}-title\">{Esc(title)}</title>\n<g class=\"axes\">\n");
        foreach (var t in ticks)
        {
            var x = Px(Sx(t));
            sb.Append($"<line class=\"grid\" x1=\"{x}\" y1=\"{Top}\" x2=\"{x}\" y2=\"{plotBottom}\"/>")
              .Append($"<text class=\"tick\" x=\"{x}\" y=\"{plotBottom + 14}\" text-anchor=\"middle\">{Esc(Pct(t))}</text>\n");
        }
        sb.Append($"<text class=\"axis-label\" x=\"{Px(nameW + plotW / 2.0)}\" y=\"{height - 6}\" text-anchor=\"middle\">{Esc(xLabel)}</text>\n</g>\n");
        if (reference is { } r0 && double.IsFinite(r0))
            sb.Append($"<line class=\"reference\" x1=\"{Px(Sx(r0))}\" y1=\"{Top - 4}\" x2=\"{Px(Sx(r0))}\" y2=\"{plotBottom}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n");

        sb.Append("<g class=\"intervals\">\n");
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var y = Px(Top + i * RowH + RowH / 2.0);
            var (lo, hi, mid) = (Px(Sx(row.Low)), Px(Sx(row.High)), Px(Sx(row.Estimate)));
            var text = $"{Pct(row.Estimate)} [{Pct(row.Low)}, {Pct(row.High)}]";
            sb.Append($"<g class=\"interval\" data-name=\"{Esc(row.Name)}\" data-estimate=\"{Data(row.Estimate)}\" data-low=\"{Data(row.Low)}\" data-high=\"{Data(row.High)}\">")
              .Append($"<title>{Esc($"{row.Name}: {text} ({row.Note})")}</title>")
              .Append($"<text class=\"name\" x=\"{nameW - 8}\" y=\"{y}\" dy=\"0.32em\" text-anchor=\"end\">{Esc(Clip(row.Name))}</text>")
              .Append($"<line x1=\"{lo}\" y1=\"{y}\" x2=\"{hi}\" y2=\"{y}\" stroke=\"{row.Colour}\" stroke-width=\"2\"/>")
              .Append($"<line x1=\"{lo}\" y1=\"{Px(Top + i * RowH + 7)}\" x2=\"{lo}\" y2=\"{Px(Top + i * RowH + RowH - 7)}\" stroke=\"{row.Colour}\" stroke-width=\"2\"/>")
              .Append($"<line x1=\"{hi}\" y1=\"{Px(Top + i * RowH + 7)}\" x2=\"{hi}\" y2=\"{Px(Top + i * RowH + RowH - 7)}\" stroke=\"{row.Colour}\" stroke-width=\"2\"/>")
              .Append($"<circle cx=\"{mid}\" cy=\"{y}\" r=\"4.5\" fill=\"{row.Colour}\"/>")
              .Append($"<text class=\"value\" x=\"{nameW + plotW + 8}\" y=\"{y}\" dy=\"0.32em\">{Esc(text)}</text></g>\n");
        }
        sb.Append("</g>\n</svg>\n");
        return sb.ToString();
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..39] + "\u2026";
}
