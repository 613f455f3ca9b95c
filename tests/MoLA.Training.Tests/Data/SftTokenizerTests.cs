using MoLA.Training.Data;
using MoLA.Training.Tests.Tokenizers;
using MoLA.Training.Tokenizers;
using MoLA.Training.Tokenizers.Reference;

namespace MoLA.Training.Tests.Data;

public sealed class SftTokenizerTests
{
    private static readonly ByteTokenizer Tok = new();
    // Template whose prompt is easy to count: "P:" + instruction + "\n" (bytes).
    private static readonly PromptTemplate Tiny = new("P:{instruction}|{input}\n", "P:{instruction}\n");
    private const int M = SftTokenizer.IgnoreIndex;

    private static int[] Bytes(string s) => Tok.Encode(s).ToArray();

    [Fact]
    public void Prompt_and_answer_mode_labels_everything_but_bos()
    {
        var t = new SftTokenizer(Tok, Tiny).Tokenize(new SftExample("ab", "", "xy"))!;
        int[] expected = [1, .. Bytes("P:ab\n"), .. Bytes("xy"), 2];
        Assert.Equal(expected, t.InputIds);
        Assert.Equal([M, .. expected[1..]], t.Labels);
        Assert.Equal(6, t.PromptLength);
        Assert.False(t.Truncated);
    }

    [Fact]
    public void Answer_only_mode_masks_bos_and_prompt()
    {
        var t = new SftTokenizer(Tok, Tiny, new SftTokenizerOptions(LossMode: LossMode.AnswerOnly)).Tokenize(new SftExample("ab", "", "xy"))!;
        Assert.Equal([M, M, M, M, M, M, .. Bytes("xy"), 2], t.Labels);
    }

    [Fact]
    public void Bos_and_eos_are_optional_and_follow_the_tokenizer()
    {
        var none = new SftTokenizer(new ByteTokenizer(bos: null, eos: null), Tiny).Tokenize(new SftExample("a", "", "b"))!;
        Assert.Equal(Bytes("P:a\nb"), none.InputIds);
        var off = new SftTokenizer(Tok, Tiny, new SftTokenizerOptions(AddBos: false, AddEos: false)).Tokenize(new SftExample("a", "", "b"))!;
        Assert.Equal(Bytes("P:a\nb"), off.InputIds);
        Assert.Equal(Bytes("P:a\nb"), off.Labels);
    }

    [Fact]
    public void Default_template_is_alpaca()
    {
        var e = new SftExample("hi", "", "yo");
        var t = new SftTokenizer(Tok).Tokenize(e)!;
        Assert.Equal(PromptTemplate.Alpaca.RenderFull(e), Tok.Decode(t.InputIds));
    }

    [Fact]
    public void Cutoff_truncates_on_the_right_dropping_eos()
    {
        // 1 BOS + 5 prompt + 4 answer + EOS = 11 tokens; cutoff 8 keeps BOS, prompt and 2 answer bytes.
        var t = new SftTokenizer(Tok, Tiny, new SftTokenizerOptions(CutoffLength: 8)).Tokenize(new SftExample("ab", "", "wxyz"))!;
        Assert.Equal([1, .. Bytes("P:ab\nwx")], t.InputIds);
        Assert.Equal(8, t.Labels.Length);
        Assert.True(t.Truncated);
        Assert.DoesNotContain(2, t.InputIds);
    }

    [Fact]
    public void Examples_whose_answer_is_cut_off_are_dropped_and_counted()
    {
        var st = new SftTokenizer(Tok, Tiny, new SftTokenizerOptions(CutoffLength: 7));
        var r = st.TokenizeAll([
            new SftExample("ab", "", "x"),      // 1 + 5 + 1 + 1 = 8 -> truncated, keeps "x"
            new SftExample("abc", "", "x"),     // prompt fills 1 + 6 = 7 -> answer cut off
            new SftExample("a", "", "x"),       // 1 + 4 + 1 + 1 = 7 fits
            new SftExample("abcdefgh", "", "x"),
        ]);
        Assert.Equal(2, r.DroppedAnswerCutOff);
        Assert.Equal(1, r.Truncated);
        Assert.Equal(2, r.Examples.Count);
        Assert.Equal(7, r.Examples[0].Length);
        Assert.Null(st.Tokenize(new SftExample("abc", "", "x")));
    }

    [Fact]
    public void Input_variant_of_template_is_used_when_input_present()
    {
        var t = new SftTokenizer(Tok, Tiny).Tokenize(new SftExample("a", "b", "c"))!;
        Assert.Equal("P:a|b\nc", Tok.Decode(t.InputIds));
    }

    [Fact]
    public void Documents_are_tokenized_with_bos_eos_and_cutoff()
    {
        var st = new SftTokenizer(Tok, options: new SftTokenizerOptions(CutoffLength: 4));
        var d = st.TokenizeDocument("abcdef");
        Assert.Equal([1, .. Bytes("abc")], d.InputIds);
        Assert.Equal([M, .. Bytes("abc")], d.Labels);
        Assert.True(d.Truncated);
    }

    [Fact]
    public void TokenizeAll_on_all_cores_equals_one_thread_in_order_and_reports_progress()
    {
        using var files = new TokenizerFiles();
        var hf = HfTokenizer.Load(files.Write(TokenizerFiles.ByteLevel(llama3: true)));
        var texts = TokenizerCorpus.Generate(150_000);
        var examples = texts.Select((t, i) => new SftExample(t[..Math.Min(40, t.Length)], i % 3 == 0 ? "in" : "", t)).ToList();
        var st = new SftTokenizer(hf, options: new SftTokenizerOptions(CutoffLength: 96));
        var sequential = examples.Select(st.Tokenize).ToList();

        var reports = new List<int>();
        var all = st.TokenizeAll(examples, new InlineProgress<int>(reports.Add), maxDegreeOfParallelism: 4);

        var kept = sequential.OfType<TokenizedExample>().ToList();
        Assert.Equal(sequential.Count(t => t is null), all.DroppedAnswerCutOff);
        Assert.Equal(kept.Count(t => t.Truncated), all.Truncated);
        Assert.Equal(kept.Select(t => t.InputIds), all.Examples.Select(t => t.InputIds));
        Assert.Equal(kept.Select(t => t.Labels), all.Examples.Select(t => t.Labels));
        Assert.True(reports.Count > 1, "progress is reported per chunk");
        Assert.Equal(reports.Order(), reports);
        Assert.Equal(examples.Count, reports[^1]);
    }
}
