using System.Text.Json;
using MoLA.Model.MoeLora;
using MoLA.Torch;
using Xunit.Abstractions;

namespace MoLA.Model.Tests.MoeLora;

public class MoeLayerBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void Run_OnATinyLayer_ReportsEveryVariantAndTheRatios()
    {
        var threads = torch.get_num_threads();
        var result = MoeLayerBenchmark.Run(new MoeLayerBenchOptions
        {
            InFeatures = 32,
            OutFeatures = 24,
            Tokens = 64,
            ExpertCounts = [2, 4],
            TargetExperts = 4,
            Threads = 1,
            WarmupRounds = 0,
            Rounds = 2,
        });
        Assert.Equal(threads, torch.get_num_threads());
        Assert.Equal(2 + 2 * 4, result.Rows.Count);
        Assert.Contains(result.Rows, r => r.Variant == "base" && r.Experts is null);
        Assert.Contains(result.Rows, r => r.Variant == "lora" && r.Experts is null);
        foreach (var n in new[] { 2, 4 })
            foreach (var v in new[] { "loop", "dense", "grouped", "auto" })
                Assert.Contains(result.Rows, r => r.Variant == v && r.Experts == n);
        Assert.All(result.Rows, r => Assert.Equal(2, r.SamplesMs.Count));
        Assert.All(result.Rows, r => Assert.True(r.MedianMs > 0 && r.MinMs <= r.MedianMs));
        Assert.NotNull(result.AutoOverPlainLora);
        Assert.NotNull(result.LoopOverAuto);
        Assert.Contains("\"Rows\"", JsonSerializer.Serialize(result));
        Assert.Throws<ArgumentOutOfRangeException>(() => MoeLayerBenchmark.Run(new MoeLayerBenchOptions { ExpertCounts = [] }));
    }

    /// <summary>The full measurement (about a minute on 2 cores): MOLA_BENCH=1 dotnet test ... --filter FullyQualifiedName~MoeLayerBenchmarkTests.</summary>
    [EnvFact("MOLA_BENCH")]
    [Trait("Category", "Benchmark")]
    public void Run_FullSize_PrintsTheTable()
    {
        var result = MoeLayerBenchmark.Run(new MoeLayerBenchOptions(), line => output.WriteLine(line));
        output.WriteLine(MoeLayerBenchmark.FormatTable(result));
        // Timings on a shared machine are reported, not asserted; only the run's completeness is.
        Assert.Equal(2 + 4 * 5, result.Rows.Count);
    }
}
