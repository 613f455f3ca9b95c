using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Tokenizers;

/// <summary>The merge loop (heap + linked list), its pair table and the code-point regex, without the Rust reference.</summary>
public sealed class BpeMergeTests : IDisposable
{
    private readonly TokenizerFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>a=0 aa=1 aaaa=2 a8=3 b=4 bb=5 ab=6; merges a+a, aa+aa, aaaa+aaaa, b+b, a+b (ranks 0..4). No pre-tokenizer.</summary>
    private HfTokenizer SelfMerges()
    {
        var vocab = new JsonObject { ["a"] = 0, ["aa"] = 1, ["aaaa"] = 2, ["aaaaaaaa"] = 3, ["b"] = 4, ["bb"] = 5, ["ab"] = 6 };
        var json = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray("a a", "aa aa", "aaaa aaaa", "b b", "a b"),
            },
        };
        return HfTokenizer.Load(_files.Write(json));
    }

    [Fact]
    public void Merges_of_a_token_with_itself_go_by_rank_then_leftmost()
    {
        var tok = SelfMerges();
        Assert.Equal([2, 1, 0], tok.Encode("aaaaaaa"));
        Assert.Equal([3, 3], tok.Encode(new string('a', 16)));
        Assert.Equal([3, 3, 2, 0], tok.Encode(new string('a', 21)));
        Assert.Equal([1, 4], tok.Encode("aab"));   // a+a (rank 0) before a+b (rank 4)
        Assert.Equal([0, 5], tok.Encode("abb"));   // b+b (rank 3) before a+b
        Assert.Equal([6, 0, 5], tok.Encode("ababb")); // b+b first; a+b at 0 then; the pair at 2 went stale (a, bb)
    }

    [Fact]
    public void Self_pairs_do_not_collide_in_the_merge_table()
    {
        // long.GetHashCode is left ^ right: all (i, i) pairs would share one bucket and probe 20,000 deep.
        var table = new MergeTable(20_000);
        for (int i = 0; i < 20_000; i++) Assert.True(table.TryAdd(i, i, i, i + 1));
        Assert.False(table.TryAdd(5, 5, 99, 99));
        Assert.InRange(table.MaxProbeLength, 1, 32);
        Assert.True(table.TryGet(123, 123, out int rank, out int id));
        Assert.Equal((123, 124), (rank, id));
        Assert.False(table.TryGet(123, 124, out _, out _));
    }

    [Fact]
    public void Merge_work_grows_linearly_with_the_word_length()
    {
        var tok = SelfMerges();
        long Work(int n)
        {
            long before = HfTokenizer.MergeOperationsOnThisThread;
            var ids = tok.Encode(new string('a', n));
            Assert.Equal(n / 8, ids.Count); // n is a multiple of 8: all a8 tokens
            return HfTokenizer.MergeOperationsOnThisThread - before;
        }
        long small = Work(1024), large = Work(8 * 1024);
        Assert.True(small >= 1024, $"the counter counts heap operations: {small} for 1024 characters");
        // A rescan-per-merge loop does work ~ n^2 (a ratio near 64); a heap does ~ n log n at worst.
        Assert.InRange((double)large / small, 7.5, 8.5);
    }

    [Fact]
    public void Code_point_regex_sees_astral_characters_as_one()
    {
        static List<(int, int)> Run(string pattern, string text)
        {
            var output = new List<(int Start, int End)>();
            new CodePointRegex(new Regex(pattern)).Matches(text, output);
            return output.Select(m => (m.Start, m.End)).ToList();
        }
        Assert.Equal([(0, 6), (7, 9)], Run(@"\p{L}+", "x𝒜𝓁y 𐐀"));
        Assert.Equal([(0, 6), (6, 8)], Run(@"\p{N}{1,3}", "𝟙𝟚𝟛𝟜"));         // Nd digits outside the BMP, three per match
        Assert.Equal([(1, 5)], Run(@"[^\s\p{L}\p{N}]+", "a😀😀b"));
        Assert.Equal([(0, 5)], Run(TokenizerFiles.Llama3Pattern, " 𝒜𝓁"));        // one piece, as Rust splits it
        Assert.Equal([(0, 3)], Run(@"\p{L}+", "abc"));                             // no surrogates: the plain path
    }

    [Fact]
    public void Byte_level_astral_letters_stay_whole()
    {
        // Before code-point matching the Llama 3 regex cut 𝒜 between its surrogates and each half became U+FFFD's bytes.
        var tok = HfTokenizer.Load(_files.Write(TokenizerFiles.ByteLevel(llama3: true)));
        string text = " 𝒜𝓁 𝟙𝟚𝟛𝟜 😀";
        Assert.Equal(text, tok.Decode(tok.Encode(text)));
        Assert.DoesNotContain(tok.Encode(text), id => id == 0xEF); // U+FFFD's first byte
    }
}
