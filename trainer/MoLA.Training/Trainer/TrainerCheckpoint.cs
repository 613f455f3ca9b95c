using System.Globalization;
using System.Text.Json;
using MoLA.Model.Adapters;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Torch.IO;
using MoLA.Torch.Optim;

namespace MoLA.Training.Trainer;

/// <summary>trainer_state.json: where the run stands. <see cref="DataPosition"/> is the index of the next batch.</summary>
public sealed record TrainerState(
    int Step, long DataPosition, long OptimizerStepCount, ulong Seed, string OptionsHash, IReadOnlyList<string> ParameterNames);

/// <summary>
/// checkpoint-{step}/ directories: the adapter (adapter_model.safetensors, adapter_config.json),
/// optimizer.safetensors (per parameter index i: <c>state.{i}.exp_avg</c>, <c>state.{i}.exp_avg_sq</c>;
/// metadata <c>param.{i}</c> = parameter name, <c>step_count</c>) and trainer_state.json. Each is
/// written into a hidden temp directory that is renamed into place last, so a directory named
/// checkpoint-{step} is always complete.
/// </summary>
public static class TrainerCheckpoint
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <param name="adapterTensors">Every module's router and experts under their reference names, whole (gathered when sharded).</param>
    /// <param name="moments">AdamW's moments per trainable parameter in <see cref="TrainerState.ParameterNames"/> order, whole.</param>
    public static string Write(string outputDir, int step, IReadOnlyList<KeyValuePair<string, Tensor>> adapterTensors, MoeLoraAdapterConfig config,
        IReadOnlyList<(Tensor ExpAvg, Tensor ExpAvgSq)> moments, TrainerState state)
    {
        ArgumentNullException.ThrowIfNull(moments);
        ArgumentNullException.ThrowIfNull(state);
        if (moments.Count != state.ParameterNames.Count)
            throw new ArgumentException($"{moments.Count} optimizer states for {state.ParameterNames.Count} parameters", nameof(moments));
        Directory.CreateDirectory(outputDir);
        var final = Path.Combine(outputDir, SftTrainer.CheckpointPrefix + step.ToString(CultureInfo.InvariantCulture));
        var tmp = Path.Combine(outputDir, $".tmp-{SftTrainer.CheckpointPrefix}{step}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(tmp);
            MoeLoraAdapter.Save(adapterTensors, config, tmp);
            var metadata = new Dictionary<string, string>
            {
                ["format"] = "pt",
                ["step_count"] = state.OptimizerStepCount.ToString(CultureInfo.InvariantCulture),
            };
            var tensors = new List<KeyValuePair<string, Tensor>>();
            for (var i = 0; i < moments.Count; i++)
            {
                metadata[$"param.{i}"] = state.ParameterNames[i];
                tensors.Add(new($"state.{i}.exp_avg", moments[i].ExpAvg));
                tensors.Add(new($"state.{i}.exp_avg_sq", moments[i].ExpAvgSq));
            }
            SafetensorsIO.Save(Path.Combine(tmp, SftTrainer.OptimizerFileName), tensors, metadata);
            File.WriteAllText(Path.Combine(tmp, SftTrainer.StateFileName), JsonSerializer.Serialize(state, Json));
            AtomicDirectory.Replace(tmp, final);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
        return final;
    }

    /// <summary>The complete checkpoint-{step} directories under <paramref name="outputDir"/>, oldest first.</summary>
    public static IReadOnlyList<(int Step, string Path)> List(string outputDir)
    {
        if (!Directory.Exists(outputDir)) return [];
        var result = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories(outputDir, SftTrainer.CheckpointPrefix + "*"))
        {
            var name = Path.GetFileName(dir);
            if (!int.TryParse(name.AsSpan(SftTrainer.CheckpointPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var step)) continue;
            if (!IsComplete(dir)) continue;
            result.Add((step, dir));
        }
        return result.OrderBy(r => r.Item1).ToList();
    }

    public static bool IsComplete(string dir) =>
        File.Exists(Path.Combine(dir, SftTrainer.StateFileName)) &&
        File.Exists(Path.Combine(dir, SftTrainer.OptimizerFileName)) &&
        File.Exists(Path.Combine(dir, MoeLoraAdapter.WeightsFileName)) &&
        File.Exists(Path.Combine(dir, MoeLoraAdapter.ConfigFileName));

    /// <summary>The newest complete checkpoint, or null.</summary>
    public static string? FindLatest(string outputDir) => List(outputDir) is { Count: > 0 } l ? l[^1].Path : null;

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints, and leftover temp directories.</summary>
    public static void Prune(string outputDir, int keep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var all = List(outputDir);
        foreach (var (_, path) in all.Take(Math.Max(0, all.Count - keep))) Directory.Delete(path, recursive: true);
    }

    public static TrainerState ReadState(string checkpoint)
    {
        var path = Path.Combine(checkpoint, SftTrainer.StateFileName);
        if (!File.Exists(path)) throw new TrainerException($"{path}: not found (not a complete checkpoint)");
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path))
                ?? throw new TrainerException($"{path}: empty");
        }
        catch (JsonException e) { throw new TrainerException($"{path}: not a valid trainer state: {e.Message}", e); }
    }

    /// <summary>
    /// Copies the checkpoint's adapter tensors into the adapters already attached to <paramref name="model"/>; a module
    /// holding a shard of its experts (expert parallel) takes its router and its own experts from the whole file.
    /// </summary>
    public static void LoadAdapter(string checkpoint, LlamaModel model)
    {
        var weights = Path.Combine(checkpoint, MoeLoraAdapter.WeightsFileName);
        var tensors = SafetensorsIO.Load(weights);
        try
        {
            foreach (var ((l, p), adapter) in MoeLoraAdapter.Attached(model))
            {
                try { adapter.LoadAdapterTensors(tensors, MoeLoraAdapter.Prefix(l, p)); }
                catch (ArgumentException e) { throw new TrainerException($"{weights}: {e.Message}", e); }
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <param name="localPart">Parameter index and saved (whole) moment to the part this rank holds (expert parallel); null: the whole.</param>
    public static void LoadOptimizer(string checkpoint, AdamW optimizer, IReadOnlyList<TrainableParameter> parameters,
        Func<int, Tensor, Tensor>? localPart = null)
    {
        var path = Path.Combine(checkpoint, SftTrainer.OptimizerFileName);
        var tensors = SafetensorsIO.Load(path);
        var parts = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            var errors = new List<string>();
            for (var i = 0; i < optimizer.States.Count; i++)
                foreach (var (suffix, target) in new[] { ("exp_avg", optimizer.States[i].ExpAvg), ("exp_avg_sq", optimizer.States[i].ExpAvgSq) })
                {
                    var name = $"state.{i}.{suffix}";
                    if (!tensors.TryGetValue(name, out var value))
                    {
                        errors.Add($"missing '{name}' ({parameters[i].Name})");
                        continue;
                    }
                    Tensor part;
                    try { part = localPart?.Invoke(i, value) ?? value.alias(); }
                    catch (ArgumentException e)
                    {
                        errors.Add($"'{name}' ({parameters[i].Name}): {e.Message}");
                        continue;
                    }
                    parts[name] = part;
                    if (!part.Shape.SequenceEqual(target.Shape))
                        errors.Add($"'{name}' ({parameters[i].Name}) has shape [{string.Join(", ", value.Shape)}], expected [{string.Join(", ", target.Shape)}]");
                }
            if (tensors.Count != 2 * optimizer.States.Count) errors.Add($"{tensors.Count} tensors, expected {2 * optimizer.States.Count}");
            if (errors.Count > 0) throw new TrainerException($"{path}: does not match the trainer's parameters: {string.Join("; ", errors.Take(8))}");
            using var _ = torch.no_grad();
            for (var i = 0; i < optimizer.States.Count; i++)
            {
                optimizer.States[i].ExpAvg.copy_(parts[$"state.{i}.exp_avg"]);
                optimizer.States[i].ExpAvgSq.copy_(parts[$"state.{i}.exp_avg_sq"]);
            }
        }
        finally
        {
            foreach (var t in parts.Values) t.Dispose();
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
