using System.Text.Json;
using System.Text.RegularExpressions;

namespace MoLA.Training.Tokenizers;

/// <summary>Reads tokenizer.json values and reports problems as <see cref="TokenizerException"/> naming the file and JSON path.</summary>
internal sealed class HfJson(string source)
{
    public string Source { get; } = source;

    public TokenizerException Error(string path, string message) => new($"{Source}: {path} {message}");

    public TokenizerException Unsupported(string path, string what) => new($"{Source}: {path} '{what}' is not supported");

    public static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    public static string Index(string path, int i) => $"{path}[{i}]";

    /// <summary>The property, or null when it is absent or JSON null.</summary>
    public static JsonElement? Opt(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public JsonElement Req(JsonElement obj, string name, string path) =>
        Opt(obj, name) ?? throw Error(Join(path, name), "is missing");

    public JsonElement Object(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Object ? e : throw Error(path, $"must be an object (got {e.ValueKind})");

    public JsonElement Array(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Array ? e : throw Error(path, $"must be an array (got {e.ValueKind})");

    public string String(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(path, $"must be a string (got {e.ValueKind})");

    public int Int(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : throw Error(path, $"must be a 32-bit integer (got {e.ValueKind})");

    public bool Bool(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error(path, $"must be true or false (got {e.ValueKind})"),
    };

    public string ReqString(JsonElement obj, string name, string path) => String(Req(obj, name, path), Join(path, name));

    public string? OptString(JsonElement obj, string name, string path) =>
        Opt(obj, name) is { } v ? String(v, Join(path, name)) : null;

    public bool OptBool(JsonElement obj, string name, string path, bool fallback) =>
        Opt(obj, name) is { } v ? Bool(v, Join(path, name)) : fallback;

    public int OptInt(JsonElement obj, string name, string path, int fallback) =>
        Opt(obj, name) is { } v ? Int(v, Join(path, name)) : fallback;

    /// <summary>The <c>type</c> tag of a component object.</summary>
    public string Type(JsonElement obj, string path) => ReqString(Object(obj, path), "type", path);

    /// <summary>A <c>{"String": "..."}</c> (literal) or <c>{"Regex": "..."}</c> (compiled .NET regex over code points) pattern.</summary>
    public TextPattern Pattern(JsonElement obj, string name, string path)
    {
        string p = Join(path, name);
        var pattern = Object(Req(obj, name, path), p);
        if (Opt(pattern, "String") is { } s) return TextPattern.Literal(String(s, Join(p, "String")));
        if (Opt(pattern, "Regex") is { } r)
        {
            string text = String(r, Join(p, "Regex"));
            try
            {
                return TextPattern.Regex(new CodePointRegex(new Regex(text, RegexOptions.CultureInvariant | RegexOptions.Compiled)));
            }
            catch (ArgumentException ex)
            {
                throw new TokenizerException($"{Source}: {Join(p, "Regex")} '{text}' is not a pattern .NET Regex supports: {ex.Message}", ex);
            }
        }
        throw Error(p, "must have a \"String\" or \"Regex\" member");
    }
}
