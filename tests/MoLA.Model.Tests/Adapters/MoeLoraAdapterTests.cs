using System.Text.Json.Nodes;
using MoLA.Model.Adapters;
using MoLA.Model.Allocation;
using MoLA.Model.Llama;
using MoLA.Model.ParameterCounting;
using MoLA.Torch;
using MoLA.Torch.IO;

namespace MoLA.Model.Tests.Adapters;

public sealed class MoeLoraAdapterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-adapter-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly LlamaConfig Config = new(hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4,
        vocabSize: 40, numKeyValueHeads: 2);

    private static LlamaModel Base()
    {
        torch.manual_seed(21);
        return new LlamaModel(Config);
    }

    private static MoeLoraAdapterConfig AdapterConfig(string shape = "24") => new()
    {
        Allocation = ExpertAllocation.FromShape(shape, 2),
        Dropout = 0,
    };

    private static Tensor Ids() => torch.tensor(new long[] { 1, 5, 9, 3, 7, 2 }, 1, 6);

    /// <summary>Gives every B a random value so the adapter changes the output.</summary>
    private static void Perturb(LlamaModel model)
    {
        using var _ = torch.no_grad();
        foreach (var a in MoeLoraAdapter.Attached(model).Values) a.LoraB.normal_(0, 0.5);
    }

    [Fact]
    public void StepZeroEqualsBaseAndParameterCountMatchesTheCounter()
    {
        using var model = Base();
        using var scope = torch.NewDisposeScope();
        var before = model.call(Ids()).ToArray<float>();
        var config = AdapterConfig();
        var adapters = MoeLoraAdapter.Attach(model, config);
        Assert.Equal(14, adapters.Count);
        Assert.Equal(before, model.call(Ids()).ToArray<float>());   // B = 0: exactly the base
        Assert.Equal(TrainableParameterCounter.Count(Config.ToShape(), config.Allocation).Total, model.parameter_count(trainableOnly: true));
        Assert.All(model.BaseParameters(), p => Assert.False(p.Tensor.RequiresGrad));
    }

    [Fact]
    public void SaveLoadRoundTripReproducesTheOutputAndNames()
    {
        float[] expected;
        var config = AdapterConfig();
        using (var model = Base())
        {
            MoeLoraAdapter.Attach(model, config);
            Perturb(model);
            using (torch.NewDisposeScope()) expected = model.call(Ids()).ToArray<float>();
            MoeLoraAdapter.Save(model, config, _dir);
        }
        using (var st = Safetensors.SafetensorsFile.Open(Path.Combine(_dir, MoeLoraAdapter.WeightsFileName)))
        {
            var names = st.Entries.Select(e => e.Name).ToHashSet();
            Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A_1.weight", names);
            Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B_3.weight", names);
            Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.router.router.weight", names);
            Assert.Equal(7 * (2 * 2 + 1) + 7 * (2 * 4 + 1), names.Count);
        }
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, MoeLoraAdapter.ConfigFileName)))!;
        Assert.Equal("[2,4]", json["mola"]!["experts_per_layer"]!.ToJsonString());
        Assert.Equal("shape", json["mola"]!["allocation"]!["strategy"]!.GetValue<string>());
        Assert.Equal(8, json["r"]!.GetValue<int>());

        using var fresh = Base();
        var loaded = MoeLoraAdapter.Load(fresh, _dir);
        Assert.Equal(new[] { 2, 4 }, loaded.Allocation.Experts);
        using var scope = torch.NewDisposeScope();
        Assert.Equal(expected, fresh.call(Ids()).ToArray<float>());
    }

    private void SaveDefault()
    {
        using var model = Base();
        var config = AdapterConfig();
        MoeLoraAdapter.Attach(model, config);
        MoeLoraAdapter.Save(model, config, _dir);
    }

    private void EditConfig(Action<JsonNode> edit)
    {
        var path = Path.Combine(_dir, MoeLoraAdapter.ConfigFileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Fact]
    public void WrongExpertCountNamesTheTensor()
    {
        SaveDefault();
        EditConfig(j => j["mola"]!["experts_per_layer"] = new JsonArray(2, 5));
        using var model = Base();
        var ex = Assert.Throws<AdapterException>(() => MoeLoraAdapter.Load(model, _dir));
        Assert.Contains("missing tensor 'base_model.model.model.layers.1.self_attn.q_proj.lora_A_4.weight'", ex.Message);
        Assert.Contains("router.router.weight' has shape [4, 32], expected [5, 32]", ex.Message);
        Assert.Empty(MoeLoraAdapter.Attached(model));   // nothing left half-attached
    }

    [Fact]
    public void MissingTensorAndWrongShapeAreNamed()
    {
        SaveDefault();
        var path = Path.Combine(_dir, MoeLoraAdapter.WeightsFileName);
        var all = SafetensorsIO.Load(path);
        try
        {
            all.Remove("base_model.model.model.layers.0.mlp.up_proj.lora_B_0.weight", out var gone);
            gone!.Dispose();
            var name = "base_model.model.model.layers.1.self_attn.v_proj.lora_A_2.weight";
            all[name].Dispose();
            all[name] = torch.zeros([4, 32]);
            SafetensorsIO.Save(path, all);
        }
        finally { foreach (var t in all.Values) t.Dispose(); }
        using var model = Base();
        var ex = Assert.Throws<AdapterException>(() => MoeLoraAdapter.Load(model, _dir));
        Assert.Contains("missing tensor 'base_model.model.model.layers.0.mlp.up_proj.lora_B_0.weight'", ex.Message);
        Assert.Contains("'base_model.model.model.layers.1.self_attn.v_proj.lora_A_2.weight' has shape [4, 32], expected [8, 32]", ex.Message);
    }

    [Fact]
    public void ConfigErrorsNameTheField()
    {
        SaveDefault();
        EditConfig(j => j["mola"]!["num_layers"] = 3);
        using var model = Base();
        Assert.Contains("field 'mola.experts_per_layer' has 2 entries, mola.num_layers is 3", Assert.Throws<AdapterException>(() => MoeLoraAdapter.Load(model, _dir)).Message);
        EditConfig(j => { j["mola"]!["num_layers"] = 2; j["target_modules"] = new JsonArray("q_proj", "lm_head"); });
        Assert.Contains("'lm_head' is not one of", Assert.Throws<AdapterException>(() => MoeLoraAdapter.Load(model, _dir)).Message);
        EditConfig(j => { j["target_modules"] = new JsonArray("q_proj"); j["mola"]!["top_k_per_layer"] = new JsonArray(3, 2); });
        Assert.Contains("top", Assert.Throws<AdapterException>(() => MoeLoraAdapter.Load(model, _dir)).Message);
        using var other = new LlamaModel(new LlamaConfig(32, 48, 3, 4, 40, 2));
        EditConfig(j => j["mola"]!["top_k_per_layer"] = new JsonArray(2, 2));
        Assert.Contains("the base model", Assert.Throws<AdapterException>(() => MoeLoraAdapter.Load(other, _dir)).Message);
    }
}

public sealed class AdapterRedundancyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-redundancy-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void RedundancyOfASavedAdapterMatchesTheLiveModules()
    {
        torch.manual_seed(4);
        using var model = new LlamaModel(new LlamaConfig(32, 48, 2, 4, 40, 2));
        var config = new MoeLoraAdapterConfig { Allocation = ExpertAllocation.FromShape("23", 2), Dropout = 0 };
        var adapters = MoeLoraAdapter.Attach(model, config);
        using (torch.no_grad()) foreach (var a in adapters.Values) a.LoraB.normal_(0, 1);
        MoeLoraAdapter.Save(model, config, _dir);
        var rows = MoLA.Model.Analysis.AdapterRedundancyAnalyzer.Analyze(_dir);
        Assert.Equal(14, rows.Count);
        foreach (var r in rows)
        {
            var live = adapters[(r.Layer, r.Projection)];
            Assert.Equal(MoLA.Model.Analysis.ExpertRedundancy.MeanPairwiseDistance(live.LoraA, live.LoraB, live.NumExperts, live.Scaling), r.MeanDistance, 6);
            Assert.True(r.MeanDistance > 0);
        }
    }
}
