using System.Text.Json;

namespace MoLA.Parallel;

/// <summary>
/// Which EP rank holds which experts, per layer. Default: contiguous, as even as possible (the first
/// N % EP ranks get one more). A table file overrides layers:
/// <code>{ "0": [[0, 1, 2], [3]], "*": [[0, 1], [2, 3]] }</code>
/// key = layer index or "*" (every layer not listed), value = one list of expert ids per EP rank.
/// Uneven counts and any rank order are accepted; each rank's experts must be a contiguous run of ids
/// (a MoE-LoRA layer stores its shard as one stacked range) and every rank needs at least one expert.
/// </summary>
public sealed class ExpertPlacement
{
    private readonly Dictionary<int, int[][]> _layers;
    private readonly int[][]? _default;

    private ExpertPlacement(int expertParallel, Dictionary<int, int[][]> layers, int[][]? fallback, string source)
    {
        ExpertParallel = expertParallel;
        _layers = layers;
        _default = fallback;
        Source = source;
    }

    public int ExpertParallel { get; }

    /// <summary>Where the table came from (a file name or "contiguous"), for messages.</summary>
    public string Source { get; }

    public static ExpertPlacement Contiguous(int expertParallel) =>
        expertParallel >= 1 ? new(expertParallel, [], null, "contiguous")
        : throw new ParallelConfigException("ep", $"must be at least 1, got {expertParallel}");

    /// <summary>Reads and validates a table file (structure, ids, duplicates, gaps, contiguity).</summary>
    public static ExpertPlacement Load(string path, int expertParallel)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ParallelConfigException("placement", $"cannot read placement table '{path}': {e.Message}");
        }
        return Parse(text, expertParallel, path);
    }

    public static ExpertPlacement Parse(string json, int expertParallel, string source = "placement table")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ParallelConfigException(source, $"is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ParallelConfigException(source, "must be a JSON object of layer -> [[experts of EP rank 0], [experts of EP rank 1], ...]");
            var layers = new Dictionary<int, int[][]>();
            int[][]? fallback = null;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                var where = $"{source}: layer \"{prop.Name}\"";
                var ranks = ReadRanks(prop.Value, where, expertParallel);
                Validate(ranks, ranks.Sum(r => r.Length), where);
                if (prop.Name == "*") fallback = ranks;
                else if (int.TryParse(prop.Name, out var layer) && layer >= 0) layers[layer] = ranks;
                else throw new ParallelConfigException(where, "keys must be layer indices (0, 1, ...) or \"*\"");
            }
            return new ExpertPlacement(expertParallel, layers, fallback, source);
        }
    }

    private static int[][] ReadRanks(JsonElement e, string where, int ep)
    {
        if (e.ValueKind != JsonValueKind.Array)
            throw new ParallelConfigException(where, "must be an array with one array of expert ids per EP rank");
        var ranks = e.EnumerateArray().Select((r, i) =>
        {
            if (r.ValueKind != JsonValueKind.Array)
                throw new ParallelConfigException(where, $"EP rank {i}: must be an array of expert ids");
            return r.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v)
                ? v : throw new ParallelConfigException(where, $"EP rank {i}: '{x}' is not an integer expert id")).ToArray();
        }).ToArray();
        if (ranks.Length != ep)
            throw new ParallelConfigException(where, $"lists {ranks.Length} EP ranks, but ep is {ep}");
        return ranks;
    }

    /// <summary>Checks that the ranks' lists cover experts 0..n-1 exactly once, each list contiguous and non-empty.</summary>
    private static void Validate(int[][] ranks, int numExperts, string where)
    {
        var owner = new int[numExperts];
        Array.Fill(owner, -1);
        for (var r = 0; r < ranks.Length; r++)
        {
            if (ranks[r].Length == 0)
                throw new ParallelConfigException(where, $"EP rank {r} holds no experts (every rank needs at least one)");
            foreach (var e in ranks[r])
            {
                if (e < 0 || e >= numExperts)
                    throw new ParallelConfigException(where, $"EP rank {r}: expert {e} is out of range: the layer has {numExperts} experts (0 .. {numExperts - 1}), so expert {MissingOf(ranks, numExperts)} is missing");
                if (owner[e] >= 0)
                    throw new ParallelConfigException(where, $"expert {e} is placed twice (EP ranks {owner[e]} and {r})");
                owner[e] = r;
            }
            var sorted = ranks[r].Order().ToArray();
            if (sorted[^1] - sorted[0] + 1 != sorted.Length)
                throw new ParallelConfigException(where, $"EP rank {r}'s experts [{string.Join(", ", ranks[r])}] are not a contiguous run of ids");
        }
    }

    private static string MissingOf(int[][] ranks, int n)
    {
        var all = ranks.SelectMany(r => r).ToHashSet();
        var missing = Enumerable.Range(0, n).Where(e => !all.Contains(e)).ToList();
        return missing.Count > 0 ? string.Join(", ", missing) : "(none)";
    }

    /// <summary>
    /// The [first, count) range of every EP rank for a layer with <paramref name="numExperts"/> experts,
    /// checked against that count.
    /// </summary>
    public (int First, int Count)[] RangesFor(int layer, int numExperts, string module)
    {
        var where = $"{Source}: layer {layer} ({module})";
        var table = _layers.TryGetValue(layer, out var t) ? t : _default;
        if (table is null)
        {
            if (numExperts < ExpertParallel)
                throw new ParallelConfigException(where, $"has {numExperts} experts, fewer than ep = {ExpertParallel}: every EP rank needs at least one");
            var result = new (int, int)[ExpertParallel];
            var first = 0;
            for (var r = 0; r < ExpertParallel; r++)
            {
                var count = numExperts / ExpertParallel + (r < numExperts % ExpertParallel ? 1 : 0);
                result[r] = (first, count);
                first += count;
            }
            return result;
        }
        var total = table.Sum(r => r.Length);
        if (total != numExperts)
            throw new ParallelConfigException(where, $"the table places {total} experts but the layer has {numExperts}");
        return table.Select(r => (r.Min(), r.Length)).ToArray();
    }

    /// <summary>Owner EP rank of every expert of a layer, from <see cref="RangesFor"/>.</summary>
    public static int[] Owners((int First, int Count)[] ranges)
    {
        var owners = new int[ranges.Sum(r => r.Count)];
        for (var r = 0; r < ranges.Length; r++)
            for (var e = ranges[r].First; e < ranges[r].First + ranges[r].Count; e++) owners[e] = r;
        return owners;
    }
}
