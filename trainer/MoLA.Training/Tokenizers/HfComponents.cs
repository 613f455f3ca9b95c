using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MoLA.Training.Tokenizers;

/// <summary>GPT-2's reversible map from bytes to printable characters, used by the ByteLevel pre-tokenizer and decoder.</summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = BuildByteToChar();
    public static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var d = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) d[ByteToChar[b]] = (byte)b;
        return d;
    }

    public static string Map(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }
}

// ---------------------------------------------------------------- normalizers

internal abstract class Normalizer
{
    public abstract string Normalize(string text);

    public static Normalizer? Parse(HfJson j, JsonElement? e, string path)
    {
        if (e is not { } el) return null;
        string type = j.Type(el, path);
        switch (type)
        {
            case "Sequence":
            {
                string p = HfJson.Join(path, "normalizers");
                var arr = j.Array(j.Req(el, "normalizers", path), p);
                var list = new List<Normalizer>();
                int i = 0;
                foreach (var item in arr.EnumerateArray())
                {
                    if (Parse(j, item, HfJson.Index(p, i++)) is { } n) list.Add(n);
                }
                return new SequenceNormalizer(list);
            }
            case "Prepend":
                return new PrependNormalizer(j.ReqString(el, "prepend", path));
            case "Replace":
                return new ReplaceNormalizer(j.Pattern(el, "pattern", path), j.ReqString(el, "content", path));
            case "Lowercase":
                return new LowercaseNormalizer();
            default:
                throw j.Unsupported(HfJson.Join(path, "type"), type);
        }
    }
}

internal sealed class SequenceNormalizer(List<Normalizer> items) : Normalizer
{
    public override string Normalize(string text)
    {
        foreach (var n in items) text = n.Normalize(text);
        return text;
    }
}

internal sealed class PrependNormalizer(string prefix) : Normalizer
{
    public override string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

internal sealed class ReplaceNormalizer(TextPattern pattern, string content) : Normalizer
{
    public override string Normalize(string text) => pattern.Replace(text, content);
}

internal sealed class LowercaseNormalizer : Normalizer
{
    public override string Normalize(string text) => text.ToLowerInvariant();
}

// ---------------------------------------------------------------- pre-tokenizers

internal enum PrependScheme { First, Always, Never }

internal abstract class PreTokenizer
{
    /// <summary>Splits each piece further. <paramref name="atStart"/>: the first piece begins at offset 0 of the input text.</summary>
    public abstract List<string> Split(List<string> pieces, bool atStart);

    public static PreTokenizer? Parse(HfJson j, JsonElement? e, string path)
    {
        if (e is not { } el) return null;
        string type = j.Type(el, path);
        switch (type)
        {
            case "Sequence":
            {
                string p = HfJson.Join(path, "pretokenizers");
                var arr = j.Array(j.Req(el, "pretokenizers", path), p);
                var list = new List<PreTokenizer>();
                int i = 0;
                foreach (var item in arr.EnumerateArray())
                {
                    if (Parse(j, item, HfJson.Index(p, i++)) is { } n) list.Add(n);
                }
                return new SequencePreTokenizer(list);
            }
            case "Metaspace":
                return new MetaspacePreTokenizer(ReadReplacement(j, el, path), ReadPrependScheme(j, el, path), j.OptBool(el, "split", path, true));
            case "ByteLevel":
                return new ByteLevelPreTokenizer(j.OptBool(el, "add_prefix_space", path, true), j.OptBool(el, "use_regex", path, true));
            case "Split":
            {
                string behavior = j.ReqString(el, "behavior", path);
                if (behavior is not ("Removed" or "Isolated" or "MergedWithPrevious" or "MergedWithNext" or "Contiguous"))
                    throw j.Unsupported(HfJson.Join(path, "behavior"), behavior);
                return new SplitPreTokenizer(j.Pattern(el, "pattern", path), behavior, j.OptBool(el, "invert", path, false));
            }
            default:
                throw j.Unsupported(HfJson.Join(path, "type"), type);
        }
    }

    internal static char ReadReplacement(HfJson j, JsonElement el, string path)
    {
        string r = j.OptString(el, "replacement", path) ?? "\u2581";
        if (r.Length != 1) throw j.Error(HfJson.Join(path, "replacement"), $"must be a single character (got '{r}')");
        return r[0];
    }

    internal static PrependScheme ReadPrependScheme(HfJson j, JsonElement el, string path)
    {
        string? scheme = j.OptString(el, "prepend_scheme", path);
        return scheme switch
        {
            null => j.OptBool(el, "add_prefix_space", path, true) ? PrependScheme.Always : PrependScheme.Never,
            "first" => PrependScheme.First,
            "always" => PrependScheme.Always,
            "never" => PrependScheme.Never,
            _ => throw j.Unsupported(HfJson.Join(path, "prepend_scheme"), scheme),
        };
    }

    /// <summary>Splits <paramref name="text"/> at regex matches, like HF's SplitDelimiterBehavior.</summary>
    internal static void SplitByMatches(string text, TextPattern pattern, string behavior, bool invert, List<string> output)
    {
        var matches = new List<(int Start, int End)>();
        pattern.Matches(text, matches);
        if (behavior == "Isolated" && !invert)
        {
            // The byte-level pre-tokenizers' case, every piece kept in order: no part list needed.
            int at = 0;
            foreach (var (start, end) in matches)
            {
                if (start > at) output.Add(text[at..start]);
                output.Add(text[start..end]);
                at = end;
            }
            if (at < text.Length) output.Add(text[at..]);
            return;
        }
        var parts = new List<(int Start, int End, bool IsMatch)>();
        int pos = 0;
        foreach (var (start, end) in matches)
        {
            if (start > pos) parts.Add((pos, start, invert));
            parts.Add((start, end, !invert));
            pos = end;
        }
        if (pos < text.Length) parts.Add((pos, text.Length, invert));

        var merged = new List<(int Start, int End, bool IsMatch)>();
        switch (behavior)
        {
            case "Removed":
                foreach (var p in parts) if (!p.IsMatch) merged.Add(p);
                break;
            case "Isolated":
                merged.AddRange(parts);
                break;
            case "Contiguous":
                foreach (var p in parts)
                {
                    if (p.IsMatch && merged.Count > 0 && merged[^1].IsMatch) merged[^1] = (merged[^1].Start, p.End, true);
                    else merged.Add(p);
                }
                break;
            case "MergedWithPrevious":
            {
                bool previousMatch = false;
                foreach (var p in parts)
                {
                    if (p.IsMatch && !previousMatch && merged.Count > 0) merged[^1] = (merged[^1].Start, p.End, false);
                    else merged.Add(p);
                    previousMatch = p.IsMatch;
                }
                break;
            }
            case "MergedWithNext":
            {
                bool previousMatch = false;
                for (int i = parts.Count - 1; i >= 0; i--)
                {
                    var p = parts[i];
                    if (p.IsMatch && !previousMatch && merged.Count > 0) merged[^1] = (p.Start, merged[^1].End, false);
                    else merged.Add(p);
                    previousMatch = p.IsMatch;
                }
                merged.Reverse();
                break;
            }
        }
        foreach (var p in merged) output.Add(text[p.Start..p.End]);
    }
}

internal sealed class SequencePreTokenizer(List<PreTokenizer> items) : PreTokenizer
{
    public override List<string> Split(List<string> pieces, bool atStart)
    {
        foreach (var p in items) pieces = p.Split(pieces, atStart);
        return pieces;
    }
}

internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : PreTokenizer
{
    public override List<string> Split(List<string> pieces, bool atStart)
    {
        var output = new List<string>();
        for (int i = 0; i < pieces.Count; i++)
        {
            string text = pieces[i].Replace(' ', replacement);
            bool prepend = scheme == PrependScheme.Always || (scheme == PrependScheme.First && atStart && i == 0);
            if (prepend && text.Length > 0 && text[0] != replacement) text = replacement + text;
            if (!split)
            {
                if (text.Length > 0) output.Add(text);
                continue;
            }
            int start = 0;
            for (int k = 1; k < text.Length; k++)
            {
                if (text[k] != replacement) continue;
                output.Add(text[start..k]);
                start = k;
            }
            if (start < text.Length) output.Add(text[start..]);
        }
        return output;
    }
}

internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
{
    // GPT-2's pre-tokenization pattern.
    private static readonly TextPattern Gpt2 = TextPattern.Regex(new CodePointRegex(
        new Regex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant | RegexOptions.Compiled)));

    public override List<string> Split(List<string> pieces, bool atStart)
    {
        var output = new List<string>();
        var words = new List<string>();
        foreach (string piece in pieces)
        {
            string text = addPrefixSpace && !piece.StartsWith(' ') ? " " + piece : piece;
            words.Clear();
            if (useRegex) SplitByMatches(text, Gpt2, "Isolated", false, words);
            else words.Add(text);
            foreach (string w in words) output.Add(ByteLevelAlphabet.Map(w));
        }
        return output;
    }
}

internal sealed class SplitPreTokenizer(TextPattern pattern, string behavior, bool invert) : PreTokenizer
{
    public override List<string> Split(List<string> pieces, bool atStart)
    {
        var output = new List<string>();
        foreach (string piece in pieces) SplitByMatches(piece, pattern, behavior, invert, output);
        return output;
    }
}

// ---------------------------------------------------------------- decoders

internal abstract class Decoder
{
    public abstract List<string> DecodeChain(List<string> tokens);

    public static Decoder? Parse(HfJson j, JsonElement? e, string path)
    {
        if (e is not { } el) return null;
        string type = j.Type(el, path);
        switch (type)
        {
            case "Sequence":
            {
                string p = HfJson.Join(path, "decoders");
                var arr = j.Array(j.Req(el, "decoders", path), p);
                var list = new List<Decoder>();
                int i = 0;
                foreach (var item in arr.EnumerateArray())
                {
                    if (Parse(j, item, HfJson.Index(p, i++)) is { } d) list.Add(d);
                }
                return new SequenceDecoder(list);
            }
            case "Replace":
                return new ReplaceDecoder(j.Pattern(el, "pattern", path), j.ReqString(el, "content", path));
            case "ByteFallback":
                return new ByteFallbackDecoder();
            case "Fuse":
                return new FuseDecoder();
            case "Strip":
            {
                string content = j.ReqString(el, "content", path);
                if (content.Length != 1) throw j.Error(HfJson.Join(path, "content"), $"must be a single character (got '{content}')");
                return new StripDecoder(content[0], j.OptInt(el, "start", path, 0), j.OptInt(el, "stop", path, 0));
            }
            case "ByteLevel":
                return new ByteLevelDecoder();
            case "Metaspace":
                return new MetaspaceDecoder(PreTokenizer.ReadReplacement(j, el, path), PreTokenizer.ReadPrependScheme(j, el, path));
            default:
                throw j.Unsupported(HfJson.Join(path, "type"), type);
        }
    }
}

internal sealed class SequenceDecoder(List<Decoder> items) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        foreach (var d in items) tokens = d.DecodeChain(tokens);
        return tokens;
    }
}

internal sealed class ReplaceDecoder(TextPattern pattern, string content) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens) => tokens.ConvertAll(t => pattern.Replace(t, content));
}

internal sealed class FuseDecoder : Decoder
{
    public override List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

internal sealed class StripDecoder(char content, int start, int stop) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens) => tokens.ConvertAll(t =>
    {
        int begin = 0, end = t.Length;
        for (int i = 0; i < start && begin < end && t[begin] == content; i++) begin++;
        for (int i = 0; i < stop && end > begin && t[end - 1] == content; i++) end--;
        return t[begin..end];
    });
}

/// <summary>Turns runs of <c>&lt;0xNN&gt;</c> tokens into text; a run that is not valid UTF-8 becomes one U+FFFD per byte (as HF does).</summary>
internal sealed class ByteFallbackDecoder : Decoder
{
    private static readonly UTF8Encoding Strict = new(false, true);

    public static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }

    public override List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        foreach (string t in tokens)
        {
            if (TryParseByte(t, out byte b))
            {
                bytes.Add(b);
                continue;
            }
            Flush(bytes, output);
            output.Add(t);
        }
        Flush(bytes, output);
        return output;
    }

    private static void Flush(List<byte> bytes, List<string> output)
    {
        if (bytes.Count == 0) return;
        try
        {
            output.Add(Strict.GetString(bytes.ToArray()));
        }
        catch (DecoderFallbackException)
        {
            for (int i = 0; i < bytes.Count; i++) output.Add("\uFFFD");
        }
        bytes.Clear();
    }
}

/// <summary>Maps GPT-2 byte characters back to bytes; a token with a character outside the map contributes its own UTF-8 bytes.</summary>
internal sealed class ByteLevelDecoder : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (string t in tokens)
        {
            bool mapped = true;
            foreach (char c in t)
            {
                if (!ByteLevelAlphabet.CharToByte.ContainsKey(c)) { mapped = false; break; }
            }
            if (mapped) foreach (char c in t) bytes.Add(ByteLevelAlphabet.CharToByte[c]);
            else bytes.AddRange(Encoding.UTF8.GetBytes(t));
        }
        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

internal sealed class MetaspaceDecoder(char replacement, PrependScheme scheme) : Decoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i];
            if (i == 0 && scheme != PrependScheme.Never && t.Length > 0 && t[0] == replacement) t = t[1..];
            output.Add(t.Replace(replacement, ' '));
        }
        return output;
    }
}
