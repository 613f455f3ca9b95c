using System.Text.Json.Nodes;

namespace MoLA.Training.Tests.Tokenizers;

/// <summary>Writes hand-built tokenizer.json files into a temporary folder that is deleted on dispose.</summary>
internal sealed class TokenizerFiles : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "mola-tok-" + Guid.NewGuid().ToString("N"));

    public TokenizerFiles() => Directory.CreateDirectory(Dir);

    public string Write(JsonNode json, string name = "tokenizer.json") => WriteText(json.ToJsonString(), name);

    public string WriteText(string text, string name = "tokenizer.json")
    {
        string path = Path.Combine(Dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }

    public static JsonObject Pattern(string s) => new() { ["String"] = s };

    public static JsonObject Added(int id, string content, bool special = true) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = false, ["special"] = special,
    };

    /// <summary>
    /// LLaMA-2 layout: &lt;unk&gt;=0, &lt;s&gt;=1, &lt;/s&gt;=2, &lt;0x00&gt;..&lt;0xFF&gt;=3..258, then
    /// ▁=259 h=260 e=261 l=262 o=263 w=264 r=265 d=266 and the merge results ll=267 he=268 ▁w=269 hell=270
    /// hello=271 ▁hello=272 or=273 ▁wor=274 ld=275.
    /// </summary>
    public static JsonObject Llama2(bool byteFallback = true, bool metaspace = false, bool mergesAsPairs = false)
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = 3 + b;
        string[] pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", "ll", "he", "▁w", "hell", "hello", "▁hello", "or", "▁wor", "ld"];
        for (int i = 0; i < pieces.Length; i++) vocab[pieces[i]] = 259 + i;
        string[][] merges = [["l", "l"], ["h", "e"], ["▁", "w"], ["he", "ll"], ["hell", "o"], ["▁", "hello"], ["o", "r"], ["▁w", "or"], ["l", "d"]];
        var mergeArray = new JsonArray();
        foreach (var m in merges) mergeArray.Add(mergesAsPairs ? new JsonArray(m[0], m[1]) : (JsonNode)JsonValue.Create(m[0] + " " + m[1]));

        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Added(0, "<unk>"), Added(1, "<s>"), Added(2, "</s>")),
            ["normalizer"] = metaspace ? null : new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = Pattern(" "), ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = metaspace
                ? new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = true }
                : null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = Pattern("▁"), ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = "<unk>",
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = byteFallback,
                ["vocab"] = vocab,
                ["merges"] = mergeArray,
            },
        };
    }

    /// <summary>GPT-2's bytes_to_unicode table, written independently of the library's.</summary>
    public static char ByteChar(int b)
    {
        var printable = new List<int>();
        for (int c = '!'; c <= '~'; c++) printable.Add(c);
        for (int c = 0xA1; c <= 0xAC; c++) printable.Add(c);
        for (int c = 0xAE; c <= 0xFF; c++) printable.Add(c);
        if (printable.Contains(b)) return (char)b;
        int n = 0;
        for (int x = 0; x < b; x++) if (!printable.Contains(x)) n++;
        return (char)(256 + n);
    }

    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Byte-level layout: id b = the GPT-2 character of byte b (0..255), then merges he=256 ll=257 hell=258 hello=259
    /// Ġw=260 or=261 Ġwor=262 ld=263 Ã©(é)=264 34=265, added &lt;|begin_of_text|&gt;=266 &lt;|end_of_text|&gt;=267 &lt;|eot|&gt;=268.
    /// <paramref name="llama3"/>: Split(LLaMA-3 regex) + ByteLevel(use_regex false) and merges as pairs; else GPT-2 ByteLevel.
    /// </summary>
    public static JsonObject ByteLevel(bool llama3)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteChar(b).ToString()] = b;
        string[][] merges = [["h", "e"], ["l", "l"], ["he", "ll"], ["hell", "o"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"], ["l", "d"], ["Ã", "©"], ["3", "4"]];
        var mergeArray = new JsonArray();
        for (int i = 0; i < merges.Length; i++)
        {
            vocab[merges[i][0] + merges[i][1]] = 256 + i;
            mergeArray.Add(llama3 ? new JsonArray(merges[i][0], merges[i][1]) : (JsonNode)JsonValue.Create(merges[i][0] + " " + merges[i][1]));
        }
        JsonNode preTokenizer = llama3
            ? new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            }
            : new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Added(266, "<|begin_of_text|>"), Added(267, "<|end_of_text|>"), Added(268, "<|eot|>")),
            ["normalizer"] = null,
            ["pre_tokenizer"] = preTokenizer,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["processors"] = new JsonArray(
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                    new JsonObject
                    {
                        ["type"] = "TemplateProcessing",
                        ["single"] = new JsonArray(
                            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                        ["pair"] = new JsonArray(),
                        ["special_tokens"] = new JsonObject
                        {
                            ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(266), ["tokens"] = new JsonArray("<|begin_of_text|>") },
                        },
                    }),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["byte_fallback"] = false,
                ["ignore_merges"] = llama3,
                ["vocab"] = vocab,
                ["merges"] = mergeArray,
            },
        };
    }
}
