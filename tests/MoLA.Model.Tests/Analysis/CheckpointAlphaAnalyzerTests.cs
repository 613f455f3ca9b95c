using MoLA.Model.Allocation;
using MoLA.Model.Analysis;
using MoLA.Model.Llama;
using MoLA.Model.Tests.Llama;
using MoLA.Torch.IO;

namespace MoLA.Model.Tests.Analysis;

public sealed class CheckpointAlphaAnalyzerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-alpha-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly LlamaConfig Config = new(hiddenSize: 64, intermediateSize: 96, numHiddenLayers: 3, numAttentionHeads: 4,
        vocabSize: 32, numKeyValueHeads: 2);

    [Fact]
    public void AlphasOfEveryProjectionMatchTheLoadedModel()
    {
        LlamaFixture.WriteRandomCheckpoint(_dir, Config, 5, new LlamaSaveOptions { MaxShardBytes = 64 << 10 });
        Assert.True(File.Exists(Path.Combine(_dir, LlamaCheckpoint.IndexFileName)));   // sharded
        var result = CheckpointAlphaAnalyzer.Analyze(_dir);
        Assert.Equal(3, result.Layers.Count);
        using var model = LlamaCheckpoint.Load(_dir);
        foreach (var layer in result.Layers)
        {
            Assert.Equal(7, layer.Matrices.Count);
            Assert.Equal(layer.Matrices.Average(m => m.Alpha), layer.Quality, 12);
            foreach (var m in layer.Matrices)
            {
                var expected = EmpiricalSpectralDensity.Alpha(model.BaseProjection(m.Layer, m.Projection).weight).Alpha;
                Assert.Equal(expected, m.Alpha, 9);
            }
        }
        var allocation = AlphaLoRAAllocator.Allocate(result.MatrixAlphas, budget: 12, new AlphaLoRAOptions { Rounding = ExpertRounding.LargestRemainder });
        Assert.Equal(12, allocation.TotalExperts);
    }

    [Fact]
    public void MissingProjectionIsNamed()
    {
        LlamaFixture.WriteRandomCheckpoint(_dir, Config, 6);
        var path = Path.Combine(_dir, LlamaCheckpoint.WeightsFileName);
        var all = SafetensorsIO.Load(path);
        try
        {
            all.Remove("model.layers.1.mlp.down_proj.weight", out var removed);
            removed!.Dispose();
            SafetensorsIO.Save(path, all);
        }
        finally { foreach (var t in all.Values) t.Dispose(); }
        var ex = Assert.Throws<LlamaCheckpointException>(() => CheckpointAlphaAnalyzer.Analyze(_dir));
        Assert.Contains("layer 1 has no Down projection", ex.Message);
    }
}
