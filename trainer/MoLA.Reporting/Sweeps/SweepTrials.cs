using MoLA.Training.Runs;

namespace MoLA.Reporting.Sweeps;

/// <summary>A succeeded trial with its run directory read (and its predictions, read on first use).</summary>
internal sealed class LoadedTrial(SweepTrialInput input, ReportRun run)
{
    private readonly Dictionary<string, IReadOnlyList<ItemOutcome>> _items = new(StringComparer.Ordinal);

    public SweepTrialInput Input { get; } = input;
    public ReportRun Run { get; } = run;
    public string PredictionsPath => new RunDirectory(Run.Directory).File(RunFiles.Predictions);

    public IReadOnlyList<ItemOutcome> Items(string mode)
    {
        if (!_items.TryGetValue(mode, out var items)) _items[mode] = items = PredictionFile.Read(PredictionsPath, mode);
        return items;
    }
}

/// <summary>Checks a <see cref="SweepInput"/> and reads the run directories of its succeeded trials.</summary>
internal static class SweepTrials
{
    public static readonly string[] States = ["succeeded", "failed", "stopped", "cancelled", "running", "queued"];
    public static readonly string[] Metrics = ["generation", "multiple_choice"];

    /// <summary>Errors in the input itself are <see cref="ArgumentException"/>s naming the field.</summary>
    public static void Validate(SweepInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (string.IsNullOrWhiteSpace(input.SweepId)) throw Bad("sweep_id", "is empty");
        if (string.IsNullOrWhiteSpace(input.Directory)) throw Bad("directory", "is empty");
        if (!Metrics.Contains(input.Metric)) throw Bad("metric", $"is '{input.Metric}', expected one of {string.Join(", ", Metrics)}");
        if (input.Configurations is null || input.Configurations.Count == 0) throw Bad("configurations", "is empty");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < input.Configurations.Count; i++)
        {
            var c = input.Configurations[i];
            if (c is null || string.IsNullOrWhiteSpace(c.Name)) throw Bad($"configurations[{i}].name", "is empty");
            if (!names.Add(c.Name)) throw Bad($"configurations[{i}].name", $"'{c.Name}' appears twice");
        }
        if (input.Baseline is not null && !names.Contains(input.Baseline))
            throw Bad("baseline", $"'{input.Baseline}' is not one of the configurations");
        var done = new HashSet<(string, int)>();
        for (var i = 0; i < (input.Trials ?? []).Count; i++)
        {
            var t = input.Trials![i];
            var field = $"trials[{i}]";
            if (t is null) throw Bad(field, "is null");
            if (!names.Contains(t.Configuration)) throw Bad(field + ".configuration", $"'{t.Configuration}' is not one of the configurations");
            if (!States.Contains(t.State)) throw Bad(field + ".state", $"is '{t.State}', expected one of {string.Join(", ", States)}");
            if (t.State != "succeeded") continue;
            if (string.IsNullOrWhiteSpace(t.RunDirectory)) throw Bad(field + ".run_directory", "is empty for a succeeded trial");
            if (!done.Add((t.Configuration, t.Seed)))
                throw Bad(field, $"is a second succeeded trial of configuration '{t.Configuration}' seed {t.Seed}");
        }
        for (var i = 0; i < (input.MirrorPairs ?? []).Count; i++)
        {
            var (shape, mirror) = input.MirrorPairs![i];
            if (!names.Contains(shape)) throw Bad($"mirror_pairs[{i}].shape", $"'{shape}' is not one of the configurations");
            if (!names.Contains(mirror)) throw Bad($"mirror_pairs[{i}].mirror", $"'{mirror}' is not one of the configurations");
            if (shape == mirror) throw Bad($"mirror_pairs[{i}]", $"pairs '{shape}' with itself");
        }
    }

    /// <summary>The succeeded trials per configuration (seed order); run errors name the file.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<LoadedTrial>> Load(SweepInput input)
    {
        var byConfig = input.Configurations.ToDictionary(c => c.Name, _ => new List<LoadedTrial>(), StringComparer.Ordinal);
        foreach (var t in (input.Trials ?? []).Where(t => t.State == "succeeded").OrderBy(t => t.Seed))
        {
            var full = Path.GetFullPath(t.RunDirectory!);
            if (!Directory.Exists(full)) throw new RunDirectoryException($"{full}: directory not found (trial {t.Trial})");
            byConfig[t.Configuration].Add(new LoadedTrial(t, ReportRun.Load(full)));
        }
        foreach (var (name, trials) in byConfig)
            for (var i = 1; i < trials.Count; i++)
            {
                // Seeds of one configuration must be the same model: else their mean means nothing.
                var (a, b) = (trials[0].Run, trials[i].Run);
                if (!a.Manifest.Allocation.Experts.SequenceEqual(b.Manifest.Allocation.Experts) || a.Manifest.TrainableParameters != b.Manifest.TrainableParameters)
                    throw new RunDirectoryException(
                        $"{Manifest(a)} and {Manifest(b)}: configuration '{name}' has trials with different allocations or trainable parameters " +
                        $"({string.Join(',', a.Manifest.Allocation.Experts)}: {a.Manifest.TrainableParameters} vs {string.Join(',', b.Manifest.Allocation.Experts)}: {b.Manifest.TrainableParameters})");
            }
        return byConfig.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<LoadedTrial>)kv.Value, StringComparer.Ordinal);
    }

    public static string Manifest(ReportRun run) => new RunDirectory(run.Directory).ManifestPath;

    private static ArgumentException Bad(string field, string what) => new($"sweep input: {field} {what}", nameof(SweepInput));
}
