using System.Xml.Linq;
using System.Text.RegularExpressions;
using MoLA.Reporting.Sweeps;
using static MoLA.Reporting.Tests.PageXml;

namespace MoLA.Reporting.Tests;

/// <summary>The sweep report in headless Chromium: its parts are there, its script ran, and no text is cut off.</summary>
public sealed class SweepReportBrowserTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // Run after layout in a copy of the page: every SVG text must lie inside its chart's box (an SVG clips what overflows
    // its viewBox) and no table may be wider than the page's main column. The result goes on the root element.
    private const string ClipCheck = """
        <script>
        (function () {
          var bad = [], texts = 0;
          Array.prototype.forEach.call(document.querySelectorAll('svg.chart'), function (svg) {
            var box = svg.getBoundingClientRect();
            Array.prototype.forEach.call(svg.querySelectorAll('text'), function (t) {
              var r = t.getBoundingClientRect();
              if (!t.textContent || r.width === 0) return;
              texts++;
              if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
                bad.push(svg.getAttribute('data-chart') + ': ' + t.textContent);
            });
          });
          var main = document.querySelector('main');
          Array.prototype.forEach.call(document.querySelectorAll('table'), function (t) {
            if (t.scrollWidth > main.clientWidth + 1)
              bad.push('table ' + t.getAttribute('data-table') + ' is ' + t.scrollWidth + ' px wide, the page ' + main.clientWidth + ' px (columns ' +
                Array.prototype.map.call(t.querySelectorAll('thead th'), function (th) { return Math.round(th.getBoundingClientRect().width); }).join(' ') + ')');
          });
          document.documentElement.setAttribute('data-clipped', bad.length ? bad.join(' | ') : 'none');
          document.documentElement.setAttribute('data-texts', String(texts));
        })();
        </script>
        """;

    [ChromiumFact]
    public void SweepReportShowsLeaderboardLegendAllocationsAndHeatmapsWithNothingClipped()
    {
        using var tmp = new TempDir();
        var input = SweepFixtures.Write(tmp);
        var path = SweepReport.Write(input, SweepAnalysis.Analyze(input));
        Assert.Equal(Path.Combine(input.Directory, "report.html"), path);

        var probe = tmp.Sub("probe.html");
        File.WriteAllText(probe, File.ReadAllText(path).Replace("</body>", ClipCheck + "</body>", StringComparison.Ordinal));
        var rendered = Chromium.Render(probe, Timeout, windowSize: "1280,4000");
        var dom = rendered.Dom;

        Assert.Empty(rendered.UncaughtErrors);
        Assert.Matches(new Regex("<html[^>]*data-script=\"ready\""), dom); // the page's own script ran to its end
        var clipped = Regex.Match(dom, "data-clipped=\"([^\"]*)\"").Groups[1].Value;
        Assert.True(clipped == "none", $"clipped: {clipped}");
        Assert.True(int.Parse(Regex.Match(dom, "data-texts=\"(\\d+)\"").Groups[1].Value) > 100); // the check measured the charts' text

        // Leaderboard: one row per configuration, best first.
        var rows = Regex.Matches(dom, "<tr data-configuration=\"([^\"]+)\">").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["mola-2468", "uniform-5555", "lora", "mola-8642"], rows);
        // Every configuration in the loss chart's legend, each with its own dash pattern.
        var legend = Regex.Matches(dom, "<g class=\"legend-item\" data-series=\"([^\"]+)\">(.*?)</g>").Select(m => (
            m.Groups[1].Value,
            Regex.Match(m.Groups[2].Value, "stroke-dasharray=\"([^\"]+)\"").Groups[1].Value,
            Regex.Match(m.Groups[2].Value, "<text[^>]*>([^<]+)</text>").Groups[1].Value)).ToList();
        Assert.Equal(rows, legend.Select(l => l.Item1));
        Assert.Equal(rows, legend.Select(l => l.Item3)); // the names are shown whole
        Assert.Equal(4, legend.Select(l => l.Item2).Distinct().Count());
        // Allocation pictures for all four, expert-load heatmaps for the three with a router, the interval chart.
        var charts = Regex.Matches(dom, "<svg[^>]*data-chart=\"([a-z-]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(4, charts.Count(c => c == "allocation"));
        Assert.Equal(3, charts.Count(c => c == "expert-load"));
        Assert.Single(charts, c => c == "accuracy-intervals");
        Assert.Single(charts, c => c == "sweep-loss");
        Assert.Equal(4, Regex.Matches(dom, "<g class=\"interval\"").Count);
        Assert.Contains("plain LoRA has no router", dom);
        // Verdicts, the mirror statement, and the excluded trials with their reasons.
        Assert.Equal(3, Regex.Matches(dom, "<li data-configuration=").Count);
        Assert.Matches("<p class=\"mirror\" data-outcome=\"supported\">Higher layers need more experts: supported", dom);
        Assert.Contains("exit code 137: out of memory (after 2 retries)", dom);
        Assert.Contains("asha: rung 40", dom);
    }

    [Fact]
    public void ConfigurationNamesAreTextNeverMarkup()
    {
        using var tmp = new TempDir();
        string[] names = [EscapingTests.Hostile, "b</svg><svg onload=alert(1)>", "c&amp;", "d'\"<i>"];
        var input = SweepFixtures.Write(tmp, names: names);
        var html = File.ReadAllText(SweepReport.Write(input, SweepAnalysis.Analyze(input)));
        var page = new PageXml(html); // well-formed: no name broke out of its element or attribute

        Assert.Single(page.Doc.Descendants(XHtml + "script"));
        Assert.DoesNotContain(page.Doc.Descendants(), e => e.Name.LocalName is "b" or "i");
        Assert.DoesNotContain(page.Doc.Descendants().Attributes(), a => a.Name.LocalName.StartsWith("on", StringComparison.Ordinal));
        var shown = WithClass(page.Table("leaderboard"), XHtml + "td", "name").Select(td => td.Nodes().OfType<XText>().First().Value).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), shown.Order(StringComparer.Ordinal));
        Assert.Contains(page.Chart("sweep-loss").Descendants(Svg + "g"), g => (string?)g.Attribute("data-series") == EscapingTests.Hostile);
    }
}
