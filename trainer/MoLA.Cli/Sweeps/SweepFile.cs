using System.Globalization;
using System.Text.RegularExpressions;
using MoLA.Cli.Configuration;
using YamlDotNet.RepresentationModel;

namespace MoLA.Cli.Sweeps;

/// <summary>A value from the sweep file and where it was written ("sweep.yaml:12"), for errors that point at it.</summary>
internal sealed record Located<T>(T Value, string Origin);

/// <summary>One allocation entry as written: its kind, its argument, an optional name and extra settings.</summary>
/// <param name="Kind">mola | explicit | alphalora | uniform | lora.</param>
/// <param name="Arguments">mola: shape; explicit: the list; alphalora: budget, beta, rounding, min-experts; uniform: experts or
/// match-parameters-of; lora: rank or match-parameters-of.</param>
internal sealed record AllocationEntrySpec(string Kind, IReadOnlyDictionary<string, string> Arguments, string? Name,
    IReadOnlyDictionary<string, Located<string>> Settings, string Origin);

/// <summary>
/// A sweep file: the base `mola train` settings, the allocation entries, the other axes, seeds, search and scheduler.
/// Every key is checked (a typo is an error naming the line); values are checked where they are used.
/// </summary>
internal sealed partial class SweepFile
{
    public required string Path { get; init; }
    public string? Name { get; init; }
    public required IReadOnlyDictionary<string, Located<string>> Base { get; init; }
    public required IReadOnlyList<AllocationEntrySpec> Allocations { get; init; }
    /// <summary>Setting -> its values, in the file's order.</summary>
    public required IReadOnlyList<(string Setting, IReadOnlyList<string> Values, string Origin)> Axes { get; init; }
    public required IReadOnlyList<int> Seeds { get; init; }
    /// <summary>null: the whole grid; n: n configurations drawn from it.</summary>
    public int? RandomCount { get; init; }
    public ulong SearchSeed { get; init; }
    public bool Asha { get; init; }
    public long AshaFirstRung { get; init; }
    public int AshaEta { get; init; } = 3;
    public int AshaMinSeeds { get; init; } = 1;
    public string? Baseline { get; init; }
    public string? Metric { get; init; }
    public int TrialRetries { get; init; } = 1;
    public int Dp { get; init; } = 1;
    public int Ep { get; init; } = 1;
    public int? MaxRestarts { get; init; }
    public double? HangTimeout { get; init; }
    public int Priority { get; init; }

    private static readonly string[] TopKeys =
    [
        "name", "base", "allocation", "axes", "seeds", "search", "search-seed", "scheduler", "asha", "baseline", "metric",
        "trial-retries", "dp", "ep", "max-restarts", "hang-timeout", "priority",
    ];

    private static readonly string[] EntryKinds = ["mola", "explicit", "alphalora", "uniform", "lora"];

    public static SweepFile Load(string path)
    {
        if (!File.Exists(path)) throw new SettingException($"{path}: sweep file not found");
        var stream = YamlFile.Load(path);
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new SettingException($"{path}: expected one YAML mapping with base, allocation, axes, seeds, ... (see `mola sweep --help`)");
        var at = new Func<YamlNode, string>(n => $"{path}:{n.Start.Line}");
        var top = Keys(root, path, TopKeys, "sweep");

        var baseSettings = top.TryGetValue("base", out var baseNode)
            ? SettingsOf(Mapping(baseNode, path, "base"), path, "base", exclude: [])
            : throw new SettingException($"{path}: base: is required (the `mola train` settings every trial shares)");
        var allocations = top.TryGetValue("allocation", out var allocationNode)
            ? Sequence(allocationNode, path, "allocation").Children.Select((n, i) => Entry(n, path, i)).ToList()
            : throw new SettingException($"{path}: allocation: is required (a list such as [2468, 8642, uniform, lora])");
        if (allocations.Count == 0) throw new SettingException($"{at(allocationNode)}: allocation: lists no entry");

        var axes = new List<(string, IReadOnlyList<string>, string)>();
        if (top.TryGetValue("axes", out var axesNode))
        {
            foreach (var (k, v) in Mapping(axesNode, path, "axes").Children)
            {
                var setting = SettingName(k, path, "axes");
                if (setting is "seed" or "out" or "resume" or "name")
                    throw new SettingException($"{at(k)}: axes: {setting} cannot be an axis{(setting == "seed" ? " (use seeds: [..])" : "")}");
                if (setting is "method" or "strategy" or "shape" or "experts")
                    throw new SettingException($"{at(k)}: axes: {setting} is set by the allocation entries; list it there");
                if (baseSettings.ContainsKey(setting)) throw new SettingException($"{at(k)}: axes: {setting} is also in base; keep it in one place");
                var values = v is YamlSequenceNode seq ? seq.Children.Select(c => Scalar(c, path, $"axes.{setting}")).ToList() : [Scalar(v, path, $"axes.{setting}")];
                if (values.Count == 0) throw new SettingException($"{at(v)}: axes.{setting}: lists no value");
                if (values.Distinct(StringComparer.Ordinal).Count() != values.Count) throw new SettingException($"{at(v)}: axes.{setting}: a value is listed twice");
                axes.Add((setting, values, at(k)));
            }
        }

        var seeds = top.TryGetValue("seeds", out var seedsNode)
            ? (seedsNode is YamlSequenceNode s ? s.Children : [seedsNode]).Select(n => Int(n, path, "seeds", 0, int.MaxValue)).ToList()
            : [42];
        if (seeds.Count == 0) throw new SettingException($"{path}: seeds: lists no seed");
        if (seeds.Distinct().Count() != seeds.Count) throw new SettingException($"{at(seedsNode!)}: seeds: a seed is listed twice");

        int? random = null;
        if (top.TryGetValue("search", out var searchNode))
        {
            var search = Scalar(searchNode, path, "search");
            if (search == "grid") random = null;
            else if (RandomSearch().Match(search) is { Success: true } m && int.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out var n) && n >= 1)
                random = n;
            else throw new SettingException($"{at(searchNode)}: search: must be grid or random(N) with N >= 1, got '{search}'");
        }

        var asha = false;
        if (top.TryGetValue("scheduler", out var schedulerNode))
        {
            asha = Scalar(schedulerNode, path, "scheduler") switch
            {
                "fifo" => false,
                "asha" => true,
                var other => throw new SettingException($"{at(schedulerNode)}: scheduler: must be fifo or asha, got '{other}'"),
            };
        }
        long firstRung = 0;
        int eta = 3, minSeeds = 1;
        if (top.TryGetValue("asha", out var ashaNode))
        {
            if (!asha) throw new SettingException($"{at(ashaNode)}: asha: is set but scheduler is not asha");
            var keys = Keys(Mapping(ashaNode, path, "asha"), path, ["first-rung", "eta", "min-seeds"], "asha");
            if (keys.TryGetValue("first-rung", out var f)) firstRung = Int(f, path, "asha.first-rung", 1, int.MaxValue);
            if (keys.TryGetValue("eta", out var e)) eta = Int(e, path, "asha.eta", 2, 100);
            if (keys.TryGetValue("min-seeds", out var ms)) minSeeds = Int(ms, path, "asha.min-seeds", 1, 1000);
        }
        if (asha && minSeeds > seeds.Count)
            throw new SettingException($"{path}: asha.min-seeds: is {minSeeds} but seeds lists only {seeds.Count}: no configuration could ever be judged");

        string? Optional(string key) => top.TryGetValue(key, out var n) ? Scalar(n, path, key) : null;
        int OptionalInt(string key, int fallback, int min, int max) => top.TryGetValue(key, out var n) ? Int(n, path, key, min, max) : fallback;
        var metric = Optional("metric");
        if (metric is not (null or "generation" or "multiple-choice"))
            throw new SettingException($"{at(top["metric"])}: metric: must be generation or multiple-choice, got '{metric}'");
        double? hang = null;
        if (top.TryGetValue("hang-timeout", out var hangNode))
        {
            var text = Scalar(hangNode, path, "hang-timeout");
            hang = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var h) && double.IsFinite(h) && h >= 1
                ? h : throw new SettingException($"{at(hangNode)}: hang-timeout: must be a number of seconds >= 1, got '{text}'");
        }
        return new SweepFile
        {
            Path = path,
            Name = Optional("name"),
            Base = baseSettings,
            Allocations = allocations,
            Axes = axes,
            Seeds = seeds,
            RandomCount = random,
            SearchSeed = (ulong)OptionalInt("search-seed", 0, 0, int.MaxValue),
            Asha = asha,
            AshaFirstRung = firstRung,
            AshaEta = eta,
            AshaMinSeeds = minSeeds,
            Baseline = Optional("baseline"),
            Metric = metric,
            TrialRetries = OptionalInt("trial-retries", 1, 0, 100),
            Dp = OptionalInt("dp", 1, 1, 4096),
            Ep = OptionalInt("ep", 1, 1, 4096),
            MaxRestarts = top.ContainsKey("max-restarts") ? OptionalInt("max-restarts", 0, 0, 1000) : null,
            HangTimeout = hang,
            Priority = OptionalInt("priority", 0, int.MinValue, int.MaxValue),
        };
    }

    /// <summary>
    /// An allocation entry: "2468" (a MoLA shape), a list [2, 4, ...] (experts per layer), "alphalora", "uniform", "lora"
    /// (each matched to the first MoLA entry), or a mapping {mola|explicit|alphalora|uniform|lora: ..., name: .., settings}.
    /// </summary>
    private static AllocationEntrySpec Entry(YamlNode node, string path, int index)
    {
        var origin = $"{path}:{node.Start.Line}";
        var field = $"allocation[{index}]";
        switch (node)
        {
            case YamlScalarNode { Value: { } text }:
                return text.Trim() switch
                {
                    "alphalora" or "uniform" or "lora" => new AllocationEntrySpec(text.Trim(), new Dictionary<string, string>(), null, new Dictionary<string, Located<string>>(), origin),
                    var shape => new AllocationEntrySpec("mola", new Dictionary<string, string> { ["shape"] = shape }, null, new Dictionary<string, Located<string>>(), origin),
                };
            case YamlSequenceNode list:
                return new AllocationEntrySpec("explicit",
                    new Dictionary<string, string> { ["experts"] = string.Join(",", list.Children.Select(c => Int(c, path, field, 1, 1024).ToString(CultureInfo.InvariantCulture))) },
                    null, new Dictionary<string, Located<string>>(), origin);
            case YamlMappingNode map:
                {
                    string? kind = null, name = null;
                    var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
                    var rest = new YamlMappingNode();
                    foreach (var (k, v) in map.Children)
                    {
                        var key = SettingName(k, path, field);
                        if (key == "name") name = Scalar(v, path, $"{field}.name");
                        else if (EntryKinds.Contains(key))
                        {
                            if (kind is not null) throw new SettingException($"{path}:{k.Start.Line}: {field}: has both {kind} and {key}; one allocation per entry");
                            kind = key;
                            arguments = EntryArguments(key, v, path, $"{field}.{key}");
                        }
                        else rest.Add(k, v);
                    }
                    if (kind is null) throw new SettingException($"{origin}: {field}: names no allocation (one of {string.Join(", ", EntryKinds)})");
                    var settings = SettingsOf(rest, path, field, exclude: ["method", "strategy", "shape", "experts", "seed"]);
                    return new AllocationEntrySpec(kind, arguments, name, settings, origin);
                }
            default:
                throw new SettingException($"{origin}: {field}: expected a shape, a list of experts per layer, or a mapping");
        }
    }

    private static Dictionary<string, string> EntryArguments(string kind, YamlNode node, string path, string field)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string[] allowed = kind switch
        {
            "mola" => ["shape"],
            "explicit" => ["experts"],
            "alphalora" => ["budget", "beta", "rounding", "min-experts"],
            "uniform" => ["experts", "match-parameters-of"],
            _ => ["rank", "match-parameters-of"],
        };
        switch (node)
        {
            case YamlScalarNode { Value: null or "" } when kind is "alphalora" or "uniform" or "lora":
                return result;
            case YamlScalarNode scalar:
                result[allowed[0]] = scalar.Value!.Trim();
                return result;
            case YamlSequenceNode list when kind is "mola" or "explicit":
                result[kind == "mola" ? "shape" : "experts"] = string.Join(",", list.Children.Select(c => Scalar(c, path, field)));
                return result;
            case YamlMappingNode map:
                foreach (var (k, v) in Keys(map, path, allowed, field)) result[k] = Scalar(v, path, $"{field}.{k}");
                return result;
            default:
                throw new SettingException($"{path}:{node.Start.Line}: {field}: expected a value or a mapping of {string.Join(", ", allowed)}");
        }
    }

    /// <summary>`mola train` settings from a mapping (values or lists), each with its line.</summary>
    private static Dictionary<string, Located<string>> SettingsOf(YamlMappingNode map, string path, string field, string[] exclude)
    {
        var result = new Dictionary<string, Located<string>>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = SettingName(k, path, field);
            if (!TrainSettings.Specs.Any(s => s.Name == key))
                throw new SettingException($"{path}:{k.Start.Line}: {field}: unknown setting '{key}' (a `mola train` setting is expected)");
            if (key is "out" or "resume") throw new SettingException($"{path}:{k.Start.Line}: {field}: {key} is chosen by the cluster; leave it out");
            if (key is "seed" && field == "base") throw new SettingException($"{path}:{k.Start.Line}: base: seed: use seeds: [..] at the top level");
            if (exclude.Contains(key)) throw new SettingException($"{path}:{k.Start.Line}: {field}: {key} is set by the entry's allocation");
            var value = v switch
            {
                YamlScalarNode s => s.Value ?? "",
                YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode) => string.Join(",", seq.Children.Cast<YamlScalarNode>().Select(c => c.Value)),
                _ => throw new SettingException($"{path}:{k.Start.Line}: {field}.{key}: expected a value or a list of values"),
            };
            if (!result.TryAdd(key, new Located<string>(value, $"{path}:{k.Start.Line}")))
                throw new SettingException($"{path}:{k.Start.Line}: {field}: '{key}' is set twice");
        }
        return result;
    }

    private static Dictionary<string, YamlNode> Keys(YamlMappingNode map, string path, string[] allowed, string field)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            var key = SettingName(k, path, field);
            if (!allowed.Contains(key))
                throw new SettingException($"{path}:{k.Start.Line}: {field}: unknown key '{key}' (known: {string.Join(", ", allowed)})");
            if (!result.TryAdd(key, v)) throw new SettingException($"{path}:{k.Start.Line}: {field}: '{key}' is set twice");
        }
        return result;
    }

    private static string SettingName(YamlNode key, string path, string field) =>
        (key as YamlScalarNode)?.Value?.Replace('_', '-') is { Length: > 0 } k ? k : throw new SettingException($"{path}:{key.Start.Line}: {field}: a key must be a plain name");

    private static YamlMappingNode Mapping(YamlNode node, string path, string field) =>
        node as YamlMappingNode ?? throw new SettingException($"{path}:{node.Start.Line}: {field}: expected a mapping");

    private static YamlSequenceNode Sequence(YamlNode node, string path, string field) =>
        node as YamlSequenceNode ?? throw new SettingException($"{path}:{node.Start.Line}: {field}: expected a list");

    private static string Scalar(YamlNode node, string path, string field) =>
        node is YamlScalarNode { Value: { } v } ? v.Trim() : throw new SettingException($"{path}:{node.Start.Line}: {field}: expected a single value");

    private static int Int(YamlNode node, string path, string field, int min, int max)
    {
        var text = Scalar(node, path, field);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new SettingException($"{path}:{node.Start.Line}: {field}: must be a whole number in [{min}, {max}], got '{text}'");
    }

    [GeneratedRegex(@"^random\((\d+)\)$")]
    private static partial Regex RandomSearch();
}
