namespace MoLA.Training.Tokenizers;

/// <summary>A tokenizer file could not be read, parsed, or uses a feature this reader does not support.
/// The message starts with the file name and, where it applies, names the JSON path (e.g. <c>normalizer.normalizers[1].type</c>).</summary>
public sealed class TokenizerException : Exception
{
    public TokenizerException(string message) : base(message) { }

    public TokenizerException(string message, Exception? inner) : base(message, inner) { }
}
