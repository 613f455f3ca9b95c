using System.Text.Json;
using System.Text.Json.Nodes;
using MoLA.Model.Allocation;
using MoLA.Model.ParameterCounting;

namespace MoLA.Model.Adapters;

/// <summary>A malformed or mismatching adapter; the message names the file and the field or tensor at fault.</summary>
public sealed class AdapterException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// What adapter_config.json records: PEFT's usual fields (peft_type, r, lora_alpha, lora_dropout,
/// target_modules, base_model_name_or_path) plus, under "mola", the per-layer experts, top-k and
/// ranks and how the allocation was obtained, which MoLA's reference did not store.
/// </summary>
public sealed record MoeLoraAdapterConfig
{
    public required ExpertAllocation Allocation { get; init; }
    public IReadOnlyList<LlamaProjection> TargetModules { get; init; } = LlamaShape.AllProjections;
    public double LoraAlpha { get; init; } = 16;
    public double Dropout { get; init; } = 0.05;
    public string? BaseModel { get; init; }

    public static string ModuleName(LlamaProjection p) => p.ToString().ToLowerInvariant() + "_proj";

    public string ToJson()
    {
        var a = Allocation;
        var p = a.Provenance;
        var root = new JsonObject
        {
            ["peft_type"] = "LORA",   // as MoLA's reference (its PEFT fork); the "mola" section holds the experts
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = BaseModel,
            ["r"] = a.RankAt(0),
            ["lora_alpha"] = LoraAlpha,
            ["lora_dropout"] = Dropout,
            ["bias"] = "none",
            ["target_modules"] = new JsonArray(TargetModules.Select(t => (JsonNode)ModuleName(t)).ToArray()),
            ["mola"] = new JsonObject
            {
                ["num_layers"] = a.Layers,
                ["experts_per_layer"] = new JsonArray(a.Experts.Select(x => (JsonNode)x).ToArray()),
                ["top_k_per_layer"] = new JsonArray(a.TopK.Select(x => (JsonNode)x).ToArray()),
                ["rank_per_layer"] = new JsonArray(a.Ranks.Select(x => (JsonNode)x).ToArray()),
                ["allocation"] = new JsonObject
                {
                    ["strategy"] = p.Strategy,
                    ["shape"] = p.Shape,
                    ["alphas"] = p.Alphas is null ? null : new JsonArray(p.Alphas.Select(x => (JsonNode)x).ToArray()),
                    ["beta"] = p.Beta,
                    ["budget"] = p.Budget,
                    ["rounding"] = p.Rounding,
                    ["min_per_layer"] = p.MinPerLayer,
                },
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static MoeLoraAdapterConfig Parse(string json, string file)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new AdapterException($"{file}: not valid JSON: {e.Message}", e); }
        if (root is not JsonObject obj) throw new AdapterException($"{file}: expected a JSON object");
        if (obj["mola"] is not JsonObject mola)
            throw new AdapterException($"{file}: field 'mola' is missing: not a MoE-LoRA adapter written by MoLA.Distributed (per-layer experts are needed)");
        var layers = Int(mola, "num_layers", file, "mola.");
        var experts = IntList(mola, "experts_per_layer", layers, file);
        var topK = IntList(mola, "top_k_per_layer", layers, file);
        var ranks = IntList(mola, "rank_per_layer", layers, file);
        var targets = new List<LlamaProjection>();
        if (obj["target_modules"] is not JsonArray tm || tm.Count == 0)
            throw new AdapterException($"{file}: field 'target_modules' must be a non-empty list");
        foreach (var t in tm)
        {
            var name = t?.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : null;
            try { targets.Add(LlamaShape.ParseProjection(name ?? "")); }
            catch (ArgumentException) { throw new AdapterException($"{file}: field 'target_modules': '{t}' is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"); }
        }
        var prov = mola["allocation"] as JsonObject;
        var provenance = new AllocationProvenance(
            prov?["strategy"]?.GetValue<string>() ?? AllocationStrategies.Explicit,
            prov?["shape"]?.GetValue<string>(),
            prov?["alphas"] is JsonArray al ? al.Select(x => x!.GetValue<double>()).ToList() : null,
            prov?["beta"]?.GetValue<double>(),
            prov?["budget"]?.GetValue<int>(),
            prov?["rounding"]?.GetValue<string>(),
            prov?["min_per_layer"]?.GetValue<int>());
        ExpertAllocation allocation;
        try { allocation = ExpertAllocation.FromLayers(experts, topK, ranks, TopKOverflow.Reject, provenance); }
        catch (AllocationException e) { throw new AdapterException($"{file}: field 'mola': {e.Message}", e); }
        return new MoeLoraAdapterConfig
        {
            Allocation = allocation,
            TargetModules = targets,
            LoraAlpha = Number(obj, "lora_alpha", file),
            Dropout = Number(obj, "lora_dropout", file),
            BaseModel = obj["base_model_name_or_path"]?.GetValue<string>(),
        };
    }

    private static int Int(JsonObject o, string field, string file, string prefix = "")
    {
        var n = o[field];
        if (n is null || n.GetValueKind() != JsonValueKind.Number || !n.AsValue().TryGetValue<int>(out var v) || v < 1)
            throw new AdapterException($"{file}: field '{prefix}{field}' must be a positive integer");
        return v;
    }

    private static double Number(JsonObject o, string field, string file)
    {
        var n = o[field];
        if (n is null || n.GetValueKind() != JsonValueKind.Number) throw new AdapterException($"{file}: field '{field}' must be a number");
        return n.GetValue<double>();
    }

    private static int[] IntList(JsonObject o, string field, int expected, string file)
    {
        if (o[field] is not JsonArray arr) throw new AdapterException($"{file}: field 'mola.{field}' must be a list of {expected} integers");
        if (arr.Count != expected) throw new AdapterException($"{file}: field 'mola.{field}' has {arr.Count} entries, mola.num_layers is {expected}");
        var result = new int[expected];
        for (var i = 0; i < expected; i++)
        {
            if (arr[i] is null || arr[i]!.GetValueKind() != JsonValueKind.Number || !arr[i]!.AsValue().TryGetValue<int>(out result[i]))
                throw new AdapterException($"{file}: field 'mola.{field}' entry {i} is not an integer");
        }
        return result;
    }
}
