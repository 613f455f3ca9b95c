namespace MoLA.Training.Tokenizers;

/// <summary>Text to token ids and back; implemented by the HF tokenizer.json reader and the byte-level tokenizer.</summary>
public interface ITokenizer
{
    int VocabSize { get; }
    int? BosId { get; }
    int? EosId { get; }
    int? PadId { get; }

    /// <summary>
    /// Token ids of <paramref name="text"/>. Special tokens written in the text are recognised where the tokenizer
    /// defines them so (HF added tokens; opt-in for the byte-level tokenizer, whose decode must stay lossless).
    /// BOS/EOS are added only when asked.
    /// </summary>
    IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false);

    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true);
}
