using System.Text.Json;

namespace MoLA.Cli.Tests;

public sealed class DemoCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-demo-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void QuickDemoTrainsEvaluatesAndComparesTheThreeAllocationsOnTheShippedBase()
    {
        var dir = Path.Combine(_root, "demo");
        var run = Cli.InProcess("demo", "--quick", "--out", dir, "--threads", "2", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(["mola-2468", "uniform-5", "lora-r42"], runs.Select(r => r.GetProperty("name").GetString()));
        // Equal expert budget for 2468 and uniform; LoRA's rank matches the MoE-LoRA's trainable parameters within 1%.
        Assert.Equal(40, runs[0].GetProperty("allocation").GetProperty("experts").EnumerateArray().Sum(e => e.GetInt32()));
        Assert.Equal(40, runs[1].GetProperty("allocation").GetProperty("experts").EnumerateArray().Sum(e => e.GetInt32()));
        var moe = runs[0].GetProperty("trainable_parameters").GetInt64();
        var lora = runs[2].GetProperty("trainable_parameters").GetInt64();
        Assert.True(Math.Abs(moe - lora) < moe / 100, $"{moe} vs {lora}");
        foreach (var r in runs)
        {
            var rows = r.GetProperty("evaluation").GetProperty("rows").EnumerateArray().ToList();
            Assert.Contains(rows, x => x.GetProperty("format").GetString() == "generation" && x.GetProperty("total").GetInt32() == 10);
            Assert.Contains(rows, x => x.GetProperty("format").GetString() == "multiple_choice" && x.GetProperty("total").GetInt32() == 10);
        }
        // Trained on both answer forms (what multiple-choice scoring reads), with a generation budget that holds the longest answer.
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "mola-2468", "run.json")));
        var settings = config.RootElement.GetProperty("config");
        Assert.Equal("both", settings.GetProperty("embedded-train-format").GetString());
        Assert.Equal("80", settings.GetProperty("max-new-tokens").GetString());
        var report = json.RootElement.GetProperty("report").GetString()!;
        Assert.Contains("data-chart=\"expert-load\"", File.ReadAllText(report));
    }
}
