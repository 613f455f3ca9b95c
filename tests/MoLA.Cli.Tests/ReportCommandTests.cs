using System.Text.Json;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>`mola report`: writes the page, prints its path, and names the file on bad input (exit 2).</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mola-report-cli-" + Guid.NewGuid().ToString("N"));

    public ReportCommandTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private RunDirectory Run(string name, int steps = 5)
    {
        var run = new RunDirectory(Path.Combine(_root, name));
        run.WriteManifest(new RunManifest(name, "moe-lora", "2026-11-22T10:00:00Z", "/models/tiny",
            new AllocationSummary("uniform", null, [2, 3], [2, 2], [8, 8]), 4242, steps, new Dictionary<string, string>()));
        run.ResetSteps();
        for (var s = 1; s <= steps; s++) run.AppendStep(new StepRecord(s, 3.0 / s, 0, 1e-4, 100, 1000, 1, 0.1, null));
        return run;
    }

    [Fact]
    public void WritesReportHtmlAndPrintsJson()
    {
        var run = Run("one");
        var result = Cli.InProcess("report", run.Path, "--json");
        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(run.ReportPath, json.RootElement.GetProperty("report").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("runs").GetInt32());
        Assert.Contains("data-chart=\"loss\"", File.ReadAllText(run.ReportPath));
    }

    [Fact]
    public void ComparesTheRunsOfAFolderIntoOut()
    {
        Run("a");
        Run("b", steps: 2);
        var outFile = Path.Combine(_root, "pages", "cmp.html");
        Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
        var result = Cli.InProcess("report", _root, "--out", outFile);
        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Equal($"wrote {outFile} (2 runs)", result.Stdout.Trim());
        Assert.Contains("data-mode=\"comparison\"", File.ReadAllText(outFile));
    }

    [Fact]
    public void BadInputNamesTheFileAndExitsWithUsage()
    {
        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        var result = Cli.InProcess("report", empty);
        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains($"{empty}: not a run directory", result.Stderr);

        var run = Run("bad");
        var lines = File.ReadAllLines(run.StepsPath);
        lines[1] = "not json";
        File.WriteAllLines(run.StepsPath, lines);
        result = Cli.InProcess("report", run.Path);
        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains($"{run.StepsPath}:2:", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr); // no stack trace

        result = Cli.InProcess("report", Run("ok").Path, "--out", Path.Combine(_root, "missing-dir", "r.html"));
        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains("--out: output folder", result.Stderr);
    }
}
