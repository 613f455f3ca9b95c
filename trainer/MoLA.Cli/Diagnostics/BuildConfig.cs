namespace MoLA.Cli.Diagnostics;

/// <summary>
/// The parts of libtorch's <c>torch.build_config</c> (at::show_config) that matter here:
/// the "Build settings: KEY=VALUE, ..." line (BLAS_INFO, LAPACK_INFO, USE_CUDA ...) and the
/// "CPU capability usage: AVX2" line.
/// </summary>
internal sealed class BuildConfig
{
    private readonly Dictionary<string, string> _settings;

    private BuildConfig(Dictionary<string, string> settings, string? cpuCapability)
    {
        _settings = settings;
        CpuCapability = cpuCapability;
    }

    public string? CpuCapability { get; }
    public IReadOnlyDictionary<string, string> Settings => _settings;

    public string? this[string key] => _settings.TryGetValue(key, out var v) ? v : null;

    public static BuildConfig Parse(string text)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        string? capability = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim().TrimStart('-').Trim();
            const string SettingsPrefix = "Build settings:";
            const string CapabilityPrefix = "CPU capability usage:";
            if (line.StartsWith(SettingsPrefix, StringComparison.Ordinal))
            {
                // Values (CXX_FLAGS) contain spaces but not ", ", which separates the entries.
                foreach (var entry in line[SettingsPrefix.Length..].Split(", ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    var eq = entry.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0) continue;
                    settings[entry[..eq].Trim()] = entry[(eq + 1)..].Trim().TrimEnd(',');
                }
            }
            else if (line.StartsWith(CapabilityPrefix, StringComparison.Ordinal))
            {
                capability = line[CapabilityPrefix.Length..].Trim();
            }
        }
        return new BuildConfig(settings, capability);
    }
}
