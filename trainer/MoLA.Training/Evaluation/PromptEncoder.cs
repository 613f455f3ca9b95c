using MoLA.Training.Data;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Evaluation;

/// <summary>
/// Prompts and answers as evaluation feeds them to the model, the way <see cref="SftTokenizer"/> built
/// them for training: [BOS] + Encode(template(instruction, input)) for the prompt, Encode(text) for what
/// follows, encoded separately so the prompt/answer boundary is exact.
/// </summary>
public sealed class PromptEncoder
{
    public PromptEncoder(ITokenizer tokenizer, PromptTemplate? template = null, bool addBos = true)
    {
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Template = template ?? PromptTemplate.Alpaca;
        AddBos = addBos;
    }

    public ITokenizer Tokenizer { get; }
    public PromptTemplate Template { get; }

    /// <summary>Prepend the tokenizer's BOS (when it has one), as training did by default.</summary>
    public bool AddBos { get; }

    /// <summary>The prompt's token ids (everything before the answer).</summary>
    public int[] EncodePrompt(SftExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        var ids = new List<int>();
        if (AddBos && Tokenizer.BosId is int bos) ids.Add(bos);
        ids.AddRange(Tokenizer.Encode(Template.Render(example)));
        return ids.ToArray();
    }

    /// <summary>Token ids of an answer or candidate, optionally followed by EOS (when the tokenizer has one).</summary>
    public int[] EncodeAnswer(string text, bool appendEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(Tokenizer.Encode(text));
        if (appendEos && Tokenizer.EosId is int eos) ids.Add(eos);
        return ids.ToArray();
    }
}
