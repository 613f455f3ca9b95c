using System.Globalization;
using System.Text;

namespace MoLA.Training.Tokenizers.Reference;

/// <summary>
/// A deterministic corpus of varied text for tokenizer checks and benchmarks, generated from a seed instead of shipped:
/// English prose with contractions and numbers, code, Chinese/Japanese/Korean, other scripts with combining marks,
/// emoji (ZWJ sequences, skin tones, flags, keycaps), astral letters, digits and symbols (mathematical alphanumerics,
/// Deseret, Gothic, CJK extension B, musical symbols), odd whitespace, special-token strings and long words.
/// Only assigned code points are drawn (judged by .NET's Unicode tables), so both sides classify them alike.
/// </summary>
public static class TokenizerCorpus
{
    private static readonly string[] Words =
    [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he", "this",
        "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were", "their", "one", "all",
        "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "model", "expert",
        "training", "gradient", "router", "adapter", "mixture", "layer", "token", "sequence", "batch", "learning", "rate",
        "distributed", "cluster", "memory", "throughput", "benchmark", "encoding", "language", "question", "answer", "river",
        "mountain", "library", "morning", "history", "government", "children", "information", "understanding", "Paris",
        "London", "Tokyo", "Alice", "Bob", "OpenAI", "LLaMA", "Mistral", "naïve", "café", "résumé", "Zürich", "jalapeño",
        "coöperate", "façade", "über", "déjà", "señor", "IMPORTANT", "HTTP", "JSON", "GPU", "CPU", "x86_64", "e.g.", "i.e.",
    ];

    private static readonly string[] Contractions = ["don't", "it's", "I'm", "they'll", "we've", "she'd", "you're", "can't", "won't", "He's", "THEY'RE", "I'D"];
    private static readonly string[] Punctuation = [".", ",", ";", ":", "!", "?", "...", " -", " —", "\"", "'", ")", " ("];
    private static readonly string[] Emoji =
    [
        "👨‍👩‍👧‍👦", "👍🏽", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "🏳️‍🌈", "🧑🏿‍💻", "👩‍🔬", "✨", "☕", "🙂", "🚀", "🎉", "🤖", "🔥", "😂", "🥲", "🫠",
    ];
    private static readonly string[] Specials = ["<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"];
    private static readonly string[] Whitespace = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\u00A0", "\u3000", "\t\t", "    "];

    // Inclusive code point ranges per script.
    private static readonly (int From, int To)[] Chinese = [(0x4E00, 0x9FA5)];
    private static readonly (int From, int To)[] Kana = [(0x3041, 0x3093), (0x30A1, 0x30F6)];
    private static readonly (int From, int To)[] Hangul = [(0xAC00, 0xD7A3)];
    private static readonly (int From, int To)[] OtherScripts = [(0x0410, 0x044F), (0x0391, 0x03C9), (0x05D0, 0x05EA), (0x0627, 0x064A), (0x0905, 0x0939), (0x0E01, 0x0E2E)];
    private static readonly (int From, int To)[] Marks = [(0x0300, 0x036F), (0x093E, 0x094C), (0x064B, 0x0652)];
    private static readonly (int From, int To)[] AstralLetters = [(0x1D400, 0x1D6A5), (0x10400, 0x1044F), (0x10330, 0x10349), (0x20000, 0x2A6D6), (0x1F130, 0x1F149)];
    private static readonly (int From, int To)[] AstralDigits = [(0x1D7CE, 0x1D7FF), (0x104A0, 0x104A9), (0x1D7D8, 0x1D7E1)];
    private static readonly (int From, int To)[] AstralSymbols = [(0x1D100, 0x1D126), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6C5), (0x1F900, 0x1F9FF), (0x10100, 0x10102)];

    /// <summary>Texts of 20 to 4,000 characters until about <paramref name="totalChars"/> UTF-16 characters are reached.</summary>
    public static IReadOnlyList<string> Generate(int totalChars, int seed = 17)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalChars);
        var random = new Random(seed);
        var texts = new List<string>();
        int total = 0;
        var sb = new StringBuilder();
        while (total < totalChars)
        {
            sb.Clear();
            int target = random.Next(20, random.Next(10) == 0 ? 4000 : 1200);
            int kind = random.Next(10);
            while (sb.Length < target) AppendPiece(random, sb, kind);
            string text = sb.ToString();
            texts.Add(text);
            total += text.Length;
        }
        return texts;
    }

    /// <summary>One word of <paramref name="length"/> letters drawn from a fixed alphabet (the "varied word" of the length curve).</summary>
    public static string VariedWord(int length, int seed = 5)
    {
        var random = new Random(seed);
        const string letters = "etaoinshrdlcumwfgypbvkjxqz";
        var chars = new char[length];
        for (int i = 0; i < length; i++) chars[i] = letters[Math.Min(letters.Length - 1, (int)(random.NextDouble() * random.NextDouble() * letters.Length))];
        return new string(chars);
    }

    private static void AppendPiece(Random r, StringBuilder sb, int kind)
    {
        // Most texts mix a dominant kind with a little of everything else.
        int piece = r.Next(4) == 0 ? r.Next(10) : kind;
        switch (piece)
        {
            case 0 or 1 or 2: Prose(r, sb); break;
            case 3: Code(r, sb); break;
            case 4: Cjk(r, sb); break;
            case 5: Scripts(r, sb); break;
            case 6: EmojiRun(r, sb); break;
            case 7: Astral(r, sb); break;
            case 8: Oddities(r, sb); break;
            default: Numbers(r, sb); break;
        }
    }

    private static void Prose(Random r, StringBuilder sb)
    {
        int n = r.Next(5, 25);
        for (int i = 0; i < n; i++)
        {
            string w = r.Next(12) == 0 ? Contractions[r.Next(Contractions.Length)] : Words[r.Next(Words.Length)];
            if (i == 0) w = char.ToUpperInvariant(w[0]) + w[1..];
            sb.Append(w);
            if (r.Next(8) == 0) sb.Append(Punctuation[r.Next(Punctuation.Length)]);
            sb.Append(r.Next(30) == 0 ? Whitespace[r.Next(Whitespace.Length)] : " ");
        }
        sb.Append(r.Next(3) == 0 ? ".\n" : ". ");
    }

    private static void Code(Random r, StringBuilder sb)
    {
        string name = Words[r.Next(Words.Length)].Replace(".", "_", StringComparison.Ordinal);
        switch (r.Next(3))
        {
            case 0:
                sb.Append("def ").Append(name).Append("_fn(x, y=").Append(r.Next(1000)).Append("):\n    return {\"").Append(name)
                  .Append("\": x ** 2 + y, 'n': [1, 2, 3]}  # ").Append(Words[r.Next(Words.Length)]).Append('\n');
                break;
            case 1:
                sb.Append("public static int ").Append(char.ToUpperInvariant(name[0])).Append(name[1..]).Append("(int[] a)\n{\n\tfor (var i = 0; i < a.Length; i++) a[i] += 0x")
                  .Append(r.Next().ToString("X", CultureInfo.InvariantCulture)).Append(";\n\treturn a.Sum() >> 2; // ok\n}\n\n");
                break;
            default:
                sb.Append("{\"id\": ").Append(r.Next(100000)).Append(", \"name\": \"").Append(name).Append("\", \"tags\": [\"a\", \"b\"], \"score\": ")
                  .Append((r.NextDouble() * 100).ToString("F3", CultureInfo.InvariantCulture)).Append("}\n");
                break;
        }
    }

    private static void Cjk(Random r, StringBuilder sb)
    {
        var ranges = r.Next(3) switch { 0 => Chinese, 1 => Kana, _ => Hangul };
        int n = r.Next(3, 40);
        for (int i = 0; i < n; i++) AppendCodePoint(r, sb, ranges);
        sb.Append(r.Next(3) switch { 0 => "。", 1 => "，", _ => " " });
    }

    private static void Scripts(Random r, StringBuilder sb)
    {
        int words = r.Next(2, 10);
        for (int w = 0; w < words; w++)
        {
            int n = r.Next(2, 9);
            for (int i = 0; i < n; i++)
            {
                AppendCodePoint(r, sb, OtherScripts);
                if (r.Next(6) == 0) AppendCodePoint(r, sb, Marks);
            }
            sb.Append(' ');
        }
    }

    private static void EmojiRun(Random r, StringBuilder sb)
    {
        int n = r.Next(1, 6);
        for (int i = 0; i < n; i++)
        {
            if (r.Next(2) == 0) sb.Append(Emoji[r.Next(Emoji.Length)]);
            else AppendCodePoint(r, sb, AstralSymbols);
            if (r.Next(3) == 0) sb.Append(' ');
        }
        sb.Append(r.Next(2) == 0 ? " " : "! ");
    }

    private static void Astral(Random r, StringBuilder sb)
    {
        int n = r.Next(1, 12);
        var ranges = r.Next(3) switch { 0 => AstralLetters, 1 => AstralDigits, _ => AstralSymbols };
        if (r.Next(2) == 0) sb.Append(' ');
        for (int i = 0; i < n; i++)
        {
            AppendCodePoint(r, sb, ranges);
            if (r.Next(5) == 0) sb.Append(r.Next(3) switch { 0 => "a", 1 => "7", _ => "'s" });
        }
        sb.Append(r.Next(2) == 0 ? " " : "\n");
    }

    private static void Oddities(Random r, StringBuilder sb)
    {
        switch (r.Next(4))
        {
            case 0: sb.Append(Whitespace[r.Next(Whitespace.Length)]).Append(Whitespace[r.Next(Whitespace.Length)]); break;
            case 1: sb.Append(Specials[r.Next(Specials.Length)]); break;
            case 2: sb.Append(' ').Append((char)r.Next('a', 'e'), r.Next(20, 600)).Append(' '); break;
            default: sb.Append("https://example.org/").Append(Words[r.Next(Words.Length)]).Append("?q=").Append(r.Next(10000)).Append("&x=%20 "); break;
        }
    }

    private static void Numbers(Random r, StringBuilder sb)
    {
        sb.Append(r.Next(4) switch
        {
            0 => r.Next(1_000_000_000).ToString(CultureInfo.InvariantCulture),
            1 => r.Next(100000).ToString("N0", CultureInfo.InvariantCulture),
            2 => (r.NextDouble() * 1000).ToString("F4", CultureInfo.InvariantCulture),
            _ => "١٢٣ ४५६ ",
        }).Append(' ');
    }

    private static void AppendCodePoint(Random r, StringBuilder sb, (int From, int To)[] ranges)
    {
        while (true)
        {
            var (from, to) = ranges[r.Next(ranges.Length)];
            int cp = r.Next(from, to + 1);
            if (CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.OtherNotAssigned) continue;
            sb.Append(char.ConvertFromUtf32(cp));
            return;
        }
    }
}
