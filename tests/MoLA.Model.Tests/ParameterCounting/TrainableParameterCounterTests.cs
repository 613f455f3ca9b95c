using MoLA.Model.Allocation;
using MoLA.Model.ParameterCounting;

namespace MoLA.Model.Tests.ParameterCounting;

public class TrainableParameterCounterTests
{
    private static readonly LlamaShape Llama2_7B = new(HiddenSize: 4096, IntermediateSize: 11008, NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 32);

    [Theory]
    [InlineData(5, 105_635_840L)]
    [InlineData(8, 169_017_344L)]
    public void Llama2_7B_UniformAllocations_MatchMethods(int perLayer, long expected)
    {
        TrainableParameterCount count = TrainableParameterCounter.Count(Llama2_7B, ExpertAllocation.Uniform(32, perLayer));

        Assert.Equal(expected, count.Total);
    }

    [Theory]
    [InlineData("2468", 105_635_840L)]
    [InlineData("8228", 105_635_840L)]
    [InlineData("8888", 169_017_344L)]
    public void Llama2_7B_DependsOnlyOnTotalExperts(string shape, long expected)
    {
        Assert.Equal(expected, TrainableParameterCounter.Count(LlamaShape.Llama2_7B, ExpertAllocation.FromShape(shape, 32)).Total);
    }

    [Fact]
    public void Llama2_7B_PerExpertCost_SplitsIntoLoraAndRouter()
    {
        TrainableParameterCount one = TrainableParameterCounter.Count(
            Llama2_7B with { NumHiddenLayers = 1 },
            ExpertAllocation.Uniform(1, 1));

        Assert.Equal(624_640L, one.Lora);
        Assert.Equal(35_584L, one.Router);
        Assert.Equal(660_224L, one.Total);
    }

    [Fact]
    public void PerLayerRanks_AreUsed()
    {
        ExpertAllocation a = ExpertAllocation.FromLayers(new[] { 1, 1 }, ranks: new[] { 8, 16 });

        TrainableParameterCount count = TrainableParameterCounter.Count(Llama2_7B with { NumHiddenLayers = 2 }, a);

        Assert.Equal(624_640L * 3, count.Lora);
        Assert.Equal(35_584L * 2, count.Router);
    }

    [Fact]
    public void GroupedQueryAttention_UsesKvHeadsTimesHeadDim()
    {
        // Mistral-7B-like: d 4096, MLP 14336, 32 heads, 8 KV heads (k/v out 1024), head_dim 128.
        var mistral = new LlamaShape(4096, 14336, 1, 32, 8, HeadDim: 128);
        ExpertAllocation a = ExpertAllocation.Uniform(1, 1, rank: 1);

        TrainableParameterCount q = TrainableParameterCounter.Count(mistral, a, new[] { LlamaProjection.Q });
        TrainableParameterCount k = TrainableParameterCounter.Count(mistral, a, new[] { LlamaProjection.K });
        TrainableParameterCount down = TrainableParameterCounter.CountByName(mistral, a, new[] { "mlp.down_proj" });

        Assert.Equal(4096L + 4096, q.Lora);
        Assert.Equal(4096L + 1024, k.Lora);
        Assert.Equal(4096L, k.Router);
        Assert.Equal(14336L + 4096, down.Lora);
        Assert.Equal(14336L, down.Router);
    }

    [Fact]
    public void ExplicitHeadDim_DiffersFromHiddenOverHeads()
    {
        // Gemma-like: hidden 3072, 16 heads of 256 -> q out 4096.
        var shape = new LlamaShape(3072, 8192, 1, 16, 16, HeadDim: 256);

        Assert.Equal((3072, 4096), shape.Dimensions(LlamaProjection.Q));
        Assert.Equal((4096, 3072), shape.Dimensions(LlamaProjection.O));
    }

    [Fact]
    public void TargetSubset_ByName()
    {
        ExpertAllocation a = ExpertAllocation.Uniform(32, 5);

        long qv = TrainableParameterCounter.CountByName(LlamaShape.Llama2_7B, a, new[] { "q_proj", "V" }).Total;

        Assert.Equal(160L * 2 * ((8 * (4096 + 4096)) + 4096), qv);
    }

    [Theory]
    [InlineData("q", LlamaProjection.Q)]
    [InlineData("K_PROJ", LlamaProjection.K)]
    [InlineData("self_attn.o_proj", LlamaProjection.O)]
    [InlineData(" gate ", LlamaProjection.Gate)]
    [InlineData("up_proj", LlamaProjection.Up)]
    [InlineData("mlp.down_proj", LlamaProjection.Down)]
    public void ParseProjection_AcceptsCommonSpellings(string name, LlamaProjection expected)
    {
        Assert.Equal(expected, LlamaShape.ParseProjection(name));
    }

    [Fact]
    public void ParseProjection_Unknown_ListsAccepted()
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(() => LlamaShape.ParseProjection("lm_head"));
        Assert.Contains("q, k, v, o, gate, up or down", ex.Message);
    }

    [Fact]
    public void LayerMismatch_Throws()
    {
        ArgumentException ex = Assert.Throws<ArgumentException>(
            () => TrainableParameterCounter.Count(Llama2_7B, ExpertAllocation.Uniform(28, 5)));
        Assert.Contains("28 layers", ex.Message);
        Assert.Contains("32", ex.Message);
    }

    [Fact]
    public void DuplicateOrEmptyTargets_Throw()
    {
        ExpertAllocation a = ExpertAllocation.Uniform(32, 5);

        Assert.Throws<ArgumentException>(() => TrainableParameterCounter.Count(Llama2_7B, a, new[] { LlamaProjection.Q, LlamaProjection.Q }));
        Assert.Throws<ArgumentException>(() => TrainableParameterCounter.Count(Llama2_7B, a, Array.Empty<LlamaProjection>()));
    }

    [Theory]
    [InlineData(0, 11008, 32, 32, 32, "hidden_size")]
    [InlineData(4096, 11008, 32, 32, 5, "num_key_value_heads")]
    [InlineData(4096, 11008, 32, 0, 1, "num_attention_heads")]
    [InlineData(4095, 11008, 32, 32, 32, "head_dim")]
    public void InvalidShape_NamesTheField(int hidden, int mlp, int layers, int heads, int kv, string field)
    {
        var shape = new LlamaShape(hidden, mlp, layers, heads, kv);

        ArgumentException ex = Assert.Throws<ArgumentException>(shape.Validate);

        Assert.Equal(field, ex.ParamName);
    }

    [Fact]
    public void LargeModels_DoNotOverflow()
    {
        var big = new LlamaShape(16384, 53248, 126, 128, 8);
        ExpertAllocation a = ExpertAllocation.Uniform(126, 64, rank: 64);

        TrainableParameterCount count = TrainableParameterCounter.Count(big, a);

        Assert.True(count.Total > int.MaxValue);
    }
}
