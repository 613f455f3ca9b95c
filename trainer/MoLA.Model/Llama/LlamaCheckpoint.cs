using System.Buffers;
using System.Text;
using System.Text.Json;
using MoLA.Safetensors;
using MoLA.Torch;
using MoLA.Torch.NN;
using MoLA.Torch.IO;

namespace MoLA.Model.Llama;

/// <summary>
/// A checkpoint directory cannot be loaded: a missing or unexpected tensor, a wrong shape or
/// dtype, a missing shard, a bad index. The message starts with the file at fault and names the
/// tensor; when several problems are found they are all listed (up to a limit).
/// </summary>
public sealed class LlamaCheckpointException : Exception
{
    public LlamaCheckpointException(string file, string? tensor, string message, Exception? inner = null)
        : base(message, inner)
    {
        File = file;
        Tensor = tensor;
    }

    /// <summary>The (first) file at fault.</summary>
    public string File { get; }

    /// <summary>The (first) tensor at fault, when the problem belongs to one.</summary>
    public string? Tensor { get; }
}

/// <summary>How to load a checkpoint.</summary>
public sealed record LlamaLoadOptions
{
    /// <summary>Compute dtype of the parameters; stored F32/F16/BF16 values are converted to it.</summary>
    public DType DType { get; init; } = DType.Float32;

    /// <summary>Where the parameters live (CPU by default).</summary>
    public Device? Device { get; init; }

    /// <summary>Set requires_grad false on every base weight (fine-tuning trains adapters only).</summary>
    public bool FreezeBaseWeights { get; init; }
}

/// <summary>How to save a checkpoint.</summary>
public sealed record LlamaSaveOptions
{
    /// <summary>Stored dtype (F32, F16 or BF16); null keeps the model's dtype.</summary>
    public DType? DType { get; init; }

    /// <summary>
    /// When set, tensors are split into shards of at most this many bytes (a tensor larger than the
    /// limit gets a shard of its own) named model-0000i-of-0000n.safetensors, with
    /// model.safetensors.index.json; otherwise one model.safetensors.
    /// </summary>
    public long? MaxShardBytes { get; init; }
}

/// <summary>
/// Hugging Face checkpoint directories: config.json plus model.safetensors, or shards listed in
/// model.safetensors.index.json. Loading creates the model and then copies tensor by tensor out of
/// the memory-mapped files, one shard open at a time, so the weights are never held twice.
/// Everything is validated (names, shapes, dtypes, shard files) before the first copy.
/// </summary>
public static class LlamaCheckpoint
{
    public const string ConfigFileName = "config.json";
    public const string WeightsFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private const int MaxListedErrors = 10;

    /// <summary>Reads config.json and the weights of <paramref name="directory"/>.</summary>
    public static LlamaModel Load(string directory, LlamaLoadOptions? options = null)
    {
        options ??= new LlamaLoadOptions();
        RequireDirectory(directory);
        var config = LlamaConfig.Load(Path.Combine(directory, ConfigFileName));
        LlamaModel model;
        using (init.skip_init()) model = new LlamaModel(config, options.DType, options.Device); // every weight is loaded next
        try
        {
            LoadWeights(model, directory);
            if (options.FreezeBaseWeights) model.FreezeBaseWeights();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies a checkpoint's weights into an existing model's base tensors (converted to their
    /// dtype and device). Nothing is copied unless every tensor is present with the right shape.
    /// </summary>
    public static void LoadWeights(LlamaModel model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        RequireDirectory(directory);
        var expected = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in model.BaseParameters()) expected[name] = t;

        var plan = Plan(directory, model.Config, expected);

        using var _ = torch.no_grad();
        foreach (var (file, names) in plan)
        {
            using var st = SafetensorsFile.Open(file);
            foreach (var name in names)
            {
                using var stored = SafetensorsIO.Read(st, st.Get(name));
                expected[name].copy_(stored); // converts dtype and moves to the parameter's device
            }
        }
    }

    /// <summary>
    /// Resolves the shard files and validates every tensor against the model; returns, per file in
    /// order, the tensors to copy from it.
    /// </summary>
    private static List<(string File, List<string> Names)> Plan(string directory, LlamaConfig config, Dictionary<string, Tensor> expected)
    {
        var index = Path.Combine(directory, IndexFileName);
        var files = WeightFiles(directory);

        var errors = new List<(string File, string? Tensor, string Message)>();
        var found = new HashSet<string>(StringComparer.Ordinal);
        var plan = new List<(string File, List<string> Names)>();
        foreach (var (file, listed) in files)
        {
            var toCopy = new List<string>();
            using (var st = OpenShard(file))
            {
                IEnumerable<string> names = listed ?? st.Entries.Select(e => e.Name);
                foreach (var name in names)
                {
                    if (!st.TryGet(name, out var entry))
                    {
                        errors.Add((file, name, $"{index}: weight_map puts tensor '{name}' in {Path.GetFileName(file)}, but {file} has no such tensor"));
                        continue;
                    }
                    if (IsIgnored(name, config)) continue;
                    if (!expected.TryGetValue(name, out var target))
                    {
                        errors.Add((file, name, $"{file}: unexpected tensor '{name}' (not a parameter of this {config.ModelType} model)"));
                        continue;
                    }
                    if (!found.Add(name))
                    {
                        errors.Add((file, name, $"{file}: tensor '{name}' appears in more than one file"));
                        continue;
                    }
                    if (entry.DType is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64))
                    {
                        errors.Add((file, name, $"{file}: tensor '{name}' has dtype {entry.DType.ToHeaderString()}, expected a floating-point type (F32, F16, BF16)"));
                        continue;
                    }
                    if (!entry.Shape.AsSpan().SequenceEqual(target.Shape))
                    {
                        errors.Add((file, name, $"{file}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", target.Shape)}] (from {config.Source})"));
                        continue;
                    }
                    toCopy.Add(name);
                }
            }
            plan.Add((file, toCopy));
        }

        var where = files.Count == 1 ? files[0].File : index;
        foreach (var name in expected.Keys.Where(n => !found.Contains(n)))
        {
            if (errors.Any(e => e.Tensor == name)) continue; // already reported (bad shape, dtype, ...)
            errors.Add((where, name, $"{where}: missing tensor '{name}'"));
        }

        if (errors.Count > 0)
        {
            var text = new StringBuilder();
            text.Append(errors.Count == 1 ? "cannot load checkpoint: " : $"cannot load checkpoint ({errors.Count} problems): ");
            text.AppendJoin("; ", errors.Take(MaxListedErrors).Select(e => e.Message));
            if (errors.Count > MaxListedErrors) text.Append($"; and {errors.Count - MaxListedErrors} more");
            throw new LlamaCheckpointException(errors[0].File, errors[0].Tensor, text.ToString());
        }
        return plan;
    }

    /// <summary>
    /// The weight files of a checkpoint directory: model.safetensors (Names null: every tensor in it),
    /// or the shards of model.safetensors.index.json with the tensors weight_map puts in each.
    /// </summary>
    public static List<(string File, List<string>? Names)> WeightFiles(string directory)
    {
        var single = Path.Combine(directory, WeightsFileName);
        var index = Path.Combine(directory, IndexFileName);
        if (File.Exists(single)) return [(single, null)];
        if (File.Exists(index)) return ReadIndex(index, directory);
        throw new LlamaCheckpointException(directory, null,
            $"{directory}: no {WeightsFileName} or {IndexFileName} (a Hugging Face checkpoint directory holds one of them)");
    }

    /// <summary>Opens one weight file, turning format and I/O errors into checkpoint errors naming it.</summary>
    public static SafetensorsFile OpenWeightFile(string file) => OpenShard(file);

    /// <summary>Tensors some checkpoints carry that are not parameters (recomputed buffers; a tied head).</summary>
    private static bool IsIgnored(string name, LlamaConfig config) =>
        name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)
        || (config.TieWordEmbeddings && name == "lm_head.weight");

    private static SafetensorsFile OpenShard(string file)
    {
        try
        {
            return SafetensorsFile.Open(file);
        }
        catch (SafetensorsFormatException e)
        {
            throw new LlamaCheckpointException(file, e.TensorName, e.Message, e);
        }
        catch (IOException e)
        {
            throw new LlamaCheckpointException(file, null, $"{file}: cannot open: {e.Message}", e);
        }
    }

    /// <summary>Reads weight_map and groups its tensors by shard (shards in first-mention order).</summary>
    private static List<(string File, List<string>? Names)> ReadIndex(string index, string directory)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(index));
        }
        catch (JsonException e)
        {
            throw new LlamaCheckpointException(index, null, $"{index}: not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
                throw new LlamaCheckpointException(index, null, $"{index}: field 'weight_map' is missing or not an object of tensor name -> shard file");

            var byShard = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            var order = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new LlamaCheckpointException(index, entry.Name, $"{index}: weight_map entry '{entry.Name}' must name a shard file (a string)");
                var shard = entry.Value.GetString()!;
                if (shard.Length == 0 || Path.GetFileName(shard) != shard || shard is "." or "..")
                    throw new LlamaCheckpointException(index, entry.Name, $"{index}: weight_map entry '{entry.Name}' names shard '{shard}', which is not a plain file name in the checkpoint directory");
                if (!seen.Add(entry.Name))
                    throw new LlamaCheckpointException(index, entry.Name, $"{index}: weight_map lists tensor '{entry.Name}' twice");
                if (!byShard.TryGetValue(shard, out var names))
                {
                    byShard[shard] = names = [];
                    order.Add(shard);
                }
                names.Add(entry.Name);
            }
            if (order.Count == 0)
                throw new LlamaCheckpointException(index, null, $"{index}: weight_map is empty");

            var missing = order.Where(s => !File.Exists(Path.Combine(directory, s))).ToList();
            if (missing.Count > 0)
            {
                var shard = missing[0];
                var path = Path.Combine(directory, shard);
                throw new LlamaCheckpointException(path, byShard[shard][0],
                    $"{index}: shard file {path} does not exist (weight_map puts {byShard[shard].Count} tensors there, e.g. '{byShard[shard][0]}')"
                    + (missing.Count > 1 ? $"; {missing.Count - 1} more shard(s) missing: {string.Join(", ", missing.Skip(1))}" : ""));
            }
            return order.Select(s => (Path.Combine(directory, s), (List<string>?)byShard[s])).ToList();
        }
    }

    private static void RequireDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: checkpoint directory not found");
    }

    // ---- saving ---------------------------------------------------------------------------------

    /// <summary>
    /// Writes config.json and the base weights (Hugging Face names; adapters are not included) as
    /// model.safetensors or shards plus index. Each file is written atomically; tensors are streamed
    /// out in chunks, so saving needs no second copy of the model.
    /// </summary>
    public static void Save(LlamaModel model, string directory, LlamaSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new LlamaSaveOptions();
        var storeDType = options.DType ?? model.DType;
        if (storeDType is not (DType.Float32 or DType.Float16 or DType.BFloat16))
            throw new ArgumentException($"Save: stored dtype must be Float32, Float16 or BFloat16, got {storeDType}", nameof(options));
        if (options.MaxShardBytes is <= 0)
            throw new ArgumentException($"Save: MaxShardBytes must be positive, got {options.MaxShardBytes}", nameof(options));
        Directory.CreateDirectory(directory);

        var tensors = model.BaseParameters().ToList();
        var byName = tensors.ToDictionary(t => t.Name, t => t.Tensor, StringComparer.Ordinal);
        var stDType = SafetensorsIO.ToSafetensors(storeDType, "(model)");
        long elementSize = storeDType.ElementSize();

        var shards = new List<List<string>>();
        if (options.MaxShardBytes is long limit)
        {
            long used = 0;
            foreach (var (name, t) in tensors)
            {
                long bytes = t.NumEl * elementSize;
                if (shards.Count == 0 || (used > 0 && used + bytes > limit))
                {
                    shards.Add([]);
                    used = 0;
                }
                shards[^1].Add(name);
                used += bytes;
            }
        }
        else
        {
            shards.Add(tensors.Select(t => t.Name).ToList());
        }

        var sharded = options.MaxShardBytes is not null;
        var weightMap = new List<(string Tensor, string Shard)>();
        for (var i = 0; i < shards.Count; i++)
        {
            var fileName = sharded ? $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors" : WeightsFileName;
            var specs = shards[i].Select(n => new SafetensorsTensorSpec(n, stDType, byName[n].Shape));
            SafetensorsWriter.Write(Path.Combine(directory, fileName), specs,
                (spec, stream) => WriteTensor(byName[spec.Name], storeDType, stream),
                new Dictionary<string, string> { ["format"] = "pt" });
            weightMap.AddRange(shards[i].Select(n => (n, fileName)));
        }

        // The loader prefers model.safetensors over an index: never leave the other layout behind.
        if (sharded)
        {
            AtomicFile.WriteAllText(Path.Combine(directory, IndexFileName), IndexJson(weightMap, tensors.Sum(t => t.Tensor.NumEl) * elementSize));
            File.Delete(Path.Combine(directory, WeightsFileName));
        }
        else
        {
            File.Delete(Path.Combine(directory, IndexFileName));
        }
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), model.Config.ToJson(TorchDTypeName(storeDType)));
    }

    /// <summary>Streams a tensor's elements, converted to <paramref name="dtype"/>, in bounded chunks.</summary>
    private static void WriteTensor(Tensor t, DType dtype, Stream stream)
    {
        const long chunkBytes = 16 << 20;
        long elementSize = dtype.ElementSize();
        long chunk = Math.Max(1, chunkBytes / elementSize);
        long total = t.NumEl;
        var buffer = ArrayPool<byte>.Shared.Rent((int)(Math.Min(chunk, Math.Max(total, 1)) * elementSize));
        try
        {
            using var scope = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            var flat = t.detach().reshape(-1);
            for (long start = 0; start < total; start += chunk)
            {
                long n = Math.Min(chunk, total - start);
                using var part = flat.narrow(0, start, n);
                using var converted = part.to(dtype, Device.CPU);
                var span = buffer.AsSpan(0, (int)(n * elementSize));
                converted.CopyTo(span);
                stream.Write(span);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string IndexJson(List<(string Tensor, string Shard)> weightMap, long totalSize)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteNumber("total_size", totalSize);
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var (tensor, shard) in weightMap.OrderBy(e => e.Tensor, StringComparer.Ordinal)) w.WriteString(tensor, shard);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static string TorchDTypeName(DType t) => t switch
    {
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        _ => "float32",
    };
}
