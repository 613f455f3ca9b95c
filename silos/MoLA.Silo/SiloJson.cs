using System.Text.Json;
using System.Text.Json.Serialization;

namespace MoLA.Silo;

/// <summary>The API's JSON: snake_case names, enums as strings, nulls omitted.</summary>
public static class SiloJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
}
