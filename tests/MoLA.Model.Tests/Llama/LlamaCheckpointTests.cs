using System.Text.Json;
using System.Text.Json.Nodes;
using MoLA.Model.Llama;
using MoLA.Safetensors;
using MoLA.Torch;
using MoLA.Torch.IO;

namespace MoLA.Model.Tests.Llama;

/// <summary>Loading, saving and the loader's error messages.</summary>
[Collection(LlamaCollection.Name)]
public sealed class LlamaCheckpointTests(LlamaFixture fixture)
{
    /// <summary>A fresh copy of one of the fixture's checkpoints, to damage.</summary>
    private string CopyOf(string name)
    {
        var source = fixture.Case(name).Directory;
        var dir = Path.Combine(fixture.Root, $"{name}-copy-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    /// <summary>Rewrites a safetensors file through <paramref name="edit"/> (tensors by name).</summary>
    private static void Rewrite(string file, Action<Dictionary<string, Tensor>> edit)
    {
        var tensors = SafetensorsIO.Load(file);
        try
        {
            edit(tensors);
            SafetensorsIO.Save(file, tensors);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static LlamaCheckpointException LoadFails(string dir) =>
        Assert.Throws<LlamaCheckpointException>(() => LlamaCheckpoint.Load(dir));

    [Fact]
    public void Load_uses_the_config_dtype_device_and_freeze_options()
    {
        var c = fixture.Case("sharded");
        using var model = LlamaCheckpoint.Load(c.Directory, new LlamaLoadOptions { DType = DType.Float16, FreezeBaseWeights = true });

        Assert.Equal(c.Config.ToString(), model.Config.ToString());
        Assert.Equal(Path.Combine(c.Directory, "config.json"), model.Config.Source);
        Assert.All(model.parameters(), p => Assert.Equal(DType.Float16, p.DType));
        Assert.All(model.parameters(), p => Assert.False(p.RequiresGrad));
        Assert.Equal(Device.CPU, model.Device);

        using var trainable = LlamaCheckpoint.Load(c.Directory);
        Assert.All(trainable.parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void Save_writes_one_file_or_shards_with_an_index_and_loads_back_identically()
    {
        var c = fixture.Case("gqa");
        using var model = LlamaCheckpoint.Load(c.Directory);
        var single = Path.Combine(fixture.Root, "save-single-" + Guid.NewGuid().ToString("N"));
        var sharded = Path.Combine(fixture.Root, "save-sharded-" + Guid.NewGuid().ToString("N"));

        LlamaCheckpoint.Save(model, single);
        LlamaCheckpoint.Save(model, sharded, new LlamaSaveOptions { MaxShardBytes = 40_000 });

        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(single).Select(Path.GetFileName).Order());
        var shardFiles = Directory.GetFiles(sharded, "model-*.safetensors").Select(Path.GetFileName).Order().ToList();
        Assert.True(shardFiles.Count >= 2, $"expected several shards, got {shardFiles.Count}");
        Assert.Equal($"model-00001-of-{shardFiles.Count:D5}.safetensors", shardFiles[0]);
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(sharded, "model.safetensors.index.json")))!;
        var weightMap = index["weight_map"]!.AsObject();
        Assert.Equal(model.BaseParameters().Select(p => p.Name).Order(StringComparer.Ordinal), weightMap.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal(model.parameter_count() * 4, index["metadata"]!["total_size"]!.GetValue<long>());
        Assert.False(File.Exists(Path.Combine(sharded, "model.safetensors")));

        using var a = LlamaCheckpoint.Load(single);
        using var b = LlamaCheckpoint.Load(sharded);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        foreach (var ((name, expected), (_, x), (_, y)) in model.BaseParameters().Zip(a.BaseParameters(), b.BaseParameters()))
        {
            Assert.True(expected.eq(x).all().ToDouble() == 1, $"{name} differs after a single-file round trip");
            Assert.True(expected.eq(y).all().ToDouble() == 1, $"{name} differs after a sharded round trip");
        }

        // Saving single-file over a sharded directory removes the index the loader would otherwise ignore.
        LlamaCheckpoint.Save(model, sharded);
        Assert.False(File.Exists(Path.Combine(sharded, "model.safetensors.index.json")));
    }

    [Fact]
    public void Bf16_storage_is_bf16_on_disk()
    {
        var c = fixture.Case("bf16");
        using var file = SafetensorsFile.Open(Path.Combine(c.Directory, "model.safetensors"));
        Assert.All(file.Entries, e => Assert.Equal(SafetensorsDType.BF16, e.DType));
        Assert.Contains("\"torch_dtype\": \"bfloat16\"", File.ReadAllText(Path.Combine(c.Directory, "config.json")));
    }

    [Fact]
    public void Missing_tensor_is_named_with_its_file()
    {
        var dir = CopyOf("gqa");
        var file = Path.Combine(dir, "model.safetensors");
        Rewrite(file, t => { t["model.layers.1.mlp.up_proj.weight"].Dispose(); t.Remove("model.layers.1.mlp.up_proj.weight"); });

        var e = LoadFails(dir);

        Assert.Equal($"cannot load checkpoint: {file}: missing tensor 'model.layers.1.mlp.up_proj.weight'", e.Message);
        Assert.Equal(file, e.File);
        Assert.Equal("model.layers.1.mlp.up_proj.weight", e.Tensor);
    }

    [Fact]
    public void Wrong_shape_says_expected_and_found()
    {
        var dir = CopyOf("gqa");
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"intermediate_size\": 48", "\"intermediate_size\": 50"));

        var e = LoadFails(dir);

        var file = Path.Combine(dir, "model.safetensors");
        Assert.Contains($"{file}: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [48, 32], expected [50, 32] (from {config})", e.Message);
        Assert.Contains("model.layers.2.mlp.down_proj.weight' has shape [32, 48], expected [32, 50]", e.Message);
        Assert.Contains("cannot load checkpoint (9 problems)", e.Message);   // 3 layers x gate, up, down
        Assert.DoesNotContain("missing tensor", e.Message);
    }

    [Fact]
    public void Unknown_tensors_are_rejected_but_rotary_inv_freq_buffers_are_ignored()
    {
        var dir = CopyOf("gqa");
        var file = Path.Combine(dir, "model.safetensors");
        Rewrite(file, t => t["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.ones([4]).DetachFromScope());
        using (var ok = LlamaCheckpoint.Load(dir)) Assert.Equal(3, ok.Layers.Count);

        Rewrite(file, t => t["model.layers.0.self_attn.q_proj.bias"] = torch.zeros([32]).DetachFromScope());
        var e = LoadFails(dir);

        Assert.Equal($"cannot load checkpoint: {file}: unexpected tensor 'model.layers.0.self_attn.q_proj.bias' (not a parameter of this llama model)", e.Message);
    }

    [Fact]
    public void Integer_tensors_are_rejected_by_name()
    {
        var dir = CopyOf("gqa");
        var file = Path.Combine(dir, "model.safetensors");
        Rewrite(file, t =>
        {
            var old = t["model.norm.weight"];
            t["model.norm.weight"] = old.to(DType.Int32).DetachFromScope();
            old.Dispose();
        });

        var e = LoadFails(dir);

        Assert.Contains($"{file}: tensor 'model.norm.weight' has dtype I32, expected a floating-point type", e.Message);
    }

    [Fact]
    public void A_tied_checkpoint_that_also_stores_lm_head_loads()
    {
        var dir = CopyOf("tied");
        var file = Path.Combine(dir, "model.safetensors");
        Rewrite(file, t => t["lm_head.weight"] = t["model.embed_tokens.weight"].clone().DetachFromScope());
        using var model = LlamaCheckpoint.Load(dir);
        Assert.Null(model.LmHead);
    }

    [Fact]
    public void Missing_shard_file_is_named()
    {
        var dir = CopyOf("sharded");
        var shards = Directory.GetFiles(dir, "model-*.safetensors").Order().ToList();
        Assert.Equal(2, shards.Count);
        File.Delete(shards[1]);

        var e = LoadFails(dir);

        Assert.StartsWith($"{Path.Combine(dir, "model.safetensors.index.json")}: shard file {shards[1]} does not exist (weight_map puts ", e.Message);
        Assert.Equal(shards[1], e.File);
    }

    [Fact]
    public void Weight_map_pointing_to_the_wrong_shard_is_reported()
    {
        var dir = CopyOf("sharded");
        var indexPath = Path.Combine(dir, "model.safetensors.index.json");
        var index = JsonNode.Parse(File.ReadAllText(indexPath))!;
        var map = index["weight_map"]!.AsObject();
        var shards = map.Select(kv => kv.Value!.GetValue<string>()).Distinct().Order().ToList();
        var moved = map.First(kv => kv.Value!.GetValue<string>() == shards[1]).Key;
        map[moved] = shards[0];
        File.WriteAllText(indexPath, index.ToJsonString());

        var e = LoadFails(dir);

        Assert.Contains($"{indexPath}: weight_map puts tensor '{moved}' in {shards[0]}, but {Path.Combine(dir, shards[0])} has no such tensor", e.Message);
        Assert.Equal(moved, e.Tensor);
    }

    [Fact]
    public void Missing_weights_config_or_directory_are_reported()
    {
        var dir = CopyOf("gqa");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        Assert.Contains($"{dir}: no model.safetensors or model.safetensors.index.json", LoadFails(dir).Message);

        File.Delete(Path.Combine(dir, "config.json"));
        Assert.Contains("config file not found", Assert.Throws<FileNotFoundException>(() => LlamaCheckpoint.Load(dir)).Message);

        var nowhere = Path.Combine(fixture.Root, "does-not-exist");
        Assert.Contains($"{nowhere}: checkpoint directory not found", Assert.Throws<DirectoryNotFoundException>(() => LlamaCheckpoint.Load(nowhere)).Message);
    }

    [Fact]
    public void A_corrupt_shard_is_reported_with_its_path()
    {
        var dir = CopyOf("gqa");
        var file = Path.Combine(dir, "model.safetensors");
        File.WriteAllBytes(file, [1, 2, 3]);
        var e = LoadFails(dir);
        Assert.StartsWith($"{file}: ", e.Message);
        Assert.Equal(file, e.File);
    }
}
