using MoLA.Cli.Configuration;
using MoLA.Model.Allocation;
using MoLA.Model.ParameterCounting;
using MoLA.Cli.Sweeps;
using MoLA.Silo;

namespace MoLA.Cli.Tests;

/// <summary>
/// A sweep file expands into configurations (allocation entries x axes; all of the grid or random(n) of it) and trials
/// (x seeds), on the shipped tiny base (8 layers): parameter matching, AlphaLoRA from its spectra, mirror pairs, ASHA's
/// evaluation steps, and errors that name the file's line.
/// </summary>
public sealed class SweepExpansionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-sweep-expansion-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private const string Base = """
        base:
          steps: 30
          eval-format: both
          embedded-train-per-task: 20
        """;

    [Fact]
    public void Grid_CrossesEntriesAxesAndSeeds_SeedMajor()
    {
        var request = Expand($$"""
            name: grid
            {{Base}}
            allocation: [2468, 8642, uniform, lora]
            axes:
              lr: [1e-3, 3e-3]
            seeds: [1, 2]
            """);
        Assert.Equal("grid", request.Name);
        var names = request.Configurations!.Select(c => c.Name).ToList();
        Assert.Equal(["mola-2468 lr=1e-3", "mola-2468 lr=3e-3", "mola-8642 lr=1e-3", "mola-8642 lr=3e-3",
            "uniform-5 lr=1e-3", "uniform-5 lr=3e-3", "lora-r42 lr=1e-3", "lora-r42 lr=3e-3"], names);
        Assert.Equal(16, request.Trials!.Count);
        // Every configuration's first seed comes before any second seed.
        Assert.Equal(names, request.Trials.Take(8).Select(t => t.Configuration));
        Assert.All(request.Trials.Take(8), t => Assert.Equal(1, t.Seed));
        Assert.All(request.Trials.Skip(8), t => Assert.Equal(2, t.Seed));
        Assert.Equal(["t01", "t02"], request.Trials.Take(2).Select(t => t.Name));
        var trial = request.Trials[9];
        Assert.Equal("2", trial.Settings["seed"]);
        Assert.Equal("3e-3", trial.Settings["lr"]);
        Assert.Equal("30", trial.Settings["steps"]);
        Assert.Equal("mola", trial.Settings["strategy"]);
        Assert.Equal("2468", trial.Settings["shape"]);
        Assert.Equal("mola-2468 lr=1e-3", request.Baseline); // the first configuration by default
        Assert.Equal("generation", request.Metric);
        Assert.Null(request.Asha);
        Assert.Equal(30, request.Steps);
        // 2468 puts more experts in the higher layers: it comes first in each mirror pair, one pair per lr.
        Assert.Equal([["mola-2468 lr=1e-3", "mola-8642 lr=1e-3"], ["mola-2468 lr=3e-3", "mola-8642 lr=3e-3"]], request.MirrorPairs!);
    }

    [Fact]
    public void UniformAndLora_MatchTheTrainableParametersOfTheirTarget()
    {
        var request = Expand($$"""
            {{Base}}
            allocation:
              - 2468
              - uniform: {match-parameters-of: mola-2468}
              - lora: {match-parameters-of: mola-2468}
              - lora: 4
            """);
        var shape = MoLA.Model.Llama.LlamaConfig.Load(MoLA.Cli.Training.ModelResolver.ResolveBaseModel(TrainSettings.Embedded)).ToShape();
        // Oracle: the rank from the closed form (MoE-LoRA parameters over one rank's LoRA parameters, all seven projections).
        var moe = TrainableParameterCounter.Count(shape, ExpertAllocation.Parse("2468", shape.NumHiddenLayers, rank: "8")).Total;
        var perRank = TrainableParameterCounter.Count(shape, ExpertAllocation.Parse("1", shape.NumHiddenLayers, "1", "1")).Lora;
        var rank = (int)Math.Round((double)moe / perRank);
        Assert.Equal(42, rank);
        Assert.Equal(["mola-2468", "uniform-5", $"lora-r{rank}", "lora-r4"], request.Configurations!.Select(c => c.Name));
        Assert.Contains("matches mola-2468's", request.Configurations![1].Entry);
        Assert.Equal("lora", request.Configurations[2].Settings["method"]);
        Assert.Equal(rank.ToString(System.Globalization.CultureInfo.InvariantCulture), request.Configurations[2].Settings["rank"]);
        Assert.Empty(request.MirrorPairs!);
    }

    [Fact]
    public void AlphaLora_IsComputedOnceFromTheBaseModelsSpectra_WithTheFirstMolaBudget()
    {
        var request = Expand($$"""
            {{Base}}
            allocation:
              - 2468
              - alphalora
              - name: alpha-24
                alphalora: {budget: 24, rounding: largest-remainder}
              - [1, 2, 3, 4, 5, 6, 7, 8]
            """);
        var alpha = request.Configurations![1];
        Assert.Equal("alphalora", alpha.Name);
        Assert.Equal("explicit", alpha.Settings["strategy"]);
        var experts = alpha.Settings["experts"].Split(',').Select(int.Parse).ToList();
        Assert.Equal(8, experts.Count);
        Assert.StartsWith("alphalora budget 40 beta 2.5 reference -> ", alpha.Entry);
        var small = request.Configurations[2];
        Assert.Equal("alpha-24", small.Name);
        Assert.Equal(24, small.Settings["experts"].Split(',').Select(int.Parse).Sum()); // largest-remainder keeps the budget exactly
        Assert.Equal("explicit-4", request.Configurations[3].Name);
        Assert.Equal("1,2,3,4,5,6,7,8", request.Configurations[3].Settings["experts"]);
    }

    [Fact]
    public void RandomSearch_DrawsReproduciblyAndKeepsTheBaseline()
    {
        var text = $$"""
            {{Base}}
            allocation: [2468, 8642, 3553, 5555]
            axes:
              lr: [1e-3, 2e-3, 3e-3]
            search: random(3)
            search-seed: 5
            baseline: mola-5555
            """;
        var a = Expand(text);
        var b = Expand(text);
        Assert.Equal(a.Configurations!.Select(c => c.Name), b.Configurations!.Select(c => c.Name));
        Assert.Equal("mola-5555 lr=1e-3", a.Baseline);
        Assert.Contains(a.Configurations!, c => c.Name == a.Baseline);
        Assert.InRange(a.Configurations!.Count, 3, 4);
        var all = Expand(text.Replace("random(3)", "grid", StringComparison.Ordinal));
        Assert.Equal(12, all.Configurations!.Count);
        Assert.All(a.Configurations!, c => Assert.Contains(all.Configurations!, x => x.Name == c.Name));
    }

    [Fact]
    public void Asha_EvaluatesEveryTrialAtTheRungs()
    {
        var request = Expand($$"""
            {{Base}}
            allocation: [2468, 8642, 5555]
            seeds: [1, 2]
            scheduler: asha
            asha: {first-rung: 3, eta: 3, min-seeds: 2}
            metric: multiple-choice
            """);
        Assert.Equal(new SweepAshaRequest(3, 3, 2), request.Asha);
        Assert.Equal("multiple_choice", request.Metric);
        Assert.All(request.Trials!, t => Assert.Equal("3,9,27", t.Settings["eval-at"]));
    }

    [Theory]
    [InlineData("base:\n  steps: 30\nallocation: [2468]\nbogus: 1\n", "sweep.yaml:4: sweep: unknown key 'bogus'")]
    [InlineData("base:\n  eval-format: both\nallocation: [2468]\n", "sweep.yaml: base.steps: is required")]
    [InlineData("base:\n  steps: 30\n  lr: fast\nallocation: [2468]\n", "sweep.yaml:3: base: lr: must be")]
    [InlineData("base:\n  steps: 30\nallocation: [2468]\naxes:\n  seed: [1, 2]\n", "sweep.yaml:5: axes: seed cannot be an axis (use seeds: [..])")]
    [InlineData("base:\n  steps: 30\nallocation: [2468]\nbaseline: nope\n", "baseline: 'nope' is not an allocation entry")]
    [InlineData("base:\n  steps: 30\nallocation:\n  - 2468\n  - lora: {match-parameters-of: mola-8642}\n", "sweep.yaml:5: allocation[1]: match-parameters-of: 'mola-8642' is not an entry")]
    [InlineData("base:\n  steps: 30\nallocation: [2468]\nmetric: multiple-choice\n", "metric: is multiple-choice but base.eval-format is generation")]
    [InlineData("base:\n  steps: 30\nallocation: [2468]\nscheduler: asha\nasha: {min-seeds: 3}\n", "asha.min-seeds: is 3 but seeds lists only 1")]
    [InlineData("base:\n  steps: 30\nallocation: [2468, 2468]\n", "allocation[1]: the name 'mola-2468' is taken")]
    [InlineData("base:\n  steps: 30\nallocation: [24x8]\n", "sweep.yaml:3: allocation[0]: shape: '24x8'")]
    public void InvalidSweeps_AreRefusedNamingTheLine(string yaml, string expected)
    {
        var path = Path.Combine(_root, "sweep.yaml");
        File.WriteAllText(path, yaml);
        var e = Assert.Throws<SettingException>(() => SweepExpansion.Expand(SweepFile.Load(path), TextWriter.Null));
        Assert.Contains(expected.Replace("sweep.yaml", path, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void DryRun_PrintsThePlanAndSubmitsNothing()
    {
        var path = Path.Combine(_root, "plan.yaml");
        File.WriteAllText(path, $"{Base}\nallocation: [2468, 8642]\nseeds: [1, 2, 3]\n");
        var run = Cli.InProcess("sweep", path, "--dry-run");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("2 configurations x 3 seeds = 6 trials", run.Stdout);
        Assert.Contains("mirror pair: mola-2468 / mola-8642", run.Stdout);
    }

    private SubmitSweepRequest Expand(string yaml)
    {
        var path = Path.Combine(_root, $"sweep-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return SweepExpansion.Expand(SweepFile.Load(path), TextWriter.Null);
    }
}
