using System.Text.Json.Nodes;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Tokenizers;

public sealed class HfTokenizerTests : IDisposable
{
    private readonly TokenizerFiles _files = new();

    public void Dispose() => _files.Dispose();

    private HfTokenizer Load(JsonNode json) => HfTokenizer.Load(_files.Write(json));

    // ------------------------------------------------------------ LLaMA-2 style

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Llama2_encodes_hello_world_by_merge_rank(bool mergesAsPairs)
    {
        var tok = Load(TokenizerFiles.Llama2(mergesAsPairs: mergesAsPairs));
        // "▁hello▁world": ll, he, ▁w, hell, hello, ▁hello, or, ▁wor, ld.
        Assert.Equal([272, 274, 275], tok.Encode("hello world"));
        Assert.Equal("hello world", tok.Decode([272, 274, 275]));
    }

    [Fact]
    public void Llama2_ids_and_bos_eos()
    {
        var tok = Load(TokenizerFiles.Llama2());
        Assert.Equal(276, tok.VocabSize);
        Assert.Equal(1, tok.BosId);
        Assert.Equal(2, tok.EosId);
        Assert.Null(tok.PadId);
        Assert.Equal([1, 272, 274, 275, 2], tok.Encode("hello world", addBos: true, addEos: true));
        Assert.Equal("hello world", tok.Decode([1, 272, 274, 275, 2]));
        Assert.Equal("<s> hello world</s>", tok.Decode([1, 272, 274, 275, 2], skipSpecialTokens: false));
        Assert.Equal(272, tok.TokenToId("▁hello"));
        Assert.Equal("<0x0A>", tok.IdToToken(13));
    }

    [Fact]
    public void Llama2_byte_fallback_for_out_of_vocab_chars()
    {
        var tok = Load(TokenizerFiles.Llama2());
        // é = C3 A9 -> <0xC3>=3+0xC3, <0xA9>=3+0xA9
        Assert.Equal([259, 260, 198, 172], tok.Encode("hé"));
        Assert.Equal("hé", tok.Decode([259, 260, 198, 172]));
        // 😀 = F0 9F 98 80
        Assert.Equal([272, 259, 243, 162, 155, 131], tok.Encode("hello 😀"));
        Assert.Equal("hello 😀", tok.Decode(tok.Encode("hello 😀")));
        // A broken byte sequence decodes to one U+FFFD per byte.
        Assert.Equal("h\uFFFD\uFFFD", tok.Decode([260, 198, 198]));
    }

    [Fact]
    public void Llama2_without_byte_fallback_uses_fused_unk()
    {
        var tok = Load(TokenizerFiles.Llama2(byteFallback: false));
        Assert.Equal([259, 260, 0], tok.Encode("hé€"));
        Assert.Equal("h", tok.Decode([259, 260, 0]));
    }

    [Fact]
    public void Llama2_special_token_in_text()
    {
        var tok = Load(TokenizerFiles.Llama2());
        // The Prepend normalizer runs on each span around added tokens.
        Assert.Equal([1, 272, 2], tok.Encode("<s>hello</s>"));
    }

    [Fact]
    public void Llama2_metaspace_prepend_first()
    {
        var tok = Load(TokenizerFiles.Llama2(metaspace: true));
        Assert.Equal([272, 274, 275], tok.Encode("hello world"));
        Assert.Equal("hello world", tok.Decode([272, 274, 275]));
        // prepend_scheme "first": no ▁ for a span that does not start the text.
        Assert.Equal([1, 271], tok.Encode("<s>hello"));
    }

    [Fact]
    public void Metaspace_decoder()
    {
        var json = TokenizerFiles.Llama2(metaspace: true);
        json["decoder"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "always", ["split"] = true };
        var tok = Load(json);
        Assert.Equal("hello world", tok.Decode([272, 274, 275]));
    }

    // ------------------------------------------------------------ byte level (GPT-2 / LLaMA-3)

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ByteLevel_encodes_and_decodes(bool llama3)
    {
        var tok = Load(TokenizerFiles.ByteLevel(llama3));
        Assert.Equal(269, tok.VocabSize);
        // "hello" | "Ġworld" -> hello ; Ġw, or, Ġwor, ld
        Assert.Equal([259, 262, 263], tok.Encode("hello world"));
        Assert.Equal("hello world", tok.Decode([259, 262, 263]));
        // é = C3 A9 = "Ã©" (merged to 264)
        Assert.Equal([104, 264, 257, 111], tok.Encode("héllo"));
        Assert.Equal("héllo", tok.Decode([104, 264, 257, 111]));
        foreach (string text in (string[])["naïve café 😀 中文!\n\n  x", "a\tb\r\nc", "I'm OK, it's 2024."])
            Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [Fact]
    public void Gpt2_regex_keeps_digit_runs_together_llama3_splits_by_three()
    {
        Assert.Equal([49, 50, 265, 53], Load(TokenizerFiles.ByteLevel(llama3: false)).Encode("12345"));
        Assert.Equal([49, 50, 51, 52, 53], Load(TokenizerFiles.ByteLevel(llama3: true)).Encode("12345"));
    }

    [Fact]
    public void ByteLevel_special_tokens_and_bos_eos()
    {
        var tok = Load(TokenizerFiles.ByteLevel(llama3: true));
        Assert.Equal(266, tok.BosId);
        Assert.Equal(267, tok.EosId);
        int[] ids = [104, 105, 268, 116, 256, 114, 101];
        Assert.Equal(ids, tok.Encode("hi<|eot|>there"));
        Assert.Equal("hithere", tok.Decode(ids));
        Assert.Equal("hi<|eot|>there", tok.Decode(ids, skipSpecialTokens: false));
        Assert.Equal([266, 259, 267], tok.Encode("hello", addBos: true, addEos: true));
        Assert.Equal([266, 268, 267], tok.Encode("<|begin_of_text|><|eot|><|end_of_text|>"));
    }

    [Fact]
    public void Longest_added_token_wins()
    {
        var json = TokenizerFiles.ByteLevel(llama3: false);
        json["added_tokens"]!.AsArray().Add(TokenizerFiles.Added(269, "<|eot|>x", special: false));
        var tok = Load(json);
        Assert.Equal(270, tok.VocabSize);
        Assert.Equal([269, 268], tok.Encode("<|eot|>x<|eot|>"));
        Assert.Equal("<|eot|>x", tok.Decode([269, 268]));
    }

    [Fact]
    public void Ignore_merges_takes_whole_words_from_the_vocab()
    {
        foreach (bool ignore in (bool[])[true, false])
        {
            var json = TokenizerFiles.ByteLevel(llama3: true);
            json["model"]!["vocab"]!["hi"] = 269;
            json["model"]!["ignore_merges"] = ignore;
            var tok = Load(json);
            Assert.Equal(ignore ? [269] : [104, 105], tok.Encode("hi"));
        }
    }

    [Fact]
    public void Byte_level_add_prefix_space()
    {
        var json = TokenizerFiles.ByteLevel(llama3: false);
        json["pre_tokenizer"]!["add_prefix_space"] = true;
        var tok = Load(json);
        // " world" -> Ġwor ld
        Assert.Equal([262, 263], tok.Encode("world"));
        Assert.Equal(" world", tok.Decode([262, 263]));
    }

    [Fact]
    public void No_decoder_joins_tokens_with_spaces_and_from_json_names_the_source()
    {
        var json = TokenizerFiles.ByteLevel(llama3: false);
        json["decoder"] = null;
        var tok = HfTokenizer.FromJson(json.ToJsonString(), "mem.json");
        Assert.Equal("he ll", tok.Decode([256, 257]));
        Assert.Equal("mem.json", tok.Source);
    }

    // ------------------------------------------------------------ errors

    private TokenizerException LoadFails(JsonNode json)
    {
        string path = _files.Write(json);
        var ex = Assert.Throws<TokenizerException>(() => HfTokenizer.Load(path));
        Assert.StartsWith(path + ": ", ex.Message);
        return ex;
    }

    [Fact]
    public void Unsupported_normalizer_names_the_json_path()
    {
        var json = TokenizerFiles.Llama2();
        json["normalizer"]!["normalizers"]!.AsArray().Add(new JsonObject { ["type"] = "NFKC" });
        Assert.EndsWith("tokenizer.json: normalizer.normalizers[2].type 'NFKC' is not supported", LoadFails(json).Message);
    }

    [Theory]
    [InlineData("WordPiece")]
    [InlineData("Unigram")]
    public void Unsupported_model_type(string type)
    {
        var json = TokenizerFiles.Llama2();
        json["model"]!["type"] = type;
        Assert.Contains($"model.type '{type}' is not supported", LoadFails(json).Message);
    }

    [Fact]
    public void Unsupported_pre_tokenizer_decoder_and_post_processor()
    {
        var json = TokenizerFiles.ByteLevel(llama3: true);
        json["pre_tokenizer"]!["pretokenizers"]!.AsArray().Add(new JsonObject { ["type"] = "Whitespace" });
        Assert.Contains("pre_tokenizer.pretokenizers[2].type 'Whitespace' is not supported", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["decoder"]!["decoders"]![1] = new JsonObject { ["type"] = "CTC" };
        Assert.Contains("decoder.decoders[1].type 'CTC' is not supported", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["post_processor"] = new JsonObject { ["type"] = "BertProcessing" };
        Assert.Contains("post_processor.type 'BertProcessing' is not supported", LoadFails(json).Message);

        json = TokenizerFiles.Llama2(metaspace: true);
        json["pre_tokenizer"]!["prepend_scheme"] = "sometimes";
        Assert.Contains("pre_tokenizer.prepend_scheme 'sometimes' is not supported", LoadFails(json).Message);

        json = TokenizerFiles.ByteLevel(llama3: true);
        json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "a++";
        Assert.Contains("pre_tokenizer.pretokenizers[0].pattern.Regex 'a++'", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["model"]!["continuing_subword_prefix"] = "##";
        Assert.Contains("model.continuing_subword_prefix '##' is not supported", LoadFails(json).Message);
    }

    [Fact]
    public void Missing_or_wrong_fields_name_the_path()
    {
        Assert.Contains("model is missing", LoadFails(new JsonObject()).Message);

        var json = TokenizerFiles.Llama2();
        json["model"]!.AsObject().Remove("vocab");
        Assert.Contains("model.vocab is missing", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["model"]!["merges"]!.AsArray().Insert(0, "x y");
        Assert.Contains("model.merges[0] token 'x' is not in model.vocab", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["model"]!["merges"]!.AsArray().Add("nospace");
        Assert.Contains("model.merges[9]", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["model"]!["vocab"]!["h"] = "x";
        Assert.Contains("model.vocab.h must be a 32-bit integer", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["normalizer"]!["normalizers"]![1]!.AsObject().Remove("content");
        Assert.Contains("normalizer.normalizers[1].content is missing", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["added_tokens"]![0]!.AsObject().Remove("id");
        Assert.Contains("added_tokens[0].id is missing", LoadFails(json).Message);

        json = TokenizerFiles.Llama2();
        json["post_processor"]!["special_tokens"]!.AsObject().Remove("<s>");
        Assert.Contains("post_processor.special_tokens.<s> is missing", LoadFails(json).Message);
    }

    [Fact]
    public void Malformed_json_and_missing_file_name_the_file()
    {
        string path = _files.WriteText("{ \"model\": { \"type\": \"BPE\", ");
        var ex = Assert.Throws<TokenizerException>(() => HfTokenizer.Load(path));
        Assert.StartsWith(path + ": invalid JSON", ex.Message);

        string missing = Path.Combine(_files.Dir, "nope", "tokenizer.json");
        ex = Assert.Throws<TokenizerException>(() => HfTokenizer.Load(missing));
        Assert.StartsWith(missing + ": cannot read", ex.Message);

        path = _files.WriteText("[1, 2]");
        Assert.Contains("(root) must be an object", Assert.Throws<TokenizerException>(() => HfTokenizer.Load(path)).Message);
    }

    [Fact]
    public void Unknown_ids_throw_on_decode()
    {
        var tok = Load(TokenizerFiles.Llama2());
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([276]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([-1]));
    }
}
