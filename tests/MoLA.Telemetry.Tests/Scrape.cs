using System.Globalization;

namespace MoLA.Telemetry.Tests;

/// <summary>Reads a /metrics page over HTTP and picks samples out of it.</summary>
internal static class Scrape
{
    public static async Task<string[]> Lines(Uri url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return (await http.GetStringAsync(url)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The value of a sample line ("name{labels} value [timestamp]").</summary>
    public static double Value(string line)
    {
        var close = line.LastIndexOf('}');
        var rest = close >= 0 ? line[(close + 1)..] : line[line.IndexOf(' ', StringComparison.Ordinal)..];
        return rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v => double.Parse(v, CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The one sample of <paramref name="name"/> whose labels contain every fragment; fails when there are none or several.</summary>
    public static double Single(string[] lines, string name, params string[] labelFragments)
    {
        var matches = lines.Where(l => !l.StartsWith('#') && (l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            && labelFragments.All(f => l.Contains(f, StringComparison.Ordinal))).ToList();
        Assert.True(matches.Count == 1, $"{matches.Count} samples of {name} with {string.Join(",", labelFragments)}:\n{string.Join('\n', lines)}");
        return Value(matches[0]);
    }
}
