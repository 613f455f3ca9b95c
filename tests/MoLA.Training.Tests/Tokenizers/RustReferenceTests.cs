using MoLA.Training.Tokenizers;
using MoLA.Training.Tokenizers.Reference;

namespace MoLA.Training.Tests.Tokenizers;

/// <summary>Opens the Rust reference once per test class (the first run installs its npm packages into .build/).</summary>
public sealed class RustReferenceFixture
{
    private readonly Lazy<(RustTokenizerReference Reference, IReadOnlyList<ReferenceTokenizer> Files, HfTokenizer[] Ours)> _state = new(() =>
    {
        var reference = RustTokenizerReference.Open();
        var files = reference.RealTokenizers(withDerived: true);
        return (reference, files, files.Select(f => HfTokenizer.Load(f.Path)).ToArray());
    });

    public RustTokenizerReference Reference => _state.Value.Reference;
    public IReadOnlyList<ReferenceTokenizer> Files => _state.Value.Files;
    public HfTokenizer[] Ours => _state.Value.Ours;
}

/// <summary>
/// Our tokenizer against Hugging Face's Rust library on real tokenizer.json files: Mistral 7B (BPE, byte fallback, no
/// pre-tokenizer: the Llama 2 layout), Meta-Llama-3-8B (byte-level BPE, Llama 3 split regex) and Mistral 7B rewritten
/// to the Metaspace pre-tokenizer. The real Llama 2 file is not obtainable here (no package ships it).
/// </summary>
public sealed class RustReferenceTests(RustReferenceFixture fixture) : IClassFixture<RustReferenceFixture>
{
    /// <summary>Astral cases on their own, on top of those the corpus draws.</summary>
    private static readonly string[] Astral =
    [
        "𝒜𝓁𝓅𝒽𝒶 𝟙𝟚𝟛𝟜𝟝 done", " 𐐀𐐨𐐁 x 𐐩", "a𝟙b 12𝟚34", "😀😀 🫠!", "it's 𝐀's", "𠀀𠀁𠀂 中文 𠮷野家", "𝄞𝄢 music", "\t𝕏\n\n𝕐 ",
        "🇫🇷🇯🇵 👨‍👩‍👧 👍🏽", "x\U0001F600y\U0001D7D8\U0001D7D9\U0001D7DAz", "𐌰𐌱𐌲 𐍁", "<s>𝒜</s>", "<|begin_of_text|>𝒜",
    ];

    private static void AssertSame(string what, IReadOnlyList<string> texts, Func<string, IReadOnlyList<int>> ours, int[][] reference)
    {
        var failures = new List<string>();
        for (int i = 0; i < texts.Count; i++)
        {
            var mine = ours(texts[i]);
            if (mine.SequenceEqual(reference[i])) continue;
            int at = 0;
            while (at < mine.Count && at < reference[i].Length && mine[at] == reference[i][at]) at++;
            if (failures.Count < 5)
                failures.Add($"text {i} {Show(texts[i], 60)}: at token {at} ours [{string.Join(' ', mine.Skip(at).Take(6))}] Rust [{string.Join(' ', reference[i].Skip(at).Take(6))}]");
            else failures.Add("");
        }
        Assert.True(failures.Count == 0, $"{what}: {failures.Count} of {texts.Count} texts differ:\n{string.Join("\n", failures.Where(f => f.Length > 0))}");
    }

    private static string Show(string text, int max) =>
        System.Text.Json.JsonSerializer.Serialize(text.Length <= max ? text : text[..max] + "…");

    [NodeFact]
    public void Ids_equal_the_Rust_library_on_the_corpus_with_and_without_bos()
    {
        var texts = TokenizerCorpus.Generate(300_000).Concat(Astral).ToList();
        Assert.Contains(texts, t => t.Any(char.IsSurrogate));
        var answers = fixture.Reference.Run(fixture.Files, texts, ids: true, repeats: 0);
        Assert.Equal(3, answers.Count);
        for (int k = 0; k < answers.Count; k++)
        {
            var ours = fixture.Ours[k];
            var name = fixture.Files[k].Name;
            AssertSame($"{name} without BOS", texts, t => ours.Encode(t), answers[k].Ids!);
            // The post-processor puts BOS first; our addBos must give the same sequence.
            Assert.All(answers[k].IdsWithSpecialTokens!, ids => Assert.Equal(ours.BosId, ids[0]));
            AssertSame($"{name} with BOS", texts, t => ours.Encode(t, addBos: true), answers[k].IdsWithSpecialTokens!);
        }
    }

    [NodeFact]
    public void Long_words_match_the_reference_and_cost_linear_merge_work()
    {
        int n = 4096;
        string[] words = [new string('a', n), new string('a', 8 * n), TokenizerCorpus.VariedWord(n), TokenizerCorpus.VariedWord(8 * n)];
        var answers = fixture.Reference.Run(fixture.Files, words, ids: true, repeats: 0);
        for (int k = 0; k < answers.Count; k++)
        {
            var ours = fixture.Ours[k];
            AssertSame($"{fixture.Files[k].Name} long words", words, t => ours.Encode(t), answers[k].Ids!);
            var work = words.Select(w =>
            {
                long before = HfTokenizer.MergeOperationsOnThisThread;
                ours.Encode(w);
                return HfTokenizer.MergeOperationsOnThisThread - before;
            }).ToArray();
            // 8x the characters, 8x the heap operations (give or take the merge structure), not 64x.
            Assert.InRange((double)work[1] / work[0], 6.0, 10.0);
            Assert.InRange((double)work[3] / work[2], 6.0, 10.0);
        }
    }
}
