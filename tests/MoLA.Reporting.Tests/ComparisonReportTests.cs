using System.Xml.Linq;
using static MoLA.Reporting.Tests.PageXml;

namespace MoLA.Reporting.Tests;

/// <summary>`mola report DIR` on a folder of runs: one page comparing them.</summary>
public sealed class ComparisonReportTests
{
    private static readonly int[] Uniform = [5, 5, 5, 5, 5, 5, 5, 5];
    private static readonly int[] Hourglass = [8, 8, 2, 2, 2, 2, 8, 8];

    private static (PageXml Page, ReportResult Result) Compare(TempDir tmp)
    {
        RunFixtures.Write(tmp.Sub("a-2468"), "2468", evalShift: 0.1);
        RunFixtures.Write(tmp.Sub("b-5555"), "5555", Uniform, lossOffset: 0.2, load: false);
        RunFixtures.Write(tmp.Sub("c-8228"), "8228", Hourglass, steps: 25, lossOffset: -0.1, eval: false);
        Directory.CreateDirectory(tmp.Sub("not-a-run")); // ignored: no run.json
        File.WriteAllText(tmp.Sub("notes.txt"), "ignored");
        var result = HtmlReport.Write(tmp.Path, tmp.Sub("cmp.html"));
        return (new PageXml(File.ReadAllText(result.Path)), result);
    }

    [Fact]
    public void OverlaysOneRawAndOneSmoothedLinePerRunWithALegend()
    {
        using var tmp = new TempDir();
        var (page, result) = Compare(tmp);
        Assert.Equal(3, result.Runs);
        Assert.Equal("comparison", (string?)page.Doc.Descendants(XHtml + "body").Single().Attribute("data-mode"));
        var loss = page.Chart("loss");
        var legend = WithClass(loss, Svg + "g", "legend-item").Select(g => (string?)g.Attribute("data-series")).ToList();
        Assert.Equal(["2468", "5555", "8228"], legend);
        var paths = WithClass(loss, Svg + "path", "series").ToList();
        Assert.Equal(6, paths.Count);
        foreach (var (run, steps) in new[] { ("2468", 40), ("5555", 40), ("8228", 25) })
        {
            var mine = paths.Where(p => (string?)p.Attribute("data-series") == run).ToList();
            Assert.Equal(2, mine.Count);
            Assert.Single(mine.Select(p => (string?)p.Attribute("stroke")).Distinct()); // one colour per run
            Assert.All(mine, p => Assert.Equal(steps, Numbers(p, "data-x").Length));
        }
        Assert.Equal(3, WithClass(page.Chart("lr"), Svg + "path", "series").Count());
        Assert.Empty(page.ChartsOf("aux")); // no run trained with the aux loss
    }

    [Fact]
    public void AccuracyTableHasOneColumnPerRunAndHighlightsTheBest()
    {
        using var tmp = new TempDir();
        var (page, _) = Compare(tmp);
        var table = page.Table("accuracy");
        var head = table.Descendants(XHtml + "th").Select(t => t.Value).ToList();
        Assert.Equal(["dataset", "format", "task", "2468", "5555", "8228"], head);
        var rows = table.Element(XHtml + "tbody")!.Elements(XHtml + "tr").ToList();
        Assert.Equal(3, rows.Count);
        foreach (var row in rows)
        {
            var runs = row.Elements(XHtml + "td").Skip(3).ToList();
            Assert.Equal(3, runs.Count);
            Assert.Equal("-", runs[2].Value); // 8228 has no eval.json
            var acc = runs.Take(2).Select(td => double.Parse((string)td.Attribute("data-accuracy")!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var best = runs.Select((td, i) => (td, i)).Where(p => ((string?)p.td.Attribute("class") ?? "").Contains("best")).Select(p => p.i).ToList();
            // Oracle: the indices holding the row's maximum (both on a tie).
            Assert.Equal(Enumerable.Range(0, 2).Where(i => acc[i] == acc.Max()), best);
        }
        // arith: 70/100 beats 60/100; multiple_choice: 150/200 both, a tie.
        Assert.Single(rows[0].Elements(XHtml + "td"), td => ((string?)td.Attribute("class") ?? "").Contains("best"));
        Assert.Equal(2, rows[2].Elements(XHtml + "td").Count(td => ((string?)td.Attribute("class") ?? "").Contains("best")));
    }

    [Fact]
    public void EachRunHasItsAllocationAndHeatmapOrANote()
    {
        using var tmp = new TempDir();
        var (page, _) = Compare(tmp);
        var allocations = page.ChartsOf("allocation");
        Assert.Equal(3, allocations.Count);
        Assert.Equal(Uniform, WithClass(allocations[1], Svg + "rect", "bar").Select(b => (int)b.Attribute("data-experts")!));
        var heatmaps = page.ChartsOf("expert-load");
        Assert.Equal(2, heatmaps.Count); // 5555 wrote no expert_load.json
        Assert.Equal(Hourglass.Sum(), WithClass(heatmaps[1], Svg + "rect", "cell").Count());
        var sections = page.WithClass(XHtml + "section", "run").ToList();
        Assert.Equal(["2468", "5555", "8228"], sections.Select(s => (string?)s.Attribute("data-run")));
        var note = Assert.Single(page.WithClass(XHtml + "p", "note"), p => (string?)p.Attribute("data-missing") == "expert_load.json");
        Assert.Contains("5555", note.Value);
        Assert.Same(sections[1], note.Parent);
    }

    [Fact]
    public void RunsWithTheSameNameGetTheirDirectoryAppended()
    {
        using var tmp = new TempDir();
        RunFixtures.Write(tmp.Sub("x"), "same", steps: 3);
        RunFixtures.Write(tmp.Sub("y"), "same", steps: 3);
        var runs = ReportSource.Discover(tmp.Path);
        Assert.Equal(["same (x)", "same (y)"], runs.Select(r => r.Label));
    }
}
