using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Tokenizers;

public class ByteLevelTokenizerTests
{
    private readonly ByteLevelTokenizer _tok = new();

    [Fact]
    public void Ids_are_utf8_bytes_then_pad_bos_eos()
    {
        Assert.Equal(259, _tok.VocabSize);
        Assert.Equal(256, _tok.PadId);
        Assert.Equal(257, _tok.BosId);
        Assert.Equal(258, _tok.EosId);
        Assert.Equal([104, 105], _tok.Encode("hi"));
        Assert.Equal([257, 0xC3, 0xA9, 258], _tok.Encode("é", addBos: true, addEos: true));
        Assert.Equal([0xF0, 0x9F, 0x98, 0x80], _tok.Encode("😀"));
        Assert.Empty(_tok.Encode(""));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("héllo wörld 😀👍🏽 中文 \t\n\0")]
    [InlineData("<eos> and <bos> are plain text by default")]
    public void Round_trip_is_lossless(string text)
    {
        Assert.Equal(text, _tok.Decode(_tok.Encode(text)));
        Assert.Equal(text, _tok.Decode(_tok.Encode(text, addBos: true, addEos: true)));
    }

    [Fact]
    public void Special_tokens_are_skipped_or_rendered()
    {
        int[] ids = [257, 104, 256, 258];
        Assert.Equal("h", _tok.Decode(ids));
        Assert.Equal("<bos>h<pad><eos>", _tok.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void Special_tokens_in_text_are_parsed_when_asked()
    {
        var tok = new ByteLevelTokenizer(parseSpecialTokens: true);
        Assert.Equal([97, 258, 98, 256], tok.Encode("a<eos>b<pad>"));
        Assert.Equal([60, 101, 111, 62], tok.Encode("<eo>"));
        Assert.Equal("a<eos>b<pad>", tok.Decode(tok.Encode("a<eos>b<pad>"), skipSpecialTokens: false));
    }

    [Fact]
    public void Invalid_utf8_decodes_to_replacement_characters()
    {
        Assert.Equal("\uFFFDh", _tok.Decode([0xFF, 104]));
        Assert.Equal("a\uFFFD", _tok.Decode([97, 0xE2, 0x82]));
        // A special token between the bytes of one character splits it.
        Assert.Equal("\uFFFD\uFFFD", _tok.Decode([0xC3, 258, 0xA9]));
    }

    [Fact]
    public void Out_of_range_ids_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _tok.Decode([259]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tok.Decode([-1]));
    }
}
