using MoLA.Training.Tokenizers.Reference;

namespace MoLA.Training.Tests.Tokenizers;

/// <summary>A fact that needs Node.js and npm (the Rust tokenizer reference); skipped with the reason when they are missing.</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (RustTokenizerReference.Unavailable() is { } why) Skip = why;
    }
}
