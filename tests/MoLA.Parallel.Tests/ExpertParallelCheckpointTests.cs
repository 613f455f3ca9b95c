using System.Text.Json;
using MoLA.Parallel.Benchmarks;
using MoLA.Torch;
using MoLA.Torch.IO;

namespace MoLA.Parallel.Tests;

/// <summary>
/// Checkpoints under expert parallelism: the experts gathered to rank 0 make the same files a single process
/// writes, and every EP rank resumes its own shard from them. The oracle is one process (no engine) training on
/// the same global batches, in float64; tolerance 1e-9 on every element (the bound of EquivalenceTests).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ExpertParallelCheckpointTests : IDisposable
{
    private const double Tolerance = 1e-9;
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-ep-ckpt-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); }
        catch (IOException) { }
    }

    [Fact]
    public void TwoExpertParallelRanksCheckpointAsOneProcessAndResumeToTheUninterruptedAdapter()
    {
        // Rank 0 holds the higher expert ids of layer 0 (the gather must put blocks back in id order) and
        // layers differ in how uneven they are.
        var placement = Path.Combine(_dir, "placement.json");
        File.WriteAllText(placement, """{ "0": [[2, 3], [0, 1]], "1": [[0, 1, 2, 3, 4], [5]] }""");
        var o = new TinyRunOptions { DType = DType.Float64, Steps = 6, GlobalBatch = 4 };
        var single = Path.Combine(_dir, "single");
        torch.set_num_threads(1);
        var reference = TinyTrainingRun.Run(o with { CheckpointEvery = 3, OutputDir = single }, null, null);

        var ep = Path.Combine(_dir, "ep");
        string[] args = ["--steps", "6", "--batch", "4", "--checkpoint-every", "3", "--output-dir", ep, "--dtype", "float64"];
        Ranks.Run(2, 2, [.. args, "--stop-at", "3"], Path.Combine(_dir, "r1"), TimeSpan.FromSeconds(90), placement);
        Assert.Equal(["checkpoint-3"], Directory.GetDirectories(ep).Select(Path.GetFileName));
        AssertSameCheckpoint(Path.Combine(single, "checkpoint-3"), Path.Combine(ep, "checkpoint-3"));

        var resumed = Ranks.Run(2, 2, [.. args, "--resume", "1"], Path.Combine(_dir, "r2"), TimeSpan.FromSeconds(90), placement);
        // The checkpoint written after resuming (gathered from the resumed shards) equals the single process's too.
        AssertSameCheckpoint(Path.Combine(single, "checkpoint-6"), Path.Combine(ep, "checkpoint-6"));
        foreach (var r in resumed)
        {
            Assert.Equal(3, r.Losses.Count);
            for (var s = 0; s < 3; s++)
                Assert.True(Math.Abs(reference.Losses[3 + s] - r.Losses[s]) <= Tolerance, $"rank {r.Rank} step {4 + s}: {r.Losses[s]} vs {reference.Losses[3 + s]}");
            foreach (var (name, values) in r.Tensors)
            {
                var worst = reference.Tensors[name].Zip(values, (a, b) => Math.Abs(a - b)).Max();
                Assert.True(worst <= Tolerance, $"rank {r.Rank} {name}: max |difference| {worst}");
            }
        }
        // Together the ranks hold every expert (rank 0 experts 2, 3 of layer 0; rank 1 expert 5 of layer 1).
        Assert.Equal(reference.Tensors.Keys.Order(), resumed.SelectMany(r => r.Tensors.Keys).Distinct().Order());
        Assert.Contains(resumed[0].Tensors.Keys, k => k.Contains("layers.0.", StringComparison.Ordinal) && k.EndsWith(".A2", StringComparison.Ordinal));
        Assert.Contains(resumed[1].Tensors.Keys, k => k.Contains("layers.1.", StringComparison.Ordinal) && k.EndsWith(".A5", StringComparison.Ordinal));
    }

    [Fact]
    public void ALocalPartOfAWrongShapeNamesBothShapes()
    {
        var layout = new ExpertShardLayout(1, 4, [(0, 3), (3, 2)], "m.lora_B");
        using var whole = torch.zeros([8, 20]);
        using var part = ExpertGather.LocalPart(whole, layout, 1, [8, 8]);
        Assert.Equal([8L, 8L], part.Shape);
        using var wrong = torch.zeros([8, 16]);
        var e = Assert.Throws<ArgumentException>(() => ExpertGather.LocalPart(wrong, layout, 1, [8, 8]));
        Assert.Contains("[8, 16], expected the whole [8, 20]", e.Message);
    }

    /// <summary>Same files, names, shapes and trainer state; every tensor within the tolerance.</summary>
    private static void AssertSameCheckpoint(string expectedDir, string actualDir)
    {
        Assert.Equal(Directory.GetFiles(expectedDir).Select(Path.GetFileName).Order(), Directory.GetFiles(actualDir).Select(Path.GetFileName).Order());
        foreach (var file in new[] { "adapter_model.safetensors", "optimizer.safetensors" })
        {
            using var scope = torch.NewDisposeScope();
            var expected = SafetensorsIO.Load(Path.Combine(expectedDir, file));
            var actual = SafetensorsIO.Load(Path.Combine(actualDir, file));
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (name, t) in expected)
            {
                Assert.Equal(t.Shape, actual[name].Shape);
                var diff = t.sub(actual[name]).abs().max().item();
                Assert.True(diff <= Tolerance, $"{file} {name}: max |difference| {diff}");
            }
        }
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(expectedDir, "trainer_state.json")));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(actualDir, "trainer_state.json")));
        Assert.Equal(a.RootElement.ToString(), b.RootElement.ToString());
        Assert.Equal(File.ReadAllText(Path.Combine(expectedDir, "adapter_config.json")), File.ReadAllText(Path.Combine(actualDir, "adapter_config.json")));
    }
}
