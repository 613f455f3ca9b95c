using MoLA.Training.Tokenizers;

namespace MoLA.Training.Data;

/// <summary>Which positions carry loss.</summary>
public enum LossMode
{
    /// <summary>Loss on prompt and answer (MoLA's default, alpaca-lora's train_on_inputs=True).</summary>
    PromptAndAnswer,
    /// <summary>Loss on the answer (and EOS) only; prompt positions are masked.</summary>
    AnswerOnly,
}

/// <summary>Options of <see cref="SftTokenizer"/>.</summary>
/// <param name="CutoffLength">Maximum sequence length in tokens, BOS and EOS included (MoLA: 256).</param>
/// <param name="LossMode">Which positions carry loss.</param>
/// <param name="AddBos">Prepend the tokenizer's BOS (when it has one).</param>
/// <param name="AddEos">Append the tokenizer's EOS after the answer (when it has one and it fits).</param>
public sealed record SftTokenizerOptions(
    int CutoffLength = 256,
    LossMode LossMode = LossMode.PromptAndAnswer,
    bool AddBos = true,
    bool AddEos = true)
{
    public static SftTokenizerOptions Default { get; } = new();
}

/// <summary>
/// One tokenized training sequence. <see cref="Labels"/> is aligned with <see cref="InputIds"/> (NOT shifted; the
/// loss shifts by one), with <see cref="SftTokenizer.IgnoreIndex"/> (-100) at masked positions.
/// </summary>
public sealed record TokenizedExample(int[] InputIds, int[] Labels, int PromptLength, bool Truncated)
{
    public int Length => InputIds.Length;
}

/// <summary>Tokenized examples plus how many were dropped because their answer was entirely cut off.</summary>
public sealed record TokenizationResult(IReadOnlyList<TokenizedExample> Examples, int DroppedAnswerCutOff, int Truncated);

/// <summary>
/// Turns <see cref="SftExample"/>s into token sequences: [BOS] + Encode(prompt) + Encode(answer) + [EOS].
/// Prompt and answer are encoded separately so the prompt/answer boundary is exact.
/// Truncation keeps the LEFT (start) of the sequence and cuts from the right (as alpaca-lora / HF default), so
/// a truncated sequence loses its EOS and the end of its answer; an example with no answer token left is dropped
/// and counted in <see cref="TokenizationResult.DroppedAnswerCutOff"/>.
/// Labels: BOS is always -100 (nothing predicts it); prompt tokens are labelled in <see cref="LossMode.PromptAndAnswer"/>
/// and -100 in <see cref="LossMode.AnswerOnly"/>; answer tokens and EOS are always labelled.
/// </summary>
public sealed class SftTokenizer
{
    public const int IgnoreIndex = -100;

    private readonly ITokenizer _tokenizer;
    private readonly PromptTemplate _template;
    private readonly SftTokenizerOptions _options;

    public SftTokenizer(ITokenizer tokenizer, PromptTemplate? template = null, SftTokenizerOptions? options = null)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _template = template ?? PromptTemplate.Alpaca;
        _options = options ?? SftTokenizerOptions.Default;
        if (_options.CutoffLength < 2) throw new ArgumentOutOfRangeException(nameof(options), "CutoffLength must be at least 2.");
    }

    /// <summary>Tokenizes one example; null when its answer is entirely cut off.</summary>
    public TokenizedExample? Tokenize(SftExample example)
    {
        var ids = new List<int>();
        var labels = new List<int>();
        if (_options.AddBos && _tokenizer.BosId is int bos) { ids.Add(bos); labels.Add(IgnoreIndex); }

        foreach (var t in _tokenizer.Encode(_template.Render(example)))
        {
            ids.Add(t);
            labels.Add(_options.LossMode == LossMode.PromptAndAnswer ? t : IgnoreIndex);
        }
        var promptLength = ids.Count;
        foreach (var t in _tokenizer.Encode(example.Output)) { ids.Add(t); labels.Add(t); }
        if (_options.AddEos && _tokenizer.EosId is int eos) { ids.Add(eos); labels.Add(eos); }

        var truncated = ids.Count > _options.CutoffLength;
        var length = Math.Min(ids.Count, _options.CutoffLength);
        if (length <= promptLength || promptLength == ids.Count) return null;
        return new TokenizedExample(ids.GetRange(0, length).ToArray(), labels.GetRange(0, length).ToArray(), promptLength, truncated);
    }

    /// <summary>Examples per work item of <see cref="TokenizeAll"/>: large enough to amortise scheduling, small enough for smooth progress.</summary>
    private const int Chunk = 64;

    /// <summary>
    /// Tokenizes all examples on all cores, dropping (and counting) those whose answer is entirely cut off. The result
    /// is the same as one thread's, in input order: each example is tokenized independently into its own slot.
    /// <paramref name="progress"/> receives the number of examples done so far, increasing, from worker threads (one
    /// call at a time).
    /// </summary>
    public TokenizationResult TokenizeAll(IEnumerable<SftExample> examples, IProgress<int>? progress = null, int? maxDegreeOfParallelism = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var input = examples as IReadOnlyList<SftExample> ?? examples.ToList();
        var slots = new TokenizedExample?[input.Count];
        int chunks = (input.Count + Chunk - 1) / Chunk;
        int done = 0;
        var gate = new object();
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism ?? Environment.ProcessorCount };
        Parallel.For(0, chunks, options, c =>
        {
            int end = Math.Min(input.Count, (c + 1) * Chunk);
            for (int i = c * Chunk; i < end; i++) slots[i] = Tokenize(input[i]);
            if (progress is null) return;
            lock (gate)
            {
                done += end - c * Chunk;
                progress.Report(done);
            }
        });

        var result = new List<TokenizedExample>(input.Count);
        int dropped = 0, truncated = 0;
        foreach (var t in slots)
        {
            if (t is null) { dropped++; continue; }
            if (t.Truncated) truncated++;
            result.Add(t);
        }
        return new TokenizationResult(result, dropped, truncated);
    }

    /// <summary>Pre-training documents: [BOS] + Encode(doc) + [EOS], all labelled except BOS, cut to the cutoff (right side).</summary>
    public TokenizedExample TokenizeDocument(string document)
    {
        var ids = new List<int>();
        if (_options.AddBos && _tokenizer.BosId is int bos) ids.Add(bos);
        ids.AddRange(_tokenizer.Encode(document));
        if (_options.AddEos && _tokenizer.EosId is int eos) ids.Add(eos);
        var truncated = ids.Count > _options.CutoffLength;
        var arr = ids.GetRange(0, Math.Min(ids.Count, _options.CutoffLength)).ToArray();
        var labels = (int[])arr.Clone();
        if (_options.AddBos && _tokenizer.BosId is not null && labels.Length > 0) labels[0] = IgnoreIndex;
        return new TokenizedExample(arr, labels, 0, truncated);
    }
}
