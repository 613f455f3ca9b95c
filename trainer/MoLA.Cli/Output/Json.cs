using System.Text.Json;
using System.Text.Json.Serialization;

namespace MoLA.Cli.Output;

/// <summary>
/// JSON output of the commands: snake_case names derived from the report records (so renaming a
/// record property renames a field: don't), nulls written out so every field is always present.
/// </summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
    };

    public static void Write<T>(TextWriter writer, T value) => writer.WriteLine(JsonSerializer.Serialize(value, Options));
}
