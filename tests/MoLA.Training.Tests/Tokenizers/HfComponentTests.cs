using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Tokenizers;

public sealed class HfComponentTests : IDisposable
{
    private readonly TokenizerFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("Removed", false, "a|b")]
    [InlineData("Isolated", false, "a| | |b")]
    [InlineData("Contiguous", false, "a|  |b")]
    [InlineData("MergedWithPrevious", false, "a | |b")]
    [InlineData("MergedWithNext", false, "a| | b")]
    [InlineData("Removed", true, "a|b")]
    [InlineData("Isolated", true, "a|  |b")]
    public void Split_behaviors(string behavior, bool invert, string expected)
    {
        var output = new List<string>();
        PreTokenizer.SplitByMatches("a  b", TextPattern.Regex(new CodePointRegex(new Regex(invert ? "[ab]" : " "))), behavior, invert, output);
        Assert.Equal(expected.Split('|'), output);
    }

    [Theory]
    [InlineData("Removed", new[] { 259, 119, 261, 263 })]
    [InlineData("Isolated", new[] { 259, 32, 119, 261, 263 })]
    [InlineData("MergedWithNext", new[] { 259, 262, 263 })]
    public void Split_pre_tokenizer_with_string_pattern(string behavior, int[] expected)
    {
        var json = TokenizerFiles.ByteLevel(llama3: true);
        json["pre_tokenizer"]!["pretokenizers"]![0] = new JsonObject
        {
            ["type"] = "Split", ["pattern"] = TokenizerFiles.Pattern(" "), ["behavior"] = behavior, ["invert"] = false,
        };
        Assert.Equal(expected, HfTokenizer.Load(_files.Write(json)).Encode("hello world"));
    }

    [Fact]
    public void Template_string_form_sets_bos_and_eos_from_post_processor()
    {
        var json = TokenizerFiles.Llama2();
        json["post_processor"] = new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = "<s>:0 $A:0 </s>:0",
            ["special_tokens"] = new JsonObject
            {
                ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
                ["</s>"] = new JsonObject { ["id"] = "</s>", ["ids"] = new JsonArray(0), ["tokens"] = new JsonArray("<unk>") },
            },
        };
        var tok = HfTokenizer.Load(_files.Write(json));
        Assert.Equal(1, tok.BosId);
        Assert.Equal(0, tok.EosId);
    }

    [Fact]
    public void Added_token_lstrip_rstrip_eat_whitespace()
    {
        var json = TokenizerFiles.ByteLevel(llama3: true);
        json["added_tokens"]![2]!["lstrip"] = true;
        json["added_tokens"]![2]!["rstrip"] = true;
        var tok = HfTokenizer.Load(_files.Write(json));
        Assert.Equal([104, 105, 268, 116, 256, 114, 101], tok.Encode("hi <|eot|>  there"));
    }

    [Fact]
    public void Padding_pad_id_is_read()
    {
        var json = TokenizerFiles.Llama2();
        json["padding"] = new JsonObject { ["pad_id"] = 2, ["pad_token"] = "</s>" };
        Assert.Equal(2, HfTokenizer.Load(_files.Write(json)).PadId);
    }

    [Fact]
    public void Encode_is_thread_safe()
    {
        var tok = HfTokenizer.Load(_files.Write(TokenizerFiles.ByteLevel(llama3: true)));
        string text = "hello world héllo 12345 <|eot|> naïve";
        var expected = tok.Encode(text);
        Parallel.For(0, 2000, i => Assert.Equal(expected, tok.Encode(text)));
    }
}
