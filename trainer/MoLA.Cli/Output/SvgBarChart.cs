using System.Globalization;
using System.Security;
using System.Text;

namespace MoLA.Cli.Output;

/// <summary>A self-contained SVG bar chart (no scripts, no external resources), written atomically.</summary>
internal static class SvgBarChart
{
    public static string Render(string title, string yLabel, IReadOnlyList<string> labels, IReadOnlyList<double> values)
    {
        const int width = 760, height = 360, left = 60, right = 20, top = 40, bottom = 50;
        var max = values.Count == 0 ? 1 : Math.Max(values.Max(), 1e-12);
        var plotW = width - left - right;
        var plotH = height - top - bottom;
        var bar = plotW / (double)Math.Max(1, values.Count);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(inv, $"<title>{Esc(title)}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.Append(inv, $"<text x=\"{width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{Esc(title)}</text>\n");
        for (var i = 0; i <= 4; i++)
        {
            var v = max * i / 4;
            var y = top + plotH - plotH * i / 4.0;
            sb.Append(inv, $"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{width - right}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>");
            sb.Append(inv, $"<text x=\"{left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:G3}</text>\n");
        }
        for (var i = 0; i < values.Count; i++)
        {
            var h = plotH * values[i] / max;
            var x = left + i * bar;
            sb.Append(inv, $"<rect x=\"{x + bar * 0.1:F1}\" y=\"{top + plotH - h:F1}\" width=\"{bar * 0.8:F1}\" height=\"{h:F1}\" fill=\"#4878d0\"><title>{Esc(labels[i])}: {values[i]:G5}</title></rect>");
            sb.Append(inv, $"<text x=\"{x + bar / 2:F1}\" y=\"{top + plotH + 14}\" text-anchor=\"middle\">{Esc(labels[i])}</text>\n");
        }
        sb.Append(inv, $"<text x=\"14\" y=\"{top + plotH / 2}\" transform=\"rotate(-90 14 {top + plotH / 2})\" text-anchor=\"middle\">{Esc(yLabel)}</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    public static void Write(string path, string svg)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new UsageException($"--svg: directory {dir} does not exist");
        MoLA.Torch.IO.AtomicFile.WriteAllText(full, svg);
    }

    private static string Esc(string s) => SecurityElement.Escape(s) ?? "";
}
