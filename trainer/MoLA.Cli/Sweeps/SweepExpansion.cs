using System.Globalization;
using MoLA.Cli.Configuration;
using MoLA.Cli.Training;
using MoLA.Grains.Sweeps;
using MoLA.Model.Allocation;
using MoLA.Model.Analysis;
using MoLA.Model.Llama;
using MoLA.Model.ParameterCounting;
using MoLA.Model;
using MoLA.Silo;
using MoLA.Training.Data;

namespace MoLA.Cli.Sweeps;

/// <summary>One allocation entry resolved: its name, what it was (for the report), its settings and its size.</summary>
internal sealed record ResolvedEntry(string Name, string Description, Dictionary<string, string> Settings, int[] Experts, long Parameters, string Origin);

/// <summary>
/// Expands a sweep file into configurations and trials: each allocation entry resolved to `mola train` settings (a MoLA
/// shape, an explicit list, AlphaLoRA from the base model's spectra computed here once, uniform or plain LoRA matched to
/// another entry's trainable parameters), crossed with the axes (all of the grid, or random(n) of it), times the seeds.
/// Every configuration's settings are checked as `mola train` checks them, with errors naming the sweep file's line.
/// </summary>
internal static class SweepExpansion
{
    public static SubmitSweepRequest Expand(SweepFile file, TextWriter log)
    {
        var baseSettings = file.Base.ToDictionary(kv => kv.Key, kv => Absolute(kv.Key, kv.Value.Value), StringComparer.Ordinal);
        if (!baseSettings.ContainsKey("steps"))
            throw new SettingException($"{file.Path}: base.steps: is required (trials are compared at the same number of optimizer steps)");
        var common = Check(file, baseSettings, "base");
        var steps = common.Steps!.Value;
        if (common.EvalData == "none")
            throw new SettingException($"{file.Path}: base.eval-data: is none; a sweep ranks trials on their evaluation (give eval-data)");
        var metric = file.Metric ?? (common.EvalFormat == "multiple-choice" ? "multiple-choice" : "generation");
        if (common.EvalFormat != "both" && common.EvalFormat != metric)
            throw new SettingException($"{file.Path}: metric: is {metric} but base.eval-format is {common.EvalFormat}; set eval-format to {metric} or both");

        var baseDir = ModelResolver.ResolveBaseModel(baseSettings.GetValueOrDefault("base-model", TrainSettings.Embedded));
        var shape = LlamaConfig.Load(baseDir).ToShape();
        var entries = ResolveEntries(file, baseSettings, baseDir, shape, log);

        // The grid: entries x axis values, in the file's order; random(n) keeps n of it (and the baseline).
        var grid = new List<(ResolvedEntry Entry, List<(string Setting, string Value)> Axes)>();
        foreach (var entry in entries)
            foreach (var combination in Cross(file.Axes))
                grid.Add((entry, combination));
        var baselineIndex = BaselineIndex(file, grid);
        var chosen = Enumerable.Range(0, grid.Count).ToList();
        if (file.RandomCount is { } n && n < grid.Count)
        {
            var rng = new SplitMix64(file.SearchSeed);
            var order = Enumerable.Range(0, grid.Count).ToArray();
            for (var i = 0; i < n; i++)
            {
                var j = i + rng.NextInt(order.Length - i);
                (order[i], order[j]) = (order[j], order[i]);
            }
            chosen = order.Take(n).Append(baselineIndex).Distinct().Order().ToList();
        }

        var rungs = file.Asha
            ? AshaRule.Rungs(new AshaSettings(FirstRung(file, steps), file.AshaEta, file.AshaMinSeeds, steps))
            : [];
        var configurations = new List<SweepConfigurationRequest>();
        foreach (var index in chosen)
        {
            var (entry, axes) = grid[index];
            var settings = new Dictionary<string, string>(baseSettings, StringComparer.Ordinal);
            foreach (var (k, v) in entry.Settings) settings[k] = v;
            foreach (var (k, v) in axes) settings[k] = v;
            if (rungs.Count > 0) settings["eval-at"] = string.Join(",", rungs);
            var name = ConfigurationName(file, entry, axes);
            var checkedSettings = Check(file, settings, name);
            if (checkedSettings.Steps != steps)
                throw new SettingException($"{entry.Origin}: {name}: steps: every configuration trains {steps} steps (got {checkedSettings.Steps})");
            configurations.Add(new SweepConfigurationRequest(name, entry.Description, settings));
        }

        // Seed-major: every configuration's first seed runs before any second seed, so comparisons (and ASHA) start early.
        var width = (configurations.Count * file.Seeds.Count).ToString(CultureInfo.InvariantCulture).Length;
        var trials = new List<SweepTrialRequest>();
        foreach (var seed in file.Seeds)
            foreach (var c in configurations)
            {
                var settings = new Dictionary<string, string>(c.Settings, StringComparer.Ordinal) { ["seed"] = seed.ToString(CultureInfo.InvariantCulture) };
                trials.Add(new SweepTrialRequest($"t{(trials.Count + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}", c.Name, seed, settings));
            }

        return new SubmitSweepRequest
        {
            Name = file.Name ?? Path.GetFileNameWithoutExtension(file.Path),
            Configurations = configurations,
            Trials = trials,
            Baseline = configurations[chosen.IndexOf(baselineIndex)].Name,
            Metric = metric == "multiple-choice" ? "multiple_choice" : "generation",
            Asha = file.Asha ? new SweepAshaRequest(FirstRung(file, steps), file.AshaEta, file.AshaMinSeeds) : null,
            TrialRetries = file.TrialRetries,
            Dp = file.Dp,
            Ep = file.Ep,
            Priority = file.Priority,
            MaxRestarts = file.MaxRestarts,
            HangTimeout = file.HangTimeout,
            Steps = steps,
            MirrorPairs = MirrorPairs(file, grid, chosen),
        };
    }

    /// <summary>ASHA's first rung: as given, else the steps over eta squared (three rungs below the end).</summary>
    private static long FirstRung(SweepFile file, int steps)
    {
        var rung = file.AshaFirstRung > 0 ? file.AshaFirstRung : Math.Max(1, steps / (file.AshaEta * file.AshaEta));
        if (rung >= steps) throw new SettingException($"{file.Path}: asha.first-rung: {rung} must be below base.steps ({steps})");
        return rung;
    }

    private static List<ResolvedEntry> ResolveEntries(SweepFile file, Dictionary<string, string> baseSettings, string baseDir, LlamaShape shape, TextWriter log)
    {
        var layers = shape.NumHiddenLayers;
        var resolved = new List<ResolvedEntry>();
        var byName = new Dictionary<string, ResolvedEntry>(StringComparer.Ordinal);
        // Entries with their own allocation first: uniform and lora entries match one of them.
        var order = file.Allocations.Select((e, i) => (e, i)).OrderBy(x => x.e.Kind is "uniform" or "lora" ? 1 : 0).ThenBy(x => x.i).ToList();
        var result = new ResolvedEntry[file.Allocations.Count];
        foreach (var (entry, index) in order)
        {
            var field = $"{entry.Origin}: allocation[{index}]";
            var settings = new Dictionary<string, string>(baseSettings, StringComparer.Ordinal);
            foreach (var (k, v) in entry.Settings) settings[k] = Absolute(k, v.Value);
            string name, description;
            switch (entry.Kind)
            {
                case "mola":
                    {
                        var text = entry.Arguments["shape"];
                        settings["method"] = "moe-lora";
                        settings["strategy"] = "mola";
                        settings["shape"] = text;
                        name = $"mola-{text.Replace(",", "-", StringComparison.Ordinal)}";
                        description = $"mola {text}";
                        break;
                    }
                case "explicit":
                    settings["method"] = "moe-lora";
                    settings["strategy"] = "explicit";
                    settings["experts"] = entry.Arguments["experts"];
                    name = $"explicit-{index + 1}";
                    description = $"explicit {entry.Arguments["experts"]}";
                    break;
                case "alphalora":
                    {
                        var first = FirstMola(resolved, field, "alphalora's default budget");
                        var budget = entry.Arguments.TryGetValue("budget", out var b) ? Int(b, $"{field}.alphalora.budget", layers) : first.Experts.Sum();
                        var beta = entry.Arguments.TryGetValue("beta", out var be) ? Positive(be, $"{field}.alphalora.beta") : AlphaLoRAAllocator.DefaultBeta;
                        var rounding = entry.Arguments.GetValueOrDefault("rounding", "reference");
                        if (rounding is not ("reference" or "largest-remainder"))
                            throw new SettingException($"{field}.alphalora.rounding: must be reference or largest-remainder, got '{rounding}'");
                        int? minExperts = entry.Arguments.TryGetValue("min-experts", out var m) ? Int(m, $"{field}.alphalora.min-experts", 0) : null;
                        log.WriteLine($"sweep: computing AlphaLoRA's layer qualities from the spectra of {baseDir} (once)");
                        ExpertAllocation allocation;
                        try
                        {
                            var spectra = CheckpointAlphaAnalyzer.Analyze(baseDir);
                            allocation = AlphaLoRAAllocator.Allocate(spectra.MatrixAlphas, budget, new AlphaLoRAOptions
                            {
                                Beta = beta,
                                Rounding = rounding == "reference" ? ExpertRounding.Reference : ExpertRounding.LargestRemainder,
                                MinPerLayer = minExperts,
                            });
                        }
                        catch (ArgumentException e)
                        {
                            throw new SettingException($"{field}.alphalora: {e.Message}");
                        }
                        var experts = string.Join(",", allocation.Experts);
                        settings["method"] = "moe-lora";
                        settings["strategy"] = "explicit";
                        settings["experts"] = experts;
                        name = "alphalora";
                        description = string.Create(CultureInfo.InvariantCulture, $"alphalora budget {budget} beta {beta} {rounding} -> {experts}");
                        break;
                    }
                case "uniform":
                    {
                        settings["method"] = "moe-lora";
                        settings["strategy"] = "uniform";
                        if (entry.Arguments.TryGetValue("experts", out var e))
                        {
                            settings["experts"] = e;
                            name = $"uniform-{e}";
                            description = $"uniform {e}";
                            break;
                        }
                        var target = Target(entry, resolved, byName, field);
                        // Parameters grow with the expert count: stop at the first count past the target.
                        int best = 1;
                        long bestGap = long.MaxValue;
                        for (var n = 1; n <= 1024; n++)
                        {
                            settings["experts"] = n.ToString(CultureInfo.InvariantCulture);
                            var gap = Count(file, settings, shape, field).Parameters - target.Parameters;
                            if (Math.Abs(gap) < bestGap) (best, bestGap) = (n, Math.Abs(gap));
                            if (gap >= 0) break;
                        }
                        settings["experts"] = best.ToString(CultureInfo.InvariantCulture);
                        name = $"uniform-{best}";
                        description = string.Create(CultureInfo.InvariantCulture, $"uniform {best} (matches {target.Name}'s {target.Parameters:N0} parameters)");
                        break;
                    }
                default:
                    {
                        settings["method"] = "lora";
                        if (entry.Arguments.TryGetValue("rank", out var r))
                        {
                            settings["rank"] = r;
                            name = $"lora-r{r}";
                            description = $"lora rank {r}";
                            break;
                        }
                        var target = Target(entry, resolved, byName, field);
                        // A plain LoRA's parameters are linear in its rank: one count at rank 1 gives the nearest rank.
                        settings["rank"] = "1";
                        var perRank = Count(file, settings, shape, field).Parameters;
                        var best = (int)Math.Max(1, Math.Round((double)target.Parameters / perRank));
                        settings["rank"] = best.ToString(CultureInfo.InvariantCulture);
                        name = $"lora-r{best}";
                        description = string.Create(CultureInfo.InvariantCulture, $"lora rank {best} (matches {target.Name}'s {target.Parameters:N0} parameters)");
                        break;
                    }
            }
            name = entry.Name ?? name;
            if (byName.ContainsKey(name)) throw new SettingException($"{field}: the name '{name}' is taken by another entry (give this one name: ...)");
            var (experts2, parameters) = Count(file, settings, shape, field);
            var done = new ResolvedEntry(name, description, settings.Where(kv => !baseSettings.TryGetValue(kv.Key, out var v) || v != kv.Value)
                .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), experts2, parameters, entry.Origin);
            byName[name] = done;
            resolved.Add(done);
            result[index] = done;
        }
        return result.ToList();
    }

    private static ResolvedEntry FirstMola(List<ResolvedEntry> resolved, string field, string what) =>
        resolved.FirstOrDefault(e => e.Settings.GetValueOrDefault("strategy") is "mola" or "explicit")
        ?? throw new SettingException($"{field}: {what} comes from the first MoLA entry, and the sweep has none; give it explicitly");

    /// <summary>The entry whose trainable parameters a uniform or LoRA entry matches: match-parameters-of, else the first MoLA entry.</summary>
    private static ResolvedEntry Target(AllocationEntrySpec entry, List<ResolvedEntry> resolved, Dictionary<string, ResolvedEntry> byName, string field)
    {
        if (!entry.Arguments.TryGetValue("match-parameters-of", out var name)) return FirstMola(resolved, field, "the parameter budget to match");
        return byName.TryGetValue(name, out var target)
            ? target
            : throw new SettingException($"{field}: match-parameters-of: '{name}' is not an entry with its own allocation (known: {string.Join(", ", resolved.Select(r => r.Name))})");
    }

    /// <summary>Experts per layer and trainable parameters of a configuration, counted as `mola train` counts them.</summary>
    private static (int[] Experts, long Parameters) Count(SweepFile file, Dictionary<string, string> settings, LlamaShape shape, string field)
    {
        var s = Check(file, settings, field);
        ExpertAllocation allocation;
        try
        {
            allocation = TrainRun.BuildAllocation(s, shape.NumHiddenLayers);
        }
        catch (SettingException e)
        {
            throw new SettingException($"{field}: {e.Message}");
        }
        var count = TrainableParameterCounter.Count(shape, allocation, s.TargetModules);
        return (allocation.Experts.ToArray(), s.Method == "lora" ? count.Lora : count.Total);
    }

    /// <summary>
    /// The settings as `mola train` reads them; an error names the sweep file's line of the setting at fault
    /// (the base's, an entry's or an axis').
    /// </summary>
    private static TrainSettings Check(SweepFile file, Dictionary<string, string> settings, string where)
    {
        try
        {
            // The cluster chooses each trial's run directory; `mola train` requires one to read the settings.
            return TrainSettings.From(Settings.FromPairs(TrainSettings.Specs, settings.Append(new("out", "/cluster-chooses-the-run-directory"))));
        }
        catch (SettingException e)
        {
            var key = e.Message.Split(':')[0];
            var origin = file.Base.GetValueOrDefault(key)?.Origin
                ?? file.Allocations.SelectMany(a => a.Settings).FirstOrDefault(kv => kv.Key == key).Value?.Origin
                ?? file.Axes.FirstOrDefault(a => a.Setting == key).Origin
                ?? file.Path;
            // An entry's errors already name its line; the setting's own line is more precise when it has one.
            throw new SettingException(where.StartsWith(file.Path, StringComparison.Ordinal) && origin == file.Path
                ? $"{where}: {e.Message}" : $"{origin}: {where[(where.LastIndexOf(": ", StringComparison.Ordinal) + 1)..].Trim()}: {e.Message}");
        }
    }

    /// <summary>The baseline: an entry name (with axes, its configuration at each axis' first value) or a configuration name.</summary>
    private static int BaselineIndex(SweepFile file, List<(ResolvedEntry Entry, List<(string Setting, string Value)> Axes)> grid)
    {
        if (file.Baseline is null) return 0;
        for (var i = 0; i < grid.Count; i++)
        {
            var (entry, axes) = grid[i];
            if (ConfigurationName(file, entry, axes) == file.Baseline) return i;
        }
        var first = grid.FindIndex(g => g.Entry.Name == file.Baseline);
        return first >= 0 ? first : throw new SettingException(
            $"{file.Path}: baseline: '{file.Baseline}' is not an allocation entry (entries: {string.Join(", ", grid.Select(g => g.Entry.Name).Distinct())})");
    }

    /// <summary>
    /// Configurations whose allocations mirror each other with the same other settings (2468 and 8642): the first of each
    /// pair puts more experts in the higher layers, the order in which MoLA states its claim.
    /// </summary>
    private static List<List<string>> MirrorPairs(SweepFile file, List<(ResolvedEntry Entry, List<(string Setting, string Value)> Axes)> grid, List<int> chosen)
    {
        var pairs = new List<List<string>>();
        var names = chosen.ToDictionary(i => i, i => ConfigurationName(file, grid[i].Entry, grid[i].Axes));
        foreach (var a in chosen)
            foreach (var b in chosen.Where(b => b > a))
            {
                var (ea, xa) = grid[a];
                var (eb, xb) = grid[b];
                if (ea.Settings.GetValueOrDefault("method") == "lora" || eb.Settings.GetValueOrDefault("method") == "lora") continue;
                if (!xa.SequenceEqual(xb) || !ea.Experts.SequenceEqual(eb.Experts.Reverse()) || ea.Experts.SequenceEqual(eb.Experts)) continue;
                var others = (Dictionary<string, string> s) => s.Where(kv => kv.Key is not ("strategy" or "shape" or "experts")).OrderBy(kv => kv.Key, StringComparer.Ordinal);
                if (!others(ea.Settings).SequenceEqual(others(eb.Settings))) continue;
                pairs.Add(Weight(ea.Experts) > Weight(eb.Experts) ? [names[a], names[b]] : [names[b], names[a]]);
            }
        return pairs;

        static double Weight(int[] experts) => experts.Select((n, layer) => (double)n * layer).Sum() / experts.Sum();
    }

    /// <summary>"mola-2468", or "mola-2468 lr=3e-4" when the sweep varies lr (axes with one value are not named).</summary>
    private static string ConfigurationName(SweepFile file, ResolvedEntry entry, List<(string Setting, string Value)> axes)
    {
        var varying = axes.Where(a => file.Axes.First(x => x.Setting == a.Setting).Values.Count > 1).ToList();
        return varying.Count == 0 ? entry.Name : $"{entry.Name} {string.Join(" ", varying.Select(a => $"{a.Setting}={a.Value}"))}";
    }

    private static IEnumerable<List<(string Setting, string Value)>> Cross(IReadOnlyList<(string Setting, IReadOnlyList<string> Values, string Origin)> axes)
    {
        IEnumerable<List<(string, string)>> result = [[]];
        foreach (var (setting, values, _) in axes)
            result = result.SelectMany(prefix => values.Select(v => new List<(string, string)>(prefix) { (setting, v) })).ToList();
        return result;
    }

    /// <summary>File paths travel absolute: the ranks start in another directory.</summary>
    private static string Absolute(string key, string value) =>
        key is "base-model" or "data" or "eval-data" && value is not (TrainSettings.Embedded or "none") && value.Length > 0 ? Path.GetFullPath(value) : value;

    private static int Int(string text, string field, int min) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min
            ? v : throw new SettingException($"{field}: must be a whole number >= {min}, got '{text}'");

    private static double Positive(string text, string field) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v > 0
            ? v : throw new SettingException($"{field}: must be a number > 0, got '{text}'");
}
