using YamlDotNet.RepresentationModel;

namespace MoLA.Deploy.Tests;

/// <summary>The objects of a rendered multi-document manifest, parsed by YamlDotNet, with small accessors.</summary>
internal sealed class Manifests
{
    public IReadOnlyList<YamlMappingNode> Objects { get; }

    public Manifests(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        Objects = stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    public IEnumerable<YamlMappingNode> OfKind(string kind) => Objects.Where(o => Y.Str(o, "kind") == kind);

    public YamlMappingNode Get(string kind, string name)
    {
        var found = OfKind(kind).Where(o => Y.Str(o, "metadata", "name") == name).ToList();
        Assert.True(found.Count == 1, $"expected one {kind} {name}, found {found.Count}; objects: {string.Join(", ", Objects.Select(o => $"{Y.Str(o, "kind")}/{Y.Str(o, "metadata", "name")}"))}");
        return found[0];
    }
}

/// <summary>Path access into YAML nodes; a missing key gives null.</summary>
internal static class Y
{
    public static YamlNode? At(YamlNode? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out node)) return null;
        }
        return node;
    }

    public static string? Str(YamlNode? node, params string[] path) => (At(node, path) as YamlScalarNode)?.Value;

    public static YamlMappingNode Map(YamlNode? node, params string[] path) =>
        At(node, path) as YamlMappingNode ?? throw new Xunit.Sdk.XunitException($"no mapping at {string.Join('.', path)}");

    public static IReadOnlyList<YamlNode> Seq(YamlNode? node, params string[] path) =>
        (At(node, path) as YamlSequenceNode)?.Children.ToList() ?? [];

    /// <summary>A mapping of scalars as a dictionary (labels, selectors).</summary>
    public static Dictionary<string, string> Dict(YamlNode? node, params string[] path) =>
        (At(node, path) as YamlMappingNode)?.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => (kv.Value as YamlScalarNode)?.Value ?? "")
        ?? [];
}
