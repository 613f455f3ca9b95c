using MoLA.Model.Llama;
using MoLA.Training.Data;

namespace MoLA.Training.Evaluation;

/// <summary>What text stands for a choice when it is scored.</summary>
public enum ChoiceCandidate
{
    /// <summary>
    /// "The answer is X." with X the choice's letter (or its text, for items in <see cref="AnswerForm.Choice"/>): exactly
    /// what a model trained on <see cref="MultipleChoiceExample.ToSft"/> learns to write after the prompt (which lists
    /// the choices). In the letter form every candidate has the same length, so normalisation changes nothing.
    /// </summary>
    AnswerSentence,
    /// <summary>The choice's own text (e.g. "42"), the lm-eval-harness style; lengths differ, consider normalising.</summary>
    ChoiceText,
}

/// <summary>Options of <see cref="MultipleChoiceScorer"/>.</summary>
public sealed record MultipleChoiceOptions
{
    public ChoiceCandidate Candidate { get; init; } = ChoiceCandidate.AnswerSentence;

    /// <summary>Rank by mean log-probability per token instead of the sum.</summary>
    public bool LengthNormalized { get; init; }

    /// <summary>Items whose prompts are prefilled together.</summary>
    public int BatchSize { get; init; } = 16;
}

/// <summary>
/// One item's scores. <see cref="LogLikelihoods"/>[c] is the sum of the candidate's token log-probabilities;
/// <see cref="Scores"/> is what was ranked (the sum, or the mean when length-normalised).
/// <see cref="Predicted"/> is the argmax of <see cref="Scores"/>; ties go to the lowest index.
/// </summary>
public sealed record MultipleChoiceScore(int Predicted, IReadOnlyList<double> LogLikelihoods, IReadOnlyList<int> TokenCounts, IReadOnlyList<double> Scores)
{
    public char PredictedLetter => (char)('A' + Predicted);
}

/// <summary>
/// Multiple-choice by log-likelihood: for each choice, the log-probability of its candidate text
/// (<see cref="ChoiceCandidate"/>, no EOS) after the alpaca prompt of <see cref="MultipleChoiceExample.ToSft"/>;
/// the highest wins. See <see cref="LogLikelihoodScorer"/> for how the forward passes are shared.
/// </summary>
public sealed class MultipleChoiceScorer
{
    private readonly PromptEncoder _encoder;
    private readonly MultipleChoiceOptions _options;
    private readonly LogLikelihoodScorer _scorer;

    public MultipleChoiceScorer(LlamaModel model, PromptEncoder encoder, MultipleChoiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        _options = options ?? new MultipleChoiceOptions();
        if (_options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.BatchSize, "multiple-choice batch size must be at least 1");
        _scorer = new LogLikelihoodScorer(model, _options.BatchSize);
    }

    public MultipleChoiceOptions Options => _options;

    /// <summary>The candidate text of choice <paramref name="index"/>.</summary>
    public string CandidateText(MultipleChoiceExample item, int index) => _options.Candidate switch
    {
        ChoiceCandidate.AnswerSentence => MultipleChoiceFormat.Answer(item.AnswerToken(index)),
        ChoiceCandidate.ChoiceText => item.Choices[index],
        _ => throw new ArgumentOutOfRangeException(nameof(item), _options.Candidate, "unknown candidate kind"),
    };

    /// <summary>The context and candidate token ids for one item (what gets scored).</summary>
    public ContinuationRequest Request(MultipleChoiceExample item, int itemIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(item);
        var candidates = new IReadOnlyList<int>[item.Choices.Count];
        for (var c = 0; c < candidates.Length; c++)
        {
            candidates[c] = _encoder.EncodeAnswer(CandidateText(item, c));
            if (candidates[c].Count == 0)
                throw new ArgumentException($"item {itemIndex}: choice {(char)('A' + c)} is empty (its candidate text has no tokens)");
        }
        return new ContinuationRequest(_encoder.EncodePrompt(item.ToSft()), candidates);
    }

    /// <summary>Scores every item; results in input order. <paramref name="progress"/> receives items done.</summary>
    public IReadOnlyList<MultipleChoiceScore> Score(IReadOnlyList<MultipleChoiceExample> items, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        var requests = items.Select((item, i) => Request(item ?? throw new ArgumentNullException(nameof(items), $"item {i} is null"), i)).ToArray();
        IReadOnlyList<double[][]> tokenLogProbs;
        try { tokenLogProbs = _scorer.Score(requests, progress); }
        catch (ArgumentException e) when (e.Message.StartsWith("request ", StringComparison.Ordinal))
        {
            throw new ArgumentException("multiple-choice item" + e.Message["request".Length..], e);
        }
        return tokenLogProbs.Select(Decide).ToArray();
    }

    private MultipleChoiceScore Decide(double[][] candidates)
    {
        var sums = candidates.Select(t => t.Sum()).ToArray();
        var counts = candidates.Select(t => t.Length).ToArray();
        var scores = _options.LengthNormalized ? sums.Select((s, c) => s / counts[c]).ToArray() : sums;
        return new MultipleChoiceScore(ArgMaxLowestIndex(scores), sums, counts, scores);
    }

    /// <summary>Index of the largest value; the first one on ties.</summary>
    public static int ArgMaxLowestIndex(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values to choose from", nameof(values));
        var best = 0;
        for (var i = 1; i < values.Count; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
