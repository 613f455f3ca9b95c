using MoLA.Model.Llama;
using MoLA.Model.MoeLora;
using MoLA.Model.ParameterCounting;
using MoLA.Safetensors;
using MoLA.Torch;
using MoLA.Torch.IO;

namespace MoLA.Model.Adapters;

/// <summary>
/// MoE-LoRA adapters on a LLaMA model: attach (wrap the target projections of every layer with
/// <see cref="MoeLoraLinear"/> sized by the allocation), save and load. Files: adapter_model.safetensors
/// with MoLA's reference tensor names (<c>base_model.model.model.layers.{L}.self_attn.q_proj.lora_A_{e}.weight</c>,
/// <c>...lora_B_{e}.weight</c>, <c>...q_proj.router.router.weight</c>) and adapter_config.json
/// (<see cref="MoeLoraAdapterConfig"/>).
/// </summary>
public static class MoeLoraAdapter
{
    public const string WeightsFileName = "adapter_model.safetensors";
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>The tensor-name prefix of one wrapped module, as MoLA's reference (PEFT) writes it.</summary>
    public static string Prefix(int layer, LlamaProjection p) =>
        $"base_model.model.model.layers.{layer}.{(p is LlamaProjection.Gate or LlamaProjection.Up or LlamaProjection.Down ? "mlp" : "self_attn")}.{MoeLoraAdapterConfig.ModuleName(p)}";

    /// <summary>Wraps the target projections; returns the adapters by (layer, projection). The base stays frozen.</summary>
    public static IReadOnlyDictionary<(int Layer, LlamaProjection Projection), MoeLoraLinear> Attach(
        LlamaModel model, MoeLoraAdapterConfig config, MoeExecution execution = MoeExecution.Auto)
    {
        var allocation = config.Allocation;
        if (allocation.Layers != model.Config.NumHiddenLayers)
            throw new AdapterException($"the allocation has {allocation.Layers} layers but the base model has {model.Config.NumHiddenLayers}");
        model.FreezeBaseWeights();
        var result = new Dictionary<(int, LlamaProjection), MoeLoraLinear>();
        for (var l = 0; l < allocation.Layers; l++)
            foreach (var p in config.TargetModules)
            {
                if (model.GetProjection(l, p) is MoeLoraLinear)
                    throw new AdapterException($"layer {l} {MoeLoraAdapterConfig.ModuleName(p)} already has an adapter");
                var options = new MoeLoraOptions
                {
                    NumExperts = allocation.ExpertsAt(l),
                    TopK = allocation.TopKAt(l),
                    Rank = allocation.RankAt(l),
                    Alpha = config.LoraAlpha,
                    Dropout = config.Dropout,
                    Execution = execution,
                };
                var adapter = new MoeLoraLinear(model.BaseProjection(l, p), options, Prefix(l, p));
                model.ReplaceProjection(l, p, adapter);
                result[(l, p)] = adapter;
            }
        return result;
    }

    /// <summary>The adapters currently attached to <paramref name="model"/>.</summary>
    public static IReadOnlyDictionary<(int Layer, LlamaProjection Projection), MoeLoraLinear> Attached(LlamaModel model) =>
        model.Projections().Where(s => s.Module is MoeLoraLinear)
            .ToDictionary(s => (s.Layer, s.Projection), s => (MoeLoraLinear)s.Module);

    /// <summary>Writes adapter_model.safetensors and adapter_config.json into <paramref name="directory"/> (each atomically).</summary>
    public static void Save(LlamaModel model, MoeLoraAdapterConfig config, string directory)
    {
        var adapters = Attached(model);
        if (adapters.Count == 0) throw new AdapterException("the model has no MoE-LoRA adapters to save");
        if (adapters.Values.FirstOrDefault(a => !a.HoldsAllExperts) is { } shard)
            throw new AdapterException($"MoE-LoRA module '{shard.Name}' holds only experts {shard.LocalExperts} of {shard.NumExperts} (expert parallel): " +
                "gather the experts first (SftTrainer.SaveAdapter) and save the gathered tensors");
        var tensors = new List<KeyValuePair<string, Tensor>>();
        try
        {
            foreach (var ((l, p), adapter) in adapters.OrderBy(a => a.Key.Layer).ThenBy(a => a.Key.Projection))
                tensors.AddRange(adapter.AdapterTensors(Prefix(l, p)));
            Save(tensors, config, directory);
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    /// <summary>
    /// Writes already named adapter tensors (every module's router and all its experts, names as
    /// <see cref="MoeLoraLinear.AdapterTensors"/> gives them) and adapter_config.json into <paramref name="directory"/>.
    /// </summary>
    public static void Save(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, MoeLoraAdapterConfig config, string directory)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(config);
        if (tensors.Count == 0) throw new AdapterException("no adapter tensors to save");
        Directory.CreateDirectory(directory);
        SafetensorsIO.Save(Path.Combine(directory, WeightsFileName), tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["mola_layers"] = config.Allocation.Layers.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), config.ToJson());
    }

    public static MoeLoraAdapterConfig ReadConfig(string directory)
    {
        var path = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(path)) throw new AdapterException($"{path}: not found (an adapter directory holds {ConfigFileName} and {WeightsFileName})");
        return MoeLoraAdapterConfig.Parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Attaches the adapter saved in <paramref name="directory"/> to a base model and loads its tensors.
    /// Validates the config against the model and every tensor name and shape against the config
    /// before copying anything; the error names the file and the tensor that disagrees.
    /// </summary>
    public static MoeLoraAdapterConfig Load(LlamaModel model, string directory, MoeExecution execution = MoeExecution.Auto)
    {
        var config = ReadConfig(directory);
        var weights = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(weights)) throw new AdapterException($"{weights}: not found");
        var configPath = Path.Combine(directory, ConfigFileName);
        if (config.Allocation.Layers != model.Config.NumHiddenLayers)
            throw new AdapterException($"{configPath}: mola.num_layers is {config.Allocation.Layers} but the base model ({model.Config.Source}) has {model.Config.NumHiddenLayers} layers");
        Dictionary<string, Tensor> tensors;
        try { tensors = SafetensorsIO.Load(weights); }
        catch (SafetensorsFormatException e) { throw new AdapterException(e.Message, e); }
        try
        {
            var adapters = Attach(model, config, execution);
            try
            {
                var expected = new HashSet<string>(StringComparer.Ordinal);
                var errors = new List<string>();
                foreach (var ((l, p), adapter) in adapters)
                {
                    var prefix = Prefix(l, p);
                    var own = adapter.AdapterTensors(prefix);
                    foreach (var (name, target) in own)
                    {
                        expected.Add(name);
                        if (!tensors.TryGetValue(name, out var value))
                            errors.Add($"missing tensor '{name}' (layer {l} has {adapter.NumExperts} experts in {configPath})");
                        else if (!value.Shape.SequenceEqual(target.Shape))
                            errors.Add($"tensor '{name}' has shape [{string.Join(", ", value.Shape)}], expected [{string.Join(", ", target.Shape)}] (rank {adapter.Rank}, base {adapter.OutFeatures}x{adapter.InFeatures})");
                        target.Dispose();
                    }
                }
                foreach (var name in tensors.Keys.Where(n => !expected.Contains(n)).Order(StringComparer.Ordinal))
                    errors.Add($"unexpected tensor '{name}' (not in the adapter that {configPath} describes)");
                if (errors.Count > 0)
                    throw new AdapterException($"{weights}: does not match {ConfigFileName} and the base model: " + string.Join("; ", errors.Take(8)) +
                        (errors.Count > 8 ? $"; and {errors.Count - 8} more" : ""));
                foreach (var ((l, p), adapter) in adapters) adapter.LoadAdapterTensors(tensors, Prefix(l, p));
            }
            catch
            {
                Detach(model);
                throw;
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return config;
    }

    /// <summary>Removes every adapter, putting the frozen base projections back.</summary>
    public static void Detach(LlamaModel model)
    {
        foreach (var ((l, p), adapter) in Attached(model))
        {
            model.ReplaceProjection(l, p, model.BaseProjection(l, p));
            // Release only the adapter's own tensors: disposing the module would dispose the base it wraps.
            adapter.ReleaseRetained();
            adapter.RouterWeight.Dispose();
            adapter.LoraA.Dispose();
            adapter.LoraB.Dispose();
        }
    }
}
