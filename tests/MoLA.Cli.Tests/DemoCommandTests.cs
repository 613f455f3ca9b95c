using System.Text.Json;

namespace MoLA.Cli.Tests;

public sealed class DemoCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-demo-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// The demo is a sweep on an embedded cluster in its own process: six trials (each a `mola train` process started by
    /// the node agent), followed to the end, then results.json, leaderboard.csv and the report from their run directories,
    /// the untuned base on the same items, and summary.json.
    /// </summary>
    [Fact]
    public void QuickDemoSweepsTheSixEntriesOnTheShippedBase_AndComparesThemWithPlainLoraAndTheBase()
    {
        var dir = Path.Combine(_root, "demo");
        var run = Cli.InProcess("demo", "--quick", "--out", dir, "--threads", "2", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var results = json.RootElement.GetProperty("results");
        var configurations = results.GetProperty("configurations").EnumerateArray().ToList();
        Assert.Equal(["alphalora", "lora", "mola-2468", "mola-2468-contrastive", "mola-8642", "uniform-5"], configurations.Select(c => c.GetProperty("name").GetString()).Order());
        var byName = configurations.ToDictionary(c => c.GetProperty("name").GetString()!);
        // Equal expert budget for 2468, 8642, uniform and AlphaLoRA; LoRA's rank matches 2468's trainable parameters within 1%.
        foreach (var name in new[] { "mola-2468", "mola-8642", "uniform-5", "alphalora", "mola-2468-contrastive" })
            Assert.Equal(40, byName[name].GetProperty("experts_per_layer").EnumerateArray().Sum(e => e.GetInt32()));
        var moe = byName["mola-2468"].GetProperty("trainable_parameters").GetInt64();
        var lora = byName["lora"].GetProperty("trainable_parameters").GetInt64();
        Assert.True(Math.Abs(moe - lora) < moe / 100, $"{moe} vs {lora}");
        foreach (var c in configurations)
        {
            var accuracy = c.GetProperty("accuracy").EnumerateArray().ToList();
            Assert.Contains(accuracy, x => x.GetProperty("format").GetString() == "generation" && x.GetProperty("task").GetString() == "all" && x.GetProperty("items").GetInt32() == 10);
            Assert.Contains(accuracy, x => x.GetProperty("format").GetString() == "multiple_choice" && x.GetProperty("task").GetString() == "all");
            Assert.Equal("wilson", c.GetProperty("score").GetProperty("interval").GetString()); // one seed: an interval over items
        }
        // Every allocation against plain LoRA, and MoLA's claim on the mirrored pair.
        Assert.Equal(5, results.GetProperty("comparisons").GetArrayLength());
        var mirror = Assert.Single(results.GetProperty("mirrors").EnumerateArray());
        Assert.Equal("mola-2468", mirror.GetProperty("higher_layers").GetString());

        // Each trial ran as a cluster job into the sweep's directory; the sweep file the demo ran is kept beside it.
        var sweep = json.RootElement.GetProperty("sweep");
        Assert.Equal("succeeded", sweep.GetProperty("state").GetString());
        foreach (var t in sweep.GetProperty("trials").EnumerateArray())
        {
            Assert.Equal(1, t.GetProperty("attempts").GetInt32());
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(t.GetProperty("run_directory").GetString()!, "run.json")));
            var settings = config.RootElement.GetProperty("config");
            // Trained on the answer multiple-choice scoring reads, with a generation budget that holds the longest worked answer.
            Assert.Equal("multiple-choice", settings.GetProperty("embedded-train-format").GetString());
            Assert.Equal("80", settings.GetProperty("max-new-tokens").GetString());
            Assert.Equal("128", settings.GetProperty("eval-batch-size").GetString());
            Assert.Equal(t.GetProperty("configuration").GetString() == "mola-2468-contrastive" ? "0.1" : "0",
                settings.GetProperty("contrastive-loss-coef").GetString());
        }
        Assert.True(File.Exists(json.RootElement.GetProperty("sweep_file").GetString()));
        var directory = sweep.GetProperty("directory").GetString()!;
        Assert.True(File.Exists(Path.Combine(directory, "results.json")));
        Assert.True(File.Exists(Path.Combine(directory, "leaderboard.csv")));
        Assert.False(Directory.Exists(Path.Combine(dir, ".cluster"))); // the embedded cluster's state goes with it
        var report = json.RootElement.GetProperty("report").GetString()!;
        Assert.Contains("data-chart=\"expert-load\"", File.ReadAllText(report));

        // summary.json: the untuned base first, then every entry with its allocation, parameters and accuracy per
        // format, and the paired comparisons (each entry against plain LoRA, and the mirror pair).
        var summaryPath = json.RootElement.GetProperty("summary").GetString()!;
        Assert.Equal(Path.Combine(dir, "summary.json"), summaryPath);
        using var summary = JsonDocument.Parse(File.ReadAllText(summaryPath));
        var entries = summary.RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(7, entries.Count);
        Assert.Equal("base", entries[0].GetProperty("name").GetString());
        Assert.Equal(0, entries[0].GetProperty("trainable_parameters").GetInt64());
        var baseAccuracy = Assert.Single(entries[0].GetProperty("accuracy").EnumerateArray());
        Assert.Equal(("multiple_choice", 10), (baseAccuracy.GetProperty("format").GetString(), baseAccuracy.GetProperty("items").GetInt32()));
        Assert.True(File.Exists(Path.Combine(dir, "base", "predictions.jsonl")));
        foreach (var e in entries.Skip(1))
        {
            Assert.Equal(byName[e.GetProperty("name").GetString()!].GetProperty("trainable_parameters").GetInt64(), e.GetProperty("trainable_parameters").GetInt64());
            Assert.Equal(["generation", "multiple_choice"], e.GetProperty("accuracy").EnumerateArray().Select(a => a.GetProperty("format").GetString()).Order());
            Assert.All(e.GetProperty("accuracy").EnumerateArray(), a =>
                Assert.True(a.GetProperty("low").GetDouble() <= a.GetProperty("accuracy").GetDouble() && a.GetProperty("accuracy").GetDouble() <= a.GetProperty("high").GetDouble()));
        }
        var pairs = summary.RootElement.GetProperty("comparisons").EnumerateArray().ToList();
        Assert.Equal(6, pairs.Count);
        Assert.Equal(5, pairs.Count(p => p.GetProperty("b").GetString() == "lora"));
        Assert.All(pairs, p => Assert.InRange(p.GetProperty("p_value").GetDouble(), 0, 1));
    }
}
