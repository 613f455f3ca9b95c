using System.CommandLine;
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace MoLA.Cli.Configuration;

/// <summary>A setting a command accepts both as a YAML key and as a flag (--name).</summary>
/// <param name="Name">kebab-case; YAML may also spell it in snake_case.</param>
/// <param name="HelpName">The value's placeholder in --help (N, X, DIR, ...).</param>
public sealed record SettingSpec(string Name, string Help, string HelpName = "VALUE", string? Default = null);

/// <summary>A setting's value is wrong; the message names where it came from (file:line or --flag) and the setting.</summary>
public sealed class SettingException(string message) : Exception(message);

/// <summary>
/// The merged settings of one command: defaults, then the YAML file given with --config, then flags (flags win).
/// Every value keeps its origin, so an error says "run.yaml:7: lr: must be a number > 0, got 'fast'" or
/// "--lr: ...". Typed getters validate; unknown YAML keys are errors (a typo must not be silently ignored).
/// </summary>
public sealed class Settings
{
    private readonly Dictionary<string, SettingSpec> _specs;
    private readonly Dictionary<string, (string Value, string Origin)> _values = new(StringComparer.Ordinal);

    private Settings(IReadOnlyList<SettingSpec> specs) =>
        _specs = specs.ToDictionary(s => s.Name, StringComparer.Ordinal);

    /// <summary>One string-valued option per spec, for a command's definition.</summary>
    public static Dictionary<string, Option<string?>> CreateOptions(IEnumerable<SettingSpec> specs) =>
        specs.ToDictionary(s => s.Name, s => new Option<string?>("--" + s.Name)
        {
            Description = s.Default is null ? s.Help : $"{s.Help} (default: {s.Default})",
            HelpName = s.HelpName,
        }, StringComparer.Ordinal);

    /// <summary>Defaults, then <paramref name="configFile"/> (YAML, optional), then the flags given on the command line.</summary>
    public static Settings Resolve(IReadOnlyList<SettingSpec> specs, string? configFile, ParseResult parse, IReadOnlyDictionary<string, Option<string?>> options)
    {
        var settings = new Settings(specs);
        foreach (var spec in specs)
            if (spec.Default is not null) settings._values[spec.Name] = (spec.Default, "default");
        if (configFile is not null) settings.LoadYaml(configFile);
        foreach (var (name, option) in options)
            if (parse.GetResult(option) is not null && parse.GetValue(option) is { } value)
                settings._values[name] = (value, "--" + name);
        return settings;
    }

    /// <summary>Builds settings from explicit pairs (tests, the demo); origins read "name".</summary>
    public static Settings FromPairs(IReadOnlyList<SettingSpec> specs, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var settings = new Settings(specs);
        foreach (var spec in specs)
            if (spec.Default is not null) settings._values[spec.Name] = (spec.Default, "default");
        foreach (var (name, value) in pairs)
        {
            if (!settings._specs.ContainsKey(name)) throw new SettingException($"unknown setting '{name}'");
            settings._values[name] = (value, name);
        }
        return settings;
    }

    private void LoadYaml(string path)
    {
        if (!File.Exists(path)) throw new SettingException($"--config: file not found: {path}");
        var stream = YamlFile.Load(path);
        if (stream.Documents.Count == 0) return;
        if (stream.Documents.Count > 1) throw new SettingException($"{path}: holds {stream.Documents.Count} YAML documents, expected one");
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" }) return;
        if (root is not YamlMappingNode mapping)
            throw new SettingException($"{path}:{root.Start.Line}: the top level must be a mapping of setting: value");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var line = keyNode.Start.Line;
            var key = (keyNode as YamlScalarNode)?.Value?.Replace('_', '-')
                ?? throw new SettingException($"{path}:{line}: a key must be a plain name");
            if (!_specs.ContainsKey(key))
                throw new SettingException($"{path}:{line}: unknown setting '{key}' (known: {string.Join(", ", _specs.Keys.Order(StringComparer.Ordinal))})");
            if (!seen.Add(key)) throw new SettingException($"{path}:{line}: '{key}' is set twice");
            var value = valueNode switch
            {
                YamlScalarNode scalar => scalar.Value ?? "",
                YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode) =>
                    string.Join(",", seq.Children.Cast<YamlScalarNode>().Select(c => c.Value)),
                _ => throw new SettingException($"{path}:{line}: {key}: expected a value or a list of values"),
            };
            _values[key] = (value, $"{path}:{line}");
        }
    }

    /// <summary>The resolved settings and where each came from (recorded in run.json).</summary>
    public IReadOnlyDictionary<string, string> Values() =>
        _values.OrderBy(v => v.Key, StringComparer.Ordinal).ToDictionary(v => v.Key, v => v.Value.Value, StringComparer.Ordinal);

    /// <summary>The settings given in the YAML file or as flags (not defaults): what a cluster job carries.</summary>
    public IReadOnlyDictionary<string, string> Explicit() =>
        _values.Where(v => v.Value.Origin != "default").OrderBy(v => v.Key, StringComparer.Ordinal)
            .ToDictionary(v => v.Key, v => v.Value.Value, StringComparer.Ordinal);

    public bool Has(string name) => _values.ContainsKey(Known(name));

    public string? String(string name) => _values.TryGetValue(Known(name), out var v) ? v.Value : null;

    public string RequiredString(string name) =>
        String(name) is { Length: > 0 } s ? s : throw new SettingException($"{name}: is required (set it in the config file or with --{name})");

    public int Int(string name, int min, int max = int.MaxValue) =>
        IntOrNull(name, min, max) ?? throw new SettingException($"{name}: is required");

    public int? IntOrNull(string name, int min, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(Known(name), out var v)) return null;
        if (!int.TryParse(v.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw Error(name, v, $"must be a whole number, got '{v.Value}'");
        if (value < min || value > max)
            throw Error(name, v, max == int.MaxValue ? $"must be >= {min}, got {value}" : $"must be in [{min}, {max}], got {value}");
        return value;
    }

    public double Double(string name, double min, double max = double.PositiveInfinity, bool minExclusive = false)
    {
        var v = _values.TryGetValue(Known(name), out var found) ? found : throw new SettingException($"{name}: is required");
        if (!double.TryParse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw Error(name, v, $"must be a finite number, got '{v.Value}'");
        if ((minExclusive ? value <= min : value < min) || value > max)
        {
            var low = minExclusive ? $"> {Fmt(min)}" : $">= {Fmt(min)}";
            throw Error(name, v, double.IsPositiveInfinity(max) ? $"must be {low}, got {Fmt(value)}" : $"must be {low} and <= {Fmt(max)}, got {Fmt(value)}");
        }
        return value;
    }

    public bool Bool(string name)
    {
        if (!_values.TryGetValue(Known(name), out var v)) return false;
        return v.Value.ToLowerInvariant() switch
        {
            "true" or "yes" or "on" or "1" => true,
            "false" or "no" or "off" or "0" => false,
            _ => throw Error(name, v, $"must be true or false, got '{v.Value}'"),
        };
    }

    public string Choice(string name, params string[] allowed)
    {
        var v = _values.TryGetValue(Known(name), out var found) ? found : throw new SettingException($"{name}: is required");
        return allowed.Contains(v.Value, StringComparer.Ordinal)
            ? v.Value
            : throw Error(name, v, $"must be one of {string.Join(", ", allowed)}, got '{v.Value}'");
    }

    /// <summary>An error about a setting's current value, prefixed with its origin.</summary>
    public SettingException Invalid(string name, string message) =>
        _values.TryGetValue(Known(name), out var v) ? Error(name, v, message) : new SettingException($"{name}: {message}");

    private string Known(string name) =>
        _specs.ContainsKey(name) ? name : throw new ArgumentException($"'{name}' is not a declared setting", nameof(name));

    private static SettingException Error(string name, (string Value, string Origin) v, string message)
    {
        if (v.Origin == "--" + name) return new SettingException($"--{name}: {message}");
        if (v.Origin == "default" || v.Origin == name) return new SettingException($"{name}: {message}");
        return new SettingException($"{v.Origin}: {name}: {message}");
    }

    private static string Fmt(double v) => v.ToString("G", CultureInfo.InvariantCulture);
}
