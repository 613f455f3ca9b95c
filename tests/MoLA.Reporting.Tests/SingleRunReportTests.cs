using System.Xml.Linq;
using MoLA.Training.Runs;
using static MoLA.Reporting.Tests.PageXml;

namespace MoLA.Reporting.Tests;

/// <summary>The page of one complete run, checked element by element against the run files it was made from.</summary>
public sealed class SingleRunReportTests
{
    private static PageXml RenderRun(TempDir tmp, double aux = 0, string name = "tiny-2468")
    {
        var dir = tmp.Sub("run");
        RunFixtures.Write(dir, name, aux: aux);
        var result = HtmlReport.Write(dir, generated: new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
        Assert.Equal(Path.Combine(dir, RunFiles.Report), result.Path);
        Assert.Equal(1, result.Runs);
        return new PageXml(File.ReadAllText(result.Path));
    }

    [Fact]
    public void EveryChartHasATitleAndTheExpectedKinds()
    {
        using var tmp = new TempDir();
        var page = RenderRun(tmp);
        Assert.Equal(["loss", "lr", "allocation", "expert-load"], page.Charts.Select(c => (string?)c.Attribute("data-chart")));
        foreach (var svg in page.Charts)
        {
            var title = svg.Elements(Svg + "title").First();
            Assert.False(string.IsNullOrWhiteSpace(title.Value));
            Assert.Equal((string?)title.Attribute("id"), (string?)svg.Attribute("aria-labelledby"));
            Assert.Contains("chart", ((string)svg.Attribute("class")!).Split(' '));
        }
        var ids = page.Doc.Descendants().Select(e => (string?)e.Attribute("id")).OfType<string>().ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal("single", (string?)page.Doc.Descendants(XHtml + "body").Single().Attribute("data-mode"));
    }

    [Fact]
    public void LossChartCarriesTheRawValuesAndTheirDebiasedEma()
    {
        using var tmp = new TempDir();
        var page = RenderRun(tmp);
        var paths = WithClass(page.Chart("loss"), Svg + "path", "series").ToList();
        Assert.Equal(2, paths.Count);
        var raw = Assert.Single(paths, p => ((string)p.Attribute("class")!).Contains("raw"));
        var smooth = Assert.Single(paths, p => ((string)p.Attribute("class")!).Contains("smoothed"));
        var steps = RunFixtures.Steps(40);
        Assert.Equal(steps.Select(s => (double)s.Step), Numbers(raw, "data-x"));
        Assert.Equal(steps.Select(s => s.Loss), Numbers(raw, "data-y"), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b));

        // Oracle: the EMA written out as a loop, debiased by 1 - 0.9^n.
        double acc = 0;
        var expected = steps.Select((s, i) => { acc = 0.9 * acc + 0.1 * s.Loss; return acc / (1 - Math.Pow(0.9, i + 1)); }).ToList();
        Assert.Equal(expected, Numbers(smooth, "data-y"), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b));
        Assert.Equal(steps[0].Loss, Numbers(smooth, "data-y")[0], 5); // debiased: starts at the first value, not 0.1 of it

        // 40 points in one unbroken line: one "M" and 39 "L".
        var d = (string)raw.Attribute("d")!;
        Assert.Equal(1, d.Count(c => c == 'M'));
        Assert.Equal(39, d.Count(c => c == 'L'));
        Assert.Equal(2, WithClass(page.Chart("loss"), Svg + "g", "legend-item").Count());
    }

    [Fact]
    public void AuxChartAppearsOnlyWhenTheAuxLossIsNonZero()
    {
        using (var tmp = new TempDir()) Assert.Empty(RenderRun(tmp).ChartsOf("aux"));
        using (var tmp = new TempDir())
        {
            var aux = RenderRun(tmp, aux: 8.0).Chart("aux");
            var raw = Assert.Single(WithClass(aux, Svg + "path", "raw"));
            Assert.Equal(RunFixtures.Steps(40, aux: 8.0).Select(s => s.AuxLoss), Numbers(raw, "data-y"), (a, b) => Math.Abs(a - b) <= 1e-5 * b);
        }
    }

    [Fact]
    public void HeatmapCellsAreTheLayersTokenSharesSummedOverModules()
    {
        using var tmp = new TempDir();
        var page = RenderRun(tmp);
        var heatmap = page.Chart("expert-load");
        var cells = WithClass(heatmap, Svg + "rect", "cell").ToList();
        var experts = RunFixtures.Experts2468;
        Assert.Equal(experts.Sum(), cells.Count); // cells past a layer's count are not drawn
        for (var l = 0; l < experts.Length; l++)
        {
            var row = cells.Where(c => (int)c.Attribute("data-layer")! == l).ToList();
            Assert.Equal(experts[l], row.Count);
            // Oracle: plain loops over the fixture's formula, (l+1)(e+1) + 3 * module index, summed over 3 modules.
            var tokens = Enumerable.Range(0, experts[l]).Select(e => Enumerable.Range(0, 3).Sum(mi => (l + 1) * (e + 1) + mi * 3)).ToArray();
            double total = tokens.Sum();
            foreach (var c in row)
            {
                var e = (int)c.Attribute("data-expert")!;
                Assert.Equal(tokens[e] / total, double.Parse((string)c.Attribute("data-share")!, System.Globalization.CultureInfo.InvariantCulture), 5);
                Assert.Contains($"{tokens[e]} tokens", c.Element(Svg + "title")!.Value);
            }
        }
        // The legend: a gradient bar with its range.
        Assert.Single(WithClass(heatmap, Svg + "rect", "scale"));
        Assert.Single(heatmap.Descendants(Svg + "linearGradient"));
    }

    [Fact]
    public void AllocationBarsAndSummaryFollowTheManifest()
    {
        using var tmp = new TempDir();
        var page = RenderRun(tmp);
        var bars = WithClass(page.Chart("allocation"), Svg + "rect", "bar").ToList();
        Assert.Equal(RunFixtures.Experts2468, bars.Select(b => (int)b.Attribute("data-experts")!));
        // Taller bar for more experts.
        Assert.True(double.Parse((string)bars[7].Attribute("height")!) > double.Parse((string)bars[0].Attribute("height")!));

        var summary = page.Table("summary");
        string Cell(string row) => summary.Descendants(XHtml + "tr").Single(r => r.Element(XHtml + "th")?.Value == row).Elements(XHtml + "td").Single().Value;
        Assert.Equal("moe-lora", Cell("method"));
        Assert.Equal("/models/tiny-llama", Cell("base model"));
        Assert.Equal("40 of 40", Cell("steps"));
        Assert.Equal("1,234,567", Cell("trainable parameters"));
        Assert.Equal("mola 2468: 40 experts over 8 layers", Cell("allocation"));
        Assert.Equal("2 2 4 4 6 6 8 8", Cell("experts per layer"));
        Assert.Equal("8 (every layer)", Cell("rank"));
    }

    [Fact]
    public void AccuracyTableListsEveryRowWithItsInterval()
    {
        using var tmp = new TempDir();
        var page = RenderRun(tmp);
        var table = page.Table("accuracy");
        var rows = table.Element(XHtml + "tbody")!.Elements(XHtml + "tr").ToList();
        var expected = RunFixtures.Eval().Rows;
        Assert.Equal(expected.Count, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var tds = rows[i].Elements(XHtml + "td").Select(t => t.Value).ToList();
            var r = expected[i];
            Assert.Equal([r.Dataset, r.Format, r.Task, $"{r.Correct} / {r.Total}"], tds.Take(4));
            Assert.Equal($"{r.Accuracy * 100:0.0}% [{r.CiLow * 100:0.0}%, {r.CiHigh * 100:0.0}%]", tds[4]);
        }
        Assert.Empty(page.WithClass(XHtml + "td", "best")); // nothing to compare with
    }

    [Fact]
    public void PageIsSelfContained()
    {
        using var tmp = new TempDir();
        var page = RenderRun(tmp, aux: 1);
        foreach (var e in page.Doc.Descendants())
        {
            foreach (var a in e.Attributes().Where(a => a.Name.LocalName is "src" or "href"))
                Assert.StartsWith("#", a.Value); // in-page links only
            Assert.NotEqual("link", e.Name.LocalName);
            Assert.NotEqual("img", e.Name.LocalName);
        }
        Assert.DoesNotContain("@import", page.Html);
        Assert.DoesNotContain("url(http", page.Html);
        Assert.Single(page.Doc.Descendants(XHtml + "script"));
        Assert.Contains("default-src 'none'", page.Html); // the CSP forbids fetching anything
    }
}
