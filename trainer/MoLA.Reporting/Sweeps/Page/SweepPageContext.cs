namespace MoLA.Reporting.Sweeps.Page;

/// <summary>What the sections of a sweep page share: the results, the loaded trials, a colour per configuration and unique ids.</summary>
internal sealed class SweepPageContext(SweepInput input, SweepResults results, IReadOnlyDictionary<string, IReadOnlyList<LoadedTrial>> trials)
{
    private int _next;

    public SweepInput Input { get; } = input;
    public SweepResults Results { get; } = results;
    public IReadOnlyDictionary<string, IReadOnlyList<LoadedTrial>> Trials { get; } = trials;

    /// <summary>Configurations in leaderboard order; a configuration keeps its colour and dash in every chart.</summary>
    public IReadOnlyList<ConfigurationResult> Configurations => Results.Configurations;

    public int Index(string configuration) => Results.Configurations.Select(c => c.Name).ToList().IndexOf(configuration);

    /// <summary>A page-unique id; configuration names never go into ids.</summary>
    public string NewId(string prefix) => $"{prefix}-{++_next}";
}
