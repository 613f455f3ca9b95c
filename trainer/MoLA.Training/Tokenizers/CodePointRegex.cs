using System.Globalization;
using System.Text.RegularExpressions;

namespace MoLA.Training.Tokenizers;

/// <summary>
/// Runs a .NET regex as if it matched code points, as the Rust library's regex engine does. .NET matches UTF-16 code
/// units, so <c>\p{L}</c> misses an astral letter and a negated class like <c>[^\p{L}\p{N}]</c> matches half of one.
/// When the text holds surrogate pairs, each pair is replaced by one BMP stand-in character of the same Unicode
/// general category (one without case mappings, not written in the pattern), the regex runs on that compact text, and
/// the match bounds are mapped back. Category classes, \w \d \s, quantifier counts and lookarounds then see one
/// character per code point. Not covered: a pattern that names astral characters itself (it then runs on UTF-16
/// units as before) or a character range that happens to include a stand-in.
/// </summary>
internal sealed class CodePointRegex
{
    private readonly Regex _regex;
    private readonly char[]? _standIns;

    public CodePointRegex(Regex regex)
    {
        _regex = regex;
        string pattern = regex.ToString();
        _standIns = pattern.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0 ? null : StandIns(pattern);
    }

    public Regex Regex => _regex;

    /// <summary>Appends the [start, end) UTF-16 bounds of every non-empty match, left to right.</summary>
    public void Matches(string text, List<(int Start, int End)> output)
    {
        if (_standIns is null || text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            foreach (var m in _regex.EnumerateMatches(text))
            {
                if (m.Length > 0) output.Add((m.Index, m.Index + m.Length));
            }
            return;
        }

        var compact = new char[text.Length];
        var offsets = new int[text.Length + 1];
        int k = 0;
        for (int i = 0; i < text.Length; i++)
        {
            offsets[k] = i;
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                compact[k++] = _standIns[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[i + 1]))];
                i++;
            }
            else
            {
                compact[k++] = c;
            }
        }
        offsets[k] = text.Length;
        foreach (var m in _regex.EnumerateMatches(compact.AsSpan(0, k)))
        {
            if (m.Length > 0) output.Add((offsets[m.Index], offsets[m.Index + m.Length]));
        }
    }

    /// <summary>For each general category, the highest BMP character of it that has no case mapping and is not in the pattern.</summary>
    private static char[] StandIns(string pattern)
    {
        int categories = Enum.GetValues<UnicodeCategory>().Length;
        var standIns = new char[categories];
        int missing = categories;
        for (int c = 0xFFFD; c >= 0x80 && missing > 0; c--)
        {
            char ch = (char)c;
            if (char.IsSurrogate(ch)) continue;
            int cat = (int)CharUnicodeInfo.GetUnicodeCategory(ch);
            if (standIns[cat] != '\0') continue;
            if (char.ToUpperInvariant(ch) != ch || char.ToLowerInvariant(ch) != ch || pattern.Contains(ch)) continue;
            standIns[cat] = ch;
            missing--;
        }
        // Categories with no such BMP character (none has astral members today): keep a surrogate-free placeholder.
        for (int i = 0; i < categories; i++)
        {
            if (standIns[i] == '\0') standIns[i] = '\uFFFD';
        }
        return standIns;
    }
}
