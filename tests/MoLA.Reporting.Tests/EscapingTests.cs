using System.Xml.Linq;
using MoLA.Training.Runs;
using static MoLA.Reporting.Tests.PageXml;

namespace MoLA.Reporting.Tests;

/// <summary>Names from run files are text, never markup.</summary>
public sealed class EscapingTests
{
    internal const string Hostile = "<script>alert('x')</script>&\"<b>";

    [Fact]
    public void HostileNamesAreEscapedEverywhere()
    {
        using var tmp = new TempDir();
        RunFixtures.Write(tmp.Sub("a"), Hostile);
        var b = RunFixtures.Write(tmp.Sub("b"), "b</svg><svg onload=alert(1)>");
        b.WriteEvaluation(new EvaluationSummary([RunFixtures.Row("d<i>", "generation", "</td><td>", 3, 4)],
            new ContinualSummary(["<x>", "y&z"], [[0.5, 0.25], [0.4, 0.75]], 0.6, -0.05)));
        var html = File.ReadAllText(HtmlReport.Write(tmp.Path).Path);
        var page = new PageXml(html); // well-formed: no name broke out of its element or attribute

        Assert.Single(page.Doc.Descendants(XHtml + "script")); // only the page's own script
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<svg onload", html);
        Assert.DoesNotContain(page.Doc.Descendants(), e => e.Name.LocalName is "b" or "i" or "x");
        Assert.DoesNotContain(page.Doc.Descendants().Attributes(), a => a.Name.LocalName.StartsWith("on", StringComparison.Ordinal));

        // The names come back intact as text.
        var heads = page.Table("summary").Descendants(XHtml + "th").Select(t => t.Value).ToList();
        Assert.Contains(Hostile, heads);
        Assert.Contains("b</svg><svg onload=alert(1)>", heads);
        Assert.Contains(page.Chart("loss").Descendants(Svg + "g"), g => (string?)g.Attribute("data-series") == Hostile);
        Assert.Contains(page.Table("accuracy").Descendants(XHtml + "td"), td => td.Value == "</td><td>");
        Assert.Contains(page.Table("continual").Descendants(XHtml + "th"), th => th.Value == "y&z");
        Assert.Equal(4, page.Charts.Count(c => (string?)c.Attribute("data-chart") is "allocation" or "expert-load"));
    }

    [Fact]
    public void ControlCharactersDoNotMakeThePageInvalid()
    {
        Assert.Equal("a\uFFFDb&lt;&amp;&#39;&quot;\tc", Html.Esc("a\u0001b<&'\"\tc"));
    }
}
