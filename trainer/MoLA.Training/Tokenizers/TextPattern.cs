using System.Text;

namespace MoLA.Training.Tokenizers;

/// <summary>
/// A tokenizer.json pattern: <c>{"String": ...}</c> is matched literally (ordinal, so it may hold astral characters),
/// <c>{"Regex": ...}</c> by a <see cref="CodePointRegex"/>.
/// </summary>
internal sealed class TextPattern
{
    private readonly string? _literal;
    private readonly CodePointRegex? _regex;

    private TextPattern(string? literal, CodePointRegex? regex)
    {
        _literal = literal;
        _regex = regex;
    }

    public static TextPattern Literal(string text) => new(text, null);

    public static TextPattern Regex(CodePointRegex regex) => new(null, regex);

    /// <summary>Appends the [start, end) bounds of every non-empty, non-overlapping match, left to right.</summary>
    public void Matches(string text, List<(int Start, int End)> output)
    {
        if (_regex is not null)
        {
            _regex.Matches(text, output);
            return;
        }
        if (_literal!.Length == 0) return;
        for (int at = text.IndexOf(_literal, StringComparison.Ordinal); at >= 0; at = text.IndexOf(_literal, at + _literal.Length, StringComparison.Ordinal))
            output.Add((at, at + _literal.Length));
    }

    public string Replace(string text, string content)
    {
        if (_literal is not null) return _literal.Length == 0 ? text : text.Replace(_literal, content, StringComparison.Ordinal);
        var matches = new List<(int Start, int End)>();
        _regex!.Matches(text, matches);
        if (matches.Count == 0) return text;
        var sb = new StringBuilder(text.Length);
        int pos = 0;
        foreach (var (start, end) in matches)
        {
            sb.Append(text, pos, start - pos).Append(content);
            pos = end;
        }
        return sb.Append(text, pos, text.Length - pos).ToString();
    }
}
