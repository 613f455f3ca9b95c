using System.Text.Json;
using MoLA.Training.Runs;
using static MoLA.Reporting.Tests.PageXml;

namespace MoLA.Reporting.Tests;

/// <summary>Optional files absent, empty metrics, and malformed files (errors must name the file and line or field).</summary>
public sealed class MissingAndMalformedTests
{
    [Fact]
    public void ManifestOnlyGivesNotesNotACrash()
    {
        using var tmp = new TempDir();
        var run = RunFixtures.Write(tmp.Sub("fresh"), "fresh", steps: 0, load: false, eval: false);
        Assert.True(File.Exists(run.StepsPath)); // empty metrics.jsonl
        var page = new PageXml(File.ReadAllText(HtmlReport.Write(run.Path).Path));
        var missing = page.WithClass(XHtml + "p", "note").Select(p => (string?)p.Attribute("data-missing")).ToList();
        Assert.Equal(["metrics.jsonl", "eval.json", "expert_load.json"], missing);
        Assert.Equal(["allocation"], page.Charts.Select(c => (string?)c.Attribute("data-chart")));
        Assert.DoesNotContain(page.Doc.Descendants(XHtml + "table"), t => (string?)t.Attribute("data-table") == "accuracy");

        File.Delete(run.StepsPath); // no metrics.jsonl at all reads the same
        Assert.Contains("not available", HtmlReport.Render(ReportSource.Discover(run.Path), run.Path));
    }

    [Fact]
    public void NonFiniteLossBreaksTheLineInsteadOfBreakingTheChart()
    {
        using var tmp = new TempDir();
        var run = RunFixtures.Write(tmp.Sub("nan"), "nan", steps: 0);
        var steps = RunFixtures.Steps(10).Select(s => s.Step is 4 or 5 ? s with { Loss = double.NaN } : s.Step == 8 ? s with { Loss = double.PositiveInfinity } : s);
        foreach (var s in steps) run.AppendStep(s);
        var page = new PageXml(File.ReadAllText(HtmlReport.Write(run.Path).Path));
        var raw = Assert.Single(WithClass(page.Chart("loss"), Svg + "path", "raw"));
        var d = (string)raw.Attribute("d")!;
        Assert.Equal(3, d.Count(c => c == 'M')); // steps 1-3, 6-7, 9-10
        Assert.DoesNotContain("NaN", d);
        Assert.Contains("3 steps with non-finite loss", page.Table("summary").Value);
    }

    [Fact]
    public void MalformedMetricsLineIsAnErrorNamingFileAndLine()
    {
        using var tmp = new TempDir();
        var run = RunFixtures.Write(tmp.Sub("bad"), "bad", steps: 3);
        var lines = File.ReadAllLines(run.StepsPath);
        lines[1] = "{\"step\": 2, \"loss\": oops}";
        File.WriteAllLines(run.StepsPath, lines);
        var e = Assert.Throws<RunDirectoryException>(() => HtmlReport.Write(run.Path));
        Assert.Contains($"{run.StepsPath}:2:", e.Message);
        Assert.False(File.Exists(run.ReportPath)); // nothing written
    }

    [Fact]
    public void TruncatedLastMetricsLineOfARunningJobIsSkipped()
    {
        using var tmp = new TempDir();
        var run = RunFixtures.Write(tmp.Sub("live"), "live", steps: 5);
        File.AppendAllText(run.StepsPath, "{\"step\": 6, \"lo");
        var runs = ReportSource.Discover(run.Path);
        Assert.Equal(5, runs[0].Steps.Count);
    }

    [Fact]
    public void ExpertLoadThatDisagreesWithTheAllocationNamesTheModule()
    {
        using var tmp = new TempDir();
        var run = RunFixtures.Write(tmp.Sub("load"), "load");
        var load = RunFixtures.Load(RunFixtures.Experts2468);
        var modules = load.Modules.ToList();
        modules[4] = modules[4] with { Tokens = [1, 2, 3] }; // layer 1 has 2 experts
        run.WriteExpertLoad(load with { Modules = modules });
        var e = Assert.Throws<RunDirectoryException>(() => ReportSource.Discover(run.Path));
        Assert.Contains(run.ExpertLoadPath, e.Message);
        Assert.Contains("modules[4].tokens has 3 counts", e.Message);
        Assert.Contains("2 experts to layer 1", e.Message);

        modules[4] = modules[4] with { Layer = 8, Tokens = [1, 2] };
        run.WriteExpertLoad(load with { Modules = modules });
        Assert.Contains("modules[4].layer is 8", Assert.Throws<RunDirectoryException>(() => ReportSource.Discover(run.Path)).Message);
    }

    [Fact]
    public void BadEvaluationAndManifestFieldsAreNamed()
    {
        using var tmp = new TempDir();
        var run = RunFixtures.Write(tmp.Sub("eval"), "eval");
        var eval = RunFixtures.Eval();
        run.WriteEvaluation(eval with { Rows = [eval.Rows[0], eval.Rows[1] with { Accuracy = 1.5 }] });
        var e = Assert.Throws<RunDirectoryException>(() => ReportSource.Discover(run.Path));
        Assert.Contains($"{run.EvaluationPath}: rows[1].accuracy is 1.5", e.Message);

        run.WriteEvaluation(eval);
        var manifest = File.ReadAllText(run.ManifestPath).Replace("\"base_model\": \"/models/tiny-llama\",", "");
        File.WriteAllText(run.ManifestPath, manifest);
        e = Assert.Throws<RunDirectoryException>(() => ReportSource.Discover(run.Path));
        Assert.Equal($"{run.ManifestPath}: base_model missing", e.Message);

        File.WriteAllText(run.ManifestPath, "{ \"name\": ");
        e = Assert.Throws<RunDirectoryException>(() => ReportSource.Discover(run.Path));
        Assert.StartsWith(run.ManifestPath, e.Message);
        Assert.IsType<JsonException>(e.InnerException);
    }

    [Fact]
    public void AFolderWithoutRunsIsNamed()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.Sub("empty"));
        var e = Assert.Throws<RunDirectoryException>(() => ReportSource.Discover(tmp.Path));
        Assert.Contains(tmp.Path, e.Message);
        Assert.Contains("not a run directory", e.Message);
        Assert.Contains("directory not found", Assert.Throws<RunDirectoryException>(() => ReportSource.Discover(tmp.Sub("nope"))).Message);
    }
}
