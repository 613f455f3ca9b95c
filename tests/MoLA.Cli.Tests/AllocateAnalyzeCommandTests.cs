using System.Text.Json;
using MoLA.Model.Llama;
using MoLA.Torch;

namespace MoLA.Cli.Tests;

public sealed class AllocateAnalyzeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-cli-alloc-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Fact]
    public void MolaShapeOnLlama2Layers()
    {
        var run = Cli.InProcess("allocate", "--strategy", "mola", "--shape", "2468", "--layers", "32", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var doc = JsonDocument.Parse(run.Stdout).RootElement;
        var experts = Ints(doc.GetProperty("experts"));
        Assert.Equal(Enumerable.Repeat(2, 8).Concat(Enumerable.Repeat(4, 8)).Concat(Enumerable.Repeat(6, 8)).Concat(Enumerable.Repeat(8, 8)), experts);
        Assert.Equal(160, doc.GetProperty("total_experts").GetInt32());
    }

    [Fact]
    public void AlphaLoRAWhatIfMatchesTheReferenceRounding()
    {
        var run = Cli.InProcess("allocate", "--strategy", "alphalora", "--alphas", "2,3,4,5", "--budget", "16", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var doc = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(new[] { 1, 2, 5, 8 }, Ints(doc.GetProperty("experts")));
        Assert.Equal(new[] { 1, 2, 2, 2 }, Ints(doc.GetProperty("top_k")));
    }

    [Theory]
    [InlineData("character 'x'", "allocate", "--shape", "24x8")]
    [InlineData("needs --shape", "allocate", "--strategy", "mola")]
    [InlineData("needs --budget", "allocate", "--strategy", "alphalora", "--alphas", "1,2")]
    [InlineData("item 2 ('-1')", "allocate", "--strategy", "alphalora", "--alphas", "1,-1", "--budget", "4")]
    [InlineData("analyze needs --model", "analyze")]
    public void BadInputExitsTwoAndSaysWhy(string expected, params string[] args)
    {
        var run = Cli.InProcess(args);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains(expected, run.Stderr);
        Assert.DoesNotContain("(Parameter", run.Stderr);
    }

    [Fact]
    public void AnalyzeACheckpointWithJsonAndSvg()
    {
        var config = new LlamaConfig(hiddenSize: 48, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, vocabSize: 32);
        torch.manual_seed(3);
        using (var model = new LlamaModel(config)) LlamaCheckpoint.Save(model, _dir);
        var svg = Path.Combine(_dir, "alpha.svg");
        var run = Cli.InProcess("analyze", "--model", _dir, "--json", "--svg", svg);
        Assert.True(run.ExitCode == 0, run.ToString());
        var layers = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("layers");
        Assert.Equal(2, layers.GetArrayLength());
        Assert.All(layers.EnumerateArray(), l => Assert.Equal(7, l.GetProperty("matrices").GetArrayLength()));
        var chart = File.ReadAllText(svg);
        Assert.StartsWith("<svg", chart);
        Assert.Equal(2, chart.Split("<rect x=").Length - 1);

        var alloc = Cli.InProcess("allocate", "--strategy", "alphalora", "--model", _dir, "--budget", "6", "--rounding", "largest-remainder", "--json");
        Assert.True(alloc.ExitCode == 0, alloc.ToString());
        var doc = JsonDocument.Parse(alloc.Stdout).RootElement;
        Assert.Equal(6, doc.GetProperty("total_experts").GetInt32());
        Assert.True(doc.GetProperty("trainable_parameters").GetInt64() > 0);
    }
}

public sealed class BenchMoeLayerCommandTests
{
    [Fact]
    public void QuickJsonRunReportsEveryPathAndN()
    {
        var run = Cli.InProcess("bench", "moe-layer", "--quick", "--threads", "2", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var text = run.Stdout;
        foreach (var path in new[] { "Loop", "DenseGated", "Grouped", "Auto" }) Assert.Contains(path, text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, Cli.InProcess("bench", "moe-layer", "--rounds", "0").ExitCode);
    }
}
