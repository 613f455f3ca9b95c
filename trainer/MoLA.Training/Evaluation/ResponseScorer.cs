using MoLA.Model.Llama;
using MoLA.Training.Data;

namespace MoLA.Training.Evaluation;

/// <summary>Options of <see cref="ResponseScorer"/>.</summary>
public sealed record ResponseScoringOptions
{
    /// <summary>Score the tokenizer's EOS after the response too (training labels it).</summary>
    public bool AppendEos { get; init; }

    /// <summary>Keep every token's log-probability in <see cref="ResponseScore.TokenLogProbs"/>.</summary>
    public bool IncludeTokenLogProbs { get; init; }

    /// <summary>Examples scored together.</summary>
    public int BatchSize { get; init; } = 16;
}

/// <summary>
/// log p(response | prompt) for one example (natural log). <see cref="MeanLogProb"/> = sum / response tokens;
/// exp(-mean) is the response's perplexity. JSON-serialisable (see <see cref="EvaluationJson"/>).
/// </summary>
public sealed record ResponseScore(
    int Index,
    int PromptTokens,
    int ResponseTokens,
    double SumLogProb,
    double MeanLogProb,
    IReadOnlyList<double>? TokenLogProbs = null);

/// <summary>Scores the output of alpaca examples given their prompt (what <c>mola score</c> prints).</summary>
public sealed class ResponseScorer
{
    private readonly PromptEncoder _encoder;
    private readonly ResponseScoringOptions _options;
    private readonly LogLikelihoodScorer _scorer;

    public ResponseScorer(LlamaModel model, PromptEncoder encoder, ResponseScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        _options = options ?? new ResponseScoringOptions();
        if (_options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.BatchSize, "scoring batch size must be at least 1");
        _scorer = new LogLikelihoodScorer(model, _options.BatchSize);
    }

    /// <summary>One record per example, in input order. <paramref name="progress"/> receives examples done.</summary>
    public IReadOnlyList<ResponseScore> Score(IReadOnlyList<SftExample> examples, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var requests = new ContinuationRequest[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            var e = examples[i] ?? throw new ArgumentNullException(nameof(examples), $"example {i} is null");
            var response = _encoder.EncodeAnswer(e.Output, _options.AppendEos);
            if (response.Length == 0) throw new ArgumentException($"example {i}: the output is empty, there is nothing to score", nameof(examples));
            requests[i] = new ContinuationRequest(_encoder.EncodePrompt(e), [response]);
        }
        IReadOnlyList<double[][]> scored;
        try { scored = _scorer.Score(requests, progress); }
        catch (ArgumentException ex) when (ex.Message.StartsWith("request ", StringComparison.Ordinal))
        {
            throw new ArgumentException("example" + ex.Message["request".Length..], ex);
        }
        return scored.Select((s, i) =>
        {
            var tokens = s[0];
            var sum = tokens.Sum();
            return new ResponseScore(i, requests[i].Context.Count, tokens.Length, sum, sum / tokens.Length,
                _options.IncludeTokenLogProbs ? tokens : null);
        }).ToArray();
    }
}
