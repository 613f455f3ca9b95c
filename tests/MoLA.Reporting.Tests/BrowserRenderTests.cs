using System.Text.RegularExpressions;

namespace MoLA.Reporting.Tests;

/// <summary>The page in a real browser: its charts are in the rendered DOM and its script ran without errors.</summary>
public sealed class BrowserRenderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [ChromiumFact]
    public void ComparisonPageRendersWithItsChartsAndNoScriptErrors()
    {
        using var tmp = new TempDir();
        RunFixtures.Write(tmp.Sub("a"), EscapingTests.Hostile, aux: 4);
        RunFixtures.Write(tmp.Sub("b"), "5555", [5, 5, 5, 5, 5, 5, 5, 5], load: false, lossOffset: 0.3);
        RunFixtures.Write(tmp.Sub("c"), "empty", steps: 0, eval: false);
        var report = HtmlReport.Write(tmp.Path);

        var rendered = Chromium.Render(report.Path, Timeout);
        Assert.Empty(rendered.UncaughtErrors);
        // The script's last statement marks the root element: it ran to the end.
        Assert.Matches(new Regex("<html[^>]*data-script=\"ready\""), rendered.Dom);
        var charts = Regex.Matches(rendered.Dom, "<svg[^>]*data-chart=\"([a-z-]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["loss", "aux", "lr", "allocation", "expert-load", "allocation", "allocation", "expert-load"], charts);
        // Loss: raw + smoothed for the two runs with steps; aux: only the run trained with it.
        Assert.Equal(6, Regex.Matches(rendered.Dom, "<path class=\"series (raw|smoothed)\"[^>]*data-series=\"(&lt;script|5555)").Count);
        Assert.DoesNotContain("<script>alert", rendered.Dom); // the hostile name stayed text in the browser's DOM too
    }

    [ChromiumFact]
    public void AScriptErrorWouldBeSeen()
    {
        // The detector itself: a page whose script throws must show up as an uncaught error and no marker.
        using var tmp = new TempDir();
        var file = tmp.Sub("broken.html");
        File.WriteAllText(file, "<!DOCTYPE html><html><body><script>document.body.dataset.x = missingFunction();</script></body></html>");
        var rendered = Chromium.Render(file, Timeout);
        Assert.Contains(rendered.UncaughtErrors, l => l.Contains("missingFunction", StringComparison.Ordinal));
        Assert.DoesNotContain("data-script=\"ready\"", rendered.Dom);
    }
}
