using MoLA.Model.MoeLora;
using MoLA.Torch;
using MoLA.Torch.NN;
using static MoLA.Model.Tests.MoeLora.MoeTestSupport;

namespace MoLA.Model.Tests.MoeLora;

public class MoeLoraLinearTests
{
    private static MoeLoraOptions Options(int n = 4) => new() { NumExperts = n };

    [Fact]
    public void Defaults_FollowMoLA()
    {
        var o = Options();
        Assert.Equal(8, o.Rank);
        Assert.Equal(16, o.Alpha);
        Assert.Equal(2.0, o.Scaling);
        Assert.Equal(0.05, o.Dropout);
        Assert.Equal(2, o.TopK);
        Assert.Equal(MoeExecution.Auto, o.Execution);
        Assert.False(o.RetainRouterLogits);
        Assert.False(o.RetainExpertInputs);
    }

    [Fact]
    public void Parameters_AreStackedTrainable_AndBaseIsFrozen()
    {
        using var layer = new MoeLoraLinear(new Linear(32, 24, hasBias: true), Options(4), "m");
        Assert.Equal(new long[] { 4 * 8, 32 }, layer.LoraA.Shape);
        Assert.Equal(new long[] { 24, 4 * 8 }, layer.LoraB.Shape);
        Assert.Equal(new long[] { 4, 32 }, layer.RouterWeight.Shape);
        var names = layer.named_parameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name).Order().ToArray();
        Assert.Equal(new[] { "lora_A_all", "lora_B_all", "router_weight" }, names);
        Assert.All(layer.BaseLayer.parameters(), p => Assert.False(p.RequiresGrad));
        Assert.Equal(4L * 8 * (32 + 24) + 4 * 32, layer.parameter_count(trainableOnly: true));
        Assert.All(layer.LoraB.ToArray<float>(), v => Assert.Equal(0f, v));
        // Kaiming-uniform a = sqrt 5: U(-1/sqrt(in), 1/sqrt(in)).
        var bound = 1 / Math.Sqrt(32);
        Assert.All(layer.LoraA.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
        Assert.All(layer.RouterWeight.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
        Assert.True(layer.LoraA.ToArray<float>().Select(Math.Abs).Max() > bound * 0.9);
    }

    [Fact]
    public void WeightTensorConstructor_FreezesAndUsesBias()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.randn([5, 3]);
        var b = torch.randn([5]);
        using var layer = new MoeLoraLinear(w, Options(2) with { Dropout = 0 }, "t", b);
        var x = torch.randn([4, 3]);
        AssertClose(F.linear(x, w, b), layer.forward(x), 0, 0, "step 0");
        Assert.Contains(layer.named_parameters(), p => p.Name == "base_layer.weight" && !p.Parameter.RequiresGrad);
    }

    [Theory]
    [InlineData(0, 2, 8, 0.05, "NumExperts")]
    [InlineData(-3, 2, 8, 0.05, "NumExperts")]
    [InlineData(4, 0, 8, 0.05, "TopK")]
    [InlineData(4, 2, 0, 0.05, "Rank")]
    [InlineData(4, 2, 8, -0.1, "Dropout")]
    [InlineData(4, 2, 8, 1.0, "Dropout")]
    [InlineData(4, 2, 8, double.NaN, "Dropout")]
    public void InvalidOptions_AreRejected_NamingModuleAndField(int n, int k, int r, double dropout, string field)
    {
        var options = new MoeLoraOptions { NumExperts = n, TopK = k, Rank = r, Dropout = dropout };
        var e = Assert.ThrowsAny<ArgumentException>(() => new MoeLoraLinear(new Linear(4, 4), options, "layers.2.mlp.up_proj"));
        Assert.Equal(field, e.ParamName);
        Assert.Contains("layers.2.mlp.up_proj", e.Message);
    }

    [Fact]
    public void InvalidAlphaAndShard_AreRejected()
    {
        Assert.ThrowsAny<ArgumentException>(() => new MoeLoraLinear(new Linear(4, 4), Options() with { Alpha = 0 }, "m"));
        Assert.ThrowsAny<ArgumentException>(() => new MoeLoraLinear(new Linear(4, 4), Options(4) with { Shard = new ExpertShard(3, 2) }, "m"));
        Assert.ThrowsAny<ArgumentException>(() => new PlainLoraLinear(new Linear(4, 4), rank: 0, name: "m"));
    }

    [Fact]
    public void InputLastDimensionMismatch_NamesTheModule()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new MoeLoraLinear(new Linear(8, 4), Options(), "model.layers.0.self_attn.q_proj");
        var e = Assert.Throws<ArgumentException>(() => layer.forward(torch.randn([2, 3, 7])));
        Assert.Contains("model.layers.0.self_attn.q_proj", e.Message);
        Assert.Contains("[2, 3, 7]", e.Message);
        Assert.Contains("in_features 8", e.Message);
    }

    [Fact]
    public void TopKAboveN_IsClampedToADenseMixture()
    {
        using var layer = new MoeLoraLinear(new Linear(4, 4), new MoeLoraOptions { NumExperts = 2, TopK = 3 }, "m");
        Assert.Equal(2, layer.TopK);
        Assert.Equal(MoeExecution.DenseGated, layer.ResolvedExecution);
    }

    [Fact]
    public void AutoResolution_FollowsTheWidthThreshold()
    {
        var o = new MoeLoraOptions { NumExperts = 64, Rank = 8, TopK = 2 };
        Assert.Equal(MoeExecution.DenseGated, o.Resolve(MoeExecution.Auto, o.AutoDenseMaxWidth / 8));
        Assert.Equal(MoeExecution.Grouped, o.Resolve(MoeExecution.Auto, o.AutoDenseMaxWidth / 8 + 1));
        Assert.Equal(MoeExecution.Loop, o.Resolve(MoeExecution.Loop, 64));
    }

    [Fact]
    public void TokenCounts_MatchAHandRoutedCase()
    {
        using var scope = torch.NewDisposeScope();
        var wr = torch.tensor(new float[] { 1, 0, 0, 1, -1, -1 }, 3, 2);
        var x = torch.tensor(new float[] { 5, 0, 0, 5, 5, 1 }, 3, 2);
        foreach (var (k, expected, chosen) in new[]
        {
            (1, new long[] { 2, 1, 0 }, new long[] { 0, 1, 0 }),
            (2, new long[] { 3, 3, 0 }, new long[] { 0, 1, 1, 0, 0, 1 }),
            (3, new long[] { 3, 3, 3 }, new long[] { 0, 1, 2, 1, 0, 2, 0, 1, 2 }),
        })
        {
            using var layer = new MoeLoraLinear(new Linear(2, 2), new MoeLoraOptions { NumExperts = 3, TopK = k, Rank = 1 }, "m");
            Assert.Null(layer.LastExpertCounts);
            using (torch.no_grad()) layer.RouterWeight.copy_(wr);
            layer.forward(x);
            Assert.Equal(expected, layer.LastExpertCounts);
            Assert.Equal(chosen, layer.LastExpertIndices!.ToArray<long>());
        }
    }

    [Fact]
    public void RouterLogits_AreKeptOnlyWhenAsked()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = new MoeLoraLinear(new Linear(6, 5), Options(3), "m");
        var x = torch.randn([2, 4, 6]);
        layer.forward(x);
        Assert.Null(layer.LastRouterLogits);
        Assert.Null(layer.LastInput);
        Assert.NotNull(layer.LastExpertIndices);
        layer.RetainRouterLogits = true;
        layer.RetainExpertInputs = true;
        layer.forward(x);
        Assert.Equal(new long[] { 8, 3 }, layer.LastRouterLogits!.Shape);
        Assert.True(layer.LastRouterLogits.RequiresGrad);
        Assert.Equal(new long[] { 8, 6 }, layer.LastInput!.Shape);
        layer.ReleaseRetained();
        Assert.Null(layer.LastRouterLogits);
        Assert.Null(layer.LastExpertCounts);
    }

    [Fact]
    public void AdapterTensors_UseMoLANames_AndViewTheStackedParameters()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(9);
        using var layer = Layer(6, 5, experts: 3, topK: 2, rank: 2);
        var named = layer.AdapterTensors("base_model.model.model.layers.0.self_attn.q_proj");
        Assert.Equal(7, named.Count);
        var byName = named.ToDictionary(p => p.Key, p => p.Value);
        const string prefix = "base_model.model.model.layers.0.self_attn.q_proj.";
        Assert.Equal(new long[] { 2, 6 }, byName[prefix + "lora_A_1.weight"].Shape);
        Assert.Equal(new long[] { 5, 2 }, byName[prefix + "lora_B_2.weight"].Shape);
        Assert.Equal(new long[] { 3, 6 }, byName[prefix + "router.router.weight"].Shape);
        AssertClose(layer.LoraA.narrow(0, 2, 2), byName[prefix + "lora_A_1.weight"], 0, 0, "A_1 view");
        AssertClose(layer.LoraB.narrow(1, 4, 2), byName[prefix + "lora_B_2.weight"], 0, 0, "B_2 view");

        // Round trip: load different values through the names, read them back from the stacks.
        var source = named.ToDictionary(p => p.Key, p => torch.randn(p.Value.Shape));
        layer.LoadAdapterTensors(source, "base_model.model.model.layers.0.self_attn.q_proj");
        for (var e = 0; e < 3; e++)
        {
            var (a, b) = layer.ExpertTensors(e);
            AssertClose(source[$"{prefix}lora_A_{e}.weight"], a, 0, 0, $"A_{e}");
            AssertClose(source[$"{prefix}lora_B_{e}.weight"], b, 0, 0, $"B_{e}");
        }
        AssertClose(source[prefix + "router.router.weight"], layer.RouterWeight, 0, 0, "router");
    }

    [Fact]
    public void LoadAdapterTensors_RejectsBadInputWithoutCopying()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = Layer(6, 5, experts: 2, topK: 1, rank: 2);
        var before = Values(layer.LoraA);
        var source = layer.AdapterTensors("p").ToDictionary(p => p.Key, p => torch.randn(p.Value.Shape));
        source["p.lora_A_1.weight"] = torch.randn([3, 6]);
        source.Remove("p.lora_B_0.weight");
        var e = Assert.Throws<ArgumentException>(() => layer.LoadAdapterTensors(source, "p"));
        Assert.Contains("missing tensor 'p.lora_B_0.weight'", e.Message);
        Assert.Contains("'p.lora_A_1.weight' has shape [3, 6], expected [2, 6]", e.Message);
        Assert.Equal(before, Values(layer.LoraA));
    }

    [Fact]
    public void Shards_InitialiseLikeTheFullLayer_AndRefuseTheLocalDispatcher()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(33);
        using var full = new MoeLoraLinear(new Linear(6, 5), Options(4) with { Rank = 2 }, "full");
        torch.manual_seed(33);
        using var shard = new MoeLoraLinear(new Linear(6, 5), Options(4) with { Rank = 2, Shard = new ExpertShard(2, 2) }, "layers.1.q_proj");
        Assert.Equal(new long[] { 4, 6 }, shard.LoraA.Shape);
        Assert.Equal(new long[] { 5, 4 }, shard.LoraB.Shape);
        AssertClose(full.RouterWeight, shard.RouterWeight, 0, 0, "router");
        AssertClose(full.LoraA.narrow(0, 4, 4), shard.LoraA, 0, 0, "experts 2, 3");
        Assert.Throws<ArgumentOutOfRangeException>(() => shard.ExpertTensors(1));
        Assert.Equal(new[] { "lora_A_2.weight", "lora_B_2.weight", "lora_A_3.weight", "lora_B_3.weight", "router.router.weight" },
            shard.AdapterTensors("").Select(p => p.Key));
        var e = Assert.Throws<InvalidOperationException>(() => shard.forward(torch.randn([3, 6])));
        Assert.Contains("layers.1.q_proj", e.Message);
        Assert.Contains("expert-parallel dispatcher", e.Message);
    }

    /// <summary>Two shards in one process stand in for two EP ranks: rows sent as [M, 1] assignments.</summary>
    private sealed class InProcessShardDispatcher(IReadOnlyList<MoeLoraLinear> shards) : IExpertDispatcher
    {
        public Tensor Dispatch(MoeLoraLinear layer, Tensor input, Tensor indices, Tensor weights, Tensor baseOutput)
        {
            var result = baseOutput;
            var k = indices.size(1);
            var flatExperts = indices.reshape(-1);
            var flatWeights = weights.reshape(-1);
            foreach (var shard in shards)
            {
                var range = shard.LocalExperts;
                var mine = flatExperts.ge(range.First).logical_and(flatExperts.lt(range.End)).nonzero().squeeze(1);
                if (mine.size(0) == 0) continue;
                var token = torch.tensor(mine.ToArray<long>().Select(i => i / k).ToArray());
                // An int64 scalar tensor: subtracting a double would promote the ids to float.
                var local = flatExperts.index_select(0, mine).sub(torch.full([], range.First, DType.Int64)).unsqueeze(1);
                var w = flatWeights.index_select(0, mine).unsqueeze(1);
                var rows = input.index_select(0, token);
                var contribution = shard.ComputeLocalExperts(rows, local, w, torch.zeros([rows.size(0), layer.OutFeatures], input.DType));
                result = result.index_add(0, token, contribution);
            }
            return result;
        }
    }

    /// <summary>
    /// The shards' contributions, index_add-ed onto the base output, are the full layer's sum in another order: an
    /// equivalence tested in float64, where the orders differ by ~sqrt(n) 2^-53 ~ 1e-15 relative (n &lt;= 8 terms per
    /// output element), whatever the CPU's kernels; 1e-10 catches a lost or doubled expert contribution (order 1e-1).
    /// </summary>
    [Fact]
    public void ExpertParallelHook_ShardedExperts_ReproduceTheFullLayer()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(41);
        using var full = Layer(6, 5, experts: 4, topK: 2, rank: 2, dtype: DType.Float64);
        var baseWeight = ((Linear)full.BaseLayer).weight;
        var shards = new List<MoeLoraLinear>();
        foreach (var first in new[] { 0, 2 })
        {
            var s = new MoeLoraLinear(new Linear(6, 5, hasBias: false, DType.Float64), new MoeLoraOptions { NumExperts = 4, Rank = 2, Dropout = 0, Shard = new ExpertShard(first, 2) }, $"rank{first / 2}");
            s.LoadAdapterTensors(full.AdapterTensors("m").ToDictionary(p => p.Key, p => p.Value), "m", strict: false);
            using (torch.no_grad()) ((Linear)s.BaseLayer).weight.copy_(baseWeight);
            shards.Add(s);
        }
        var x = torch.randn([9, 6], DType.Float64);
        var expected = full.forward(x);
        foreach (var s in shards)
        {
            s.Dispatcher = new InProcessShardDispatcher(shards);
            foreach (var execution in new[] { MoeExecution.Loop, MoeExecution.DenseGated, MoeExecution.Grouped })
            {
                foreach (var other in shards) other.Execution = execution;
                AssertClose(expected, s.forward(x), 1e-10, 1e-10, $"{s.Name} {execution}");
            }
        }
        foreach (var s in shards) s.Dispose();
    }

    /// <summary>
    /// One expert with top-1 routes every token to it with weight softmax = 1 exactly, so MoE-LoRA is plain LoRA summed
    /// in another order: an equivalence tested in float64, where that differs by ~sqrt(n) 2^-53 ~ 1e-15 relative
    /// (n &lt;= 10 terms per element) whatever the CPU's kernels; 1e-10 catches a wrong scaling or a dropped term.
    /// </summary>
    [Fact]
    public void PlainLora_EqualsOneExpertMoe_AndStartsAtTheBase()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(17);
        using var plain = new PlainLoraLinear(new Linear(7, 6, hasBias: false, DType.Float64), rank: 3, alpha: 6, dropout: 0, name: "p");
        Assert.Equal(new long[] { 3, 7 }, plain.LoraA.Shape);
        Assert.Equal(new long[] { 6, 3 }, plain.LoraB.Shape);
        Assert.Equal(2.0, plain.Scaling);
        var x = torch.randn([2, 5, 7], DType.Float64);
        var w0 = ((Linear)plain.BaseLayer).weight;
        Assert.Equal(Values(F.linear(x, w0)), Values(plain.forward(x)));

        using var moe = new MoeLoraLinear(new Linear(7, 6, hasBias: false, DType.Float64), new MoeLoraOptions { NumExperts = 1, TopK = 1, Rank = 3, Alpha = 6, Dropout = 0 }, "m");
        using (torch.no_grad())
        {
            plain.LoraB.normal_();
            ((Linear)moe.BaseLayer).weight.copy_(w0);
            moe.LoraA.copy_(plain.LoraA);
            moe.LoraB.copy_(plain.LoraB);
        }
        var upstream = torch.randn([2, 5, 6], DType.Float64);
        var yPlain = plain.forward(x);
        yPlain.mul(upstream).sum().backward();
        var m = ForwardBackward(moe, x, upstream, MoeExecution.Auto);
        AssertClose(Values(yPlain), m.Y, 1e-10, 1e-10, "output");
        AssertClose(Values(plain.LoraA.grad!), m.GradA, 1e-10, 1e-10, "grad A");
        AssertClose(Values(plain.LoraB.grad!), m.GradB, 1e-10, 1e-10, "grad B");
    }

    [Fact]
    public void ThreeDimensionalInput_KeepsItsShape_AndEmptyBatchesWork()
    {
        using var scope = torch.NewDisposeScope();
        using var layer = Layer(6, 5, experts: 3, topK: 2, rank: 2, execution: MoeExecution.Grouped);
        Assert.Equal(new long[] { 2, 3, 5 }, layer.forward(torch.randn([2, 3, 6])).Shape);
        Assert.Equal(new long[] { 0, 5 }, layer.forward(torch.randn([0, 6])).Shape);
    }
}
