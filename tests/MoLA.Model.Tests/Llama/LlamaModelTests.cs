using MoLA.Model.Llama;
using MoLA.Model.ParameterCounting;
using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.Tests.Llama;

/// <summary>Structure, masking, KV cache and the projection-replacement hook.</summary>
[Collection(LlamaCollection.Name)]
public sealed class LlamaModelTests(LlamaFixture fixture)
{
    /// <summary>
    /// Padded, cached and truncated forwards equal the plain full forward up to summation order, an equivalence tested
    /// in float64 (the checkpoints' float32 weights loaded as float64): each sum (n &lt;= 48 terms) is off by
    /// ~sqrt(n) 2^-53 ~ 1e-15 relative, and over the ~25 sums of 3 layers on logits of magnitude &lt;= ~10 that stays
    /// below ~1e-12 whatever kernels the CPU's BLAS picks; a real error (a pad key attended to, a wrong RoPE position,
    /// a stale cache entry) moves logits by 1e-2 and more.
    /// </summary>
    private const double Float64Tolerance = 1e-10;

    private static readonly LlamaLoadOptions Float64 = new() { DType = DType.Float64 };

    private static double[] Doubles(Tensor t) => t.to(DType.Float64).contiguous().ToArray<double>();

    private static readonly string[] PerLayer =
    [
        "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
        "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
        "input_layernorm.weight", "post_attention_layernorm.weight",
    ];

    private static IEnumerable<string> HfNames(LlamaConfig c)
    {
        yield return "model.embed_tokens.weight";
        for (var l = 0; l < c.NumHiddenLayers; l++)
            foreach (var n in PerLayer) yield return $"model.layers.{l}.{n}";
        yield return "model.norm.weight";
        if (!c.TieWordEmbeddings) yield return "lm_head.weight";
    }

    [Theory]
    [InlineData("gqa")]
    [InlineData("tied")]
    public void State_dict_keys_are_the_hugging_face_names(string name)
    {
        var c = fixture.Case(name).Config;
        using var model = new LlamaModel(c);

        var keys = model.state_dict().Keys.Order(StringComparer.Ordinal).ToList();

        Assert.Equal(HfNames(c).Order(StringComparer.Ordinal), keys);
        Assert.Equal(keys, model.BaseParameters().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Empty(model.named_buffers());
        Assert.Equal(c.TieWordEmbeddings, model.LmHead is null);
        Assert.Same(c.TieWordEmbeddings ? model.Model.EmbedTokens.weight : model.LmHead!.weight, model.OutputWeight);
        var sd = model.state_dict();
        Assert.Equal([c.NumKeyValueHeads * c.HeadDim, c.HiddenSize], sd["model.layers.0.self_attn.k_proj.weight"].Shape);
        Assert.Equal([c.HiddenSize, c.NumAttentionHeads * c.HeadDim], sd["model.layers.0.self_attn.o_proj.weight"].Shape);
        Assert.Equal([c.HiddenSize, c.IntermediateSize], sd["model.layers.0.mlp.down_proj.weight"].Shape);
        var shape = c.ToShape();
        long perLayer = 2L * c.HiddenSize + LlamaShape.AllProjections.Sum(p => (long)shape.Dimensions(p).In * shape.Dimensions(p).Out);
        long embeddings = (long)c.VocabSize * c.HiddenSize * (c.TieWordEmbeddings ? 1 : 2);
        Assert.Equal(embeddings + c.HiddenSize + c.NumHiddenLayers * perLayer, model.parameter_count());
    }

    [Fact]
    public void Projections_lists_seven_slots_per_layer_with_paths_and_widths()
    {
        var c = fixture.Case("gqa").Config;
        using var model = new LlamaModel(c);

        var slots = model.Projections().ToList();

        Assert.Equal(7 * c.NumHiddenLayers, slots.Count);
        var names = model.state_dict().Keys.ToHashSet();
        foreach (var slot in slots)
        {
            Assert.Contains(slot.Path + ".weight", names);
            Assert.Same(slot.Base, slot.Module);
            Assert.Equal([slot.OutFeatures, slot.InFeatures], slot.Base.weight.Shape);
            Assert.Null(slot.Base.bias);
        }
        Assert.Equal("model.layers.2.mlp.down_proj", slots[^1].Path);
        Assert.Equal(("k_proj", LlamaProjection.K), (slots[1].Name, slots[1].Projection));
    }

    [Fact]
    public void A_replaced_projection_is_called_registered_and_trained_while_the_base_stays_frozen()
    {
        var c = fixture.Case("gqa");
        using var model = LlamaCheckpoint.Load(c.Directory, new LlamaLoadOptions { FreezeBaseWeights = true });
        using var scope = torch.NewDisposeScope();
        var ids = LlamaFixture.IdsTensor(c.Ids);
        Tensor before;
        using (torch.no_grad()) before = model.forward(ids);
        Assert.All(model.parameters(), p => Assert.False(p.RequiresGrad));

        var baseQ = model.BaseProjection(1, LlamaProjection.Q);
        var wrapper = new DeltaWrapper(baseQ, c.Config.HiddenSize, c.Config.NumAttentionHeads * c.Config.HeadDim);
        var previous = model.ReplaceProjection(1, "self_attn.q_proj", wrapper);
        Assert.Same(baseQ, previous);
        Assert.Same(wrapper, model.Layers[1].Attention.QProj);
        Assert.Same(wrapper, model.Slot(1, LlamaProjection.Q).Module);
        Assert.Same(baseQ, model.Slot(1, LlamaProjection.Q).Base);

        // Registered under the slot's name: its parameters show up with the slot's path as prefix.
        var names = model.named_parameters().Select(p => p.Name).ToList();
        Assert.Contains("model.layers.1.self_attn.q_proj.base_layer.weight", names);
        Assert.Contains("model.layers.1.self_attn.q_proj.delta", names);
        Assert.DoesNotContain("model.layers.1.self_attn.q_proj.weight", names);
        Assert.Equal(["model.layers.1.self_attn.q_proj.delta"], model.named_parameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name));
        // The base view keeps Hugging Face names whatever the slots hold.
        Assert.Contains(model.BaseParameters(), p => p.Name == "model.layers.1.self_attn.q_proj.weight" && ReferenceEquals(p.Tensor, baseQ.weight));

        // A zero delta leaves the output as it was; the wrapper really is called.
        using (torch.no_grad())
        {
            // Bitwise: F.linear(x, 0) is exactly 0 and q + 0 is q, so every other op repeats the same computation.
            Assert.Equal(before.ToArray<float>(), model.forward(ids).ToArray<float>());
            Assert.Equal(1, wrapper.Calls);
        }

        // Gradients reach the wrapper's parameter only.
        var loss = model.forward(ids).square().mean();
        loss.backward();
        Assert.NotNull(wrapper.delta.grad);
        Assert.True(wrapper.delta.grad!.abs().sum().ToDouble() > 0);
        Assert.All(model.BaseParameters(), p => Assert.Null(p.Tensor.grad));

        using (torch.no_grad()) wrapper.delta.fill_(0.05);
        float[] changed;
        using (torch.no_grad()) changed = model.forward(ids).ToArray<float>();
        Assert.True(before.ToArray<float>().Zip(changed).Max(t => Math.Abs(t.First - t.Second)) > 1e-3);

        // train/eval reaches the replacement.
        model.eval();
        Assert.False(wrapper.training);

        // Every slot kind can be replaced, through the model and through the layer's properties;
        // wrappers that pass through leave the output unchanged.
        foreach (var p in LlamaShape.AllProjections)
        {
            var slot = model.Slot(0, p);
            var pass = new PassThrough(slot.Module);
            Assert.Same(slot.Module, model.ReplaceProjection(0, p, pass));
            Assert.Same(pass, model.GetProjection(0, p));
        }
        model.Layers[2].Mlp.DownProj = new PassThrough(model.Layers[2].Mlp.DownProj);
        Assert.Contains("model.layers.2.mlp.down_proj.inner.weight", model.state_dict().Keys);
        using (torch.no_grad()) // bitwise: a pass-through wrapper calls the same module on the same input
            Assert.Equal(changed, model.forward(ids).ToArray<float>());
    }

    [Fact]
    public void Save_after_wrapping_writes_the_base_weights_under_hugging_face_names()
    {
        var c = fixture.Case("gqa");
        var dir = Path.Combine(fixture.Root, "wrapped-save-" + Guid.NewGuid().ToString("N"));
        using var model = LlamaCheckpoint.Load(c.Directory);
        model.ReplaceProjection(0, LlamaProjection.V, new DeltaWrapper(model.BaseProjection(0, LlamaProjection.V), 32, 16));
        LlamaCheckpoint.Save(model, dir);

        using var reloaded = LlamaCheckpoint.Load(dir);
        using var original = LlamaCheckpoint.Load(c.Directory);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = LlamaFixture.IdsTensor(c.Ids);
        Assert.Equal(original.forward(ids).ToArray<float>(), reloaded.forward(ids).ToArray<float>());
    }

    [Fact]
    public void Left_padding_is_masked_and_gives_the_unpadded_logits()
    {
        var c = fixture.Case("gqa");
        using var model = LlamaCheckpoint.Load(c.Directory, Float64);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        long[] row = [5, 17, 3, 60, 22, 9];
        const int pad = 3;
        var vocab = c.Config.VocabSize;

        var alone = Doubles(model.forward(torch.tensor(row, 1, row.Length)));

        // Row 0: three pad tokens, then the sequence; row 1: the sequence, then three pads (right padding).
        long[] ids = [.. Enumerable.Repeat(0L, pad), .. row, .. row, .. Enumerable.Repeat(7L, pad)];
        long[] mask = [.. Enumerable.Repeat(0L, pad), .. Enumerable.Repeat(1L, row.Length), .. Enumerable.Repeat(1L, row.Length), .. Enumerable.Repeat(0L, pad)];
        var width = row.Length + pad;
        var padded = model.forward(torch.tensor(ids, 2, width), torch.tensor(mask, 2, width));
        var all = Doubles(padded);
        Assert.DoesNotContain(all, double.IsNaN);

        var left = Doubles(padded.select(0, 0).narrow(0, pad, row.Length));
        var right = Doubles(padded.select(0, 1).narrow(0, 0, row.Length));
        // RoPE scores depend on relative positions only, so shifted absolute positions change nothing (up to rounding).
        LlamaReferenceTests.AssertClose(alone, left, Float64Tolerance, "left-padded row");
        LlamaReferenceTests.AssertClose(alone, right, Float64Tolerance, "right-padded row");

        // The pad tokens' ids do not matter once masked.
        ids[0] = 41;
        ids[1] = 13;
        var otherPads = model.forward(torch.tensor(ids, 2, width), torch.tensor(mask, 2, width));
        LlamaReferenceTests.AssertClose(left, Doubles(otherPads.select(0, 0).narrow(0, pad, row.Length)), Float64Tolerance, "other pad ids");

        // Without the mask the pads are attended to and the logits differ.
        var unmasked = Doubles(model.forward(torch.tensor(ids, 2, width)).select(0, 0).narrow(0, pad, row.Length));
        Assert.True(left.Zip(unmasked).Max(t => Math.Abs(t.First - t.Second)) > 1e-2);

        // An all-ones mask is the plain causal forward.
        var ones = Doubles(model.forward(torch.tensor(ids, 2, width), torch.ones([2, width], DType.Int64)));
        LlamaReferenceTests.AssertClose(Doubles(model.forward(torch.tensor(ids, 2, width))), ones, Float64Tolerance, "all-ones mask");
        Assert.Equal(vocab * width * 2, ones.Length);
    }

    [Theory]
    [InlineData("gqa")]
    [InlineData("tied")]
    [InlineData("llama3")]
    public void Incremental_decoding_with_a_kv_cache_matches_the_full_forward(string name)
    {
        var c = fixture.Case(name);
        using var model = LlamaCheckpoint.Load(c.Directory, Float64);
        using var outer = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = LlamaFixture.IdsTensor(c.Ids);
        long seq = ids.size(1);
        var full = model.forward(ids);

        using var cache = model.NewKvCache();
        // Prefill 3, then one token at a time, then the rest as one multi-token chunk.
        long[] chunks = [3, 1, 1, seq - 5];
        long pos = 0;
        foreach (var n in chunks)
        {
            using var step = torch.NewDisposeScope();
            var logits = model.forward(ids.narrow(1, pos, n), cache, pos);
            LlamaReferenceTests.AssertClose(Doubles(full.narrow(1, pos, n)), Doubles(logits), Float64Tolerance, $"{name} positions {pos}..{pos + n - 1}");
            pos += n;
            Assert.Equal(pos, cache.Length);
        }
        Assert.Equal([ids.size(0), c.Config.NumKeyValueHeads, seq, c.Config.HeadDim], cache.Keys(0)!.Shape);

        // Rewind and decode the tail again.
        cache.Truncate(4);
        var again = model.forward(ids.narrow(1, 4, seq - 4), cache, 4);
        LlamaReferenceTests.AssertClose(Doubles(full.narrow(1, 4, seq - 4)), Doubles(again), Float64Tolerance, $"{name} after Truncate");

        // startPos must match what the cache holds.
        var e = Assert.Throws<ArgumentException>(() => model.forward(ids.narrow(1, 0, 1), cache, 3));
        Assert.Contains($"KV cache holds {seq} positions but startPos is 3", e.Message);
        Assert.Equal(seq, cache.Length);
    }

    [Fact]
    public void Incremental_decoding_with_padding_matches_the_full_forward()
    {
        var c = fixture.Case("gqa");
        using var model = LlamaCheckpoint.Load(c.Directory, Float64);
        using var outer = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = LlamaFixture.IdsTensor(c.Ids);
        long seq = ids.size(1);
        // Row 1 is left-padded by two positions.
        var mask = torch.ones([2, seq], DType.Int64);
        mask.select(0, 1).narrow(0, 0, 2).fill_(0);
        var full = model.forward(ids, mask);

        using var cache = model.NewKvCache();
        long pos = 0;
        foreach (var n in new long[] { 4, 1, seq - 5 })
        {
            var logits = model.forward(ids.narrow(1, pos, n), cache, pos, mask.narrow(1, 0, pos + n));
            // Compare real positions only (padded query rows are meaningless).
            for (var b = 0; b < 2; b++)
                for (var s = pos; s < pos + n; s++)
                {
                    if (b == 1 && s < 2) continue;
                    LlamaReferenceTests.AssertClose(Doubles(full.select(0, b).select(0, s)),
                        Doubles(logits.select(0, b).select(0, s - pos)), Float64Tolerance, $"row {b} position {s}");
                }
            pos += n;
        }
    }

    [Fact]
    public void Forward_validates_its_inputs()
    {
        var c = fixture.Case("gqa").Config;
        using var model = new LlamaModel(c);
        using var scope = torch.NewDisposeScope();
        var ids = torch.zeros([2, 4], DType.Int64);

        Assert.Contains("input_ids must be [batch, seq]", Assert.Throws<ArgumentException>(() => model.forward(torch.zeros([4], DType.Int64))).Message);
        Assert.Contains("input_ids must be int64", Assert.Throws<ArgumentException>(() => model.forward(torch.zeros([2, 4]))).Message);
        Assert.Contains("attention_mask has shape [2, 3], expected [2, 4]",
            Assert.Throws<ArgumentException>(() => model.forward(ids, torch.ones([2, 3], DType.Int64))).Message);
        using var wrongCache = new LlamaKvCache(1);
        Assert.Contains("KV cache has 1 layers, the model 3", Assert.Throws<ArgumentException>(() => model.forward(ids, wrongCache, 0)).Message);
    }

    [Fact]
    public void Float64_compute_and_positions_beyond_the_initial_rope_table_work()
    {
        var config = new LlamaConfig(16, 24, 1, 2, 32, maxPositionEmbeddings: 8);
        using var model = new LlamaModel(config, DType.Float64);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = torch.randint(0, 32, [1, 20]);

        var logits = model.forward(ids);

        Assert.Equal(DType.Float64, logits.DType);
        Assert.Equal([1L, 20, 32], logits.Shape);
        Assert.False(logits.isnan().any().ToDouble() > 0);
    }

    /// <summary>base(x) + x A^T with A zero-initialised (the shape of a LoRA wrapper).</summary>
    private sealed class DeltaWrapper : Module<Tensor, Tensor>
    {
        public DeltaWrapper(Linear baseLayer, long inFeatures, long outFeatures)
        {
            BaseLayer = RegisterModule("base_layer", baseLayer);
            delta = RegisterParameter(nameof(delta), torch.zeros([outFeatures, inFeatures]));
        }

        public Linear BaseLayer { get; }
        public Tensor delta { get; }
        public int Calls { get; private set; }

        public override Tensor forward(Tensor input)
        {
            Calls++;
            return BaseLayer.forward(input) + F.linear(input, delta);
        }
    }

    private sealed class PassThrough : Module<Tensor, Tensor>
    {
        private readonly Module<Tensor, Tensor> _inner;
        public PassThrough(Module<Tensor, Tensor> inner) => _inner = RegisterModule("inner", inner);
        public override Tensor forward(Tensor input) => _inner.forward(input);
    }
}
