using System.Diagnostics;
using MoLA.Model.Llama;
using MoLA.Training.Data;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Evaluation;

/// <summary>
/// One test item: its task name and its generation form, multiple-choice form, or both. Generation mode
/// uses <see cref="Generation"/> (or the alpaca rendering of <see cref="MultipleChoice"/>); multiple-choice
/// mode needs <see cref="MultipleChoice"/>.
/// </summary>
public sealed record EvaluationItem(string Task, SftExample? Generation = null, MultipleChoiceExample? MultipleChoice = null)
{
    public static EvaluationItem From(BenchmarkItem item) => new(item.Task, item.Generation, item.MultipleChoice);
}

/// <summary>Which evaluations <see cref="Evaluator.Evaluate"/> runs.</summary>
[Flags]
public enum EvaluationModes
{
    Generation = 1,
    MultipleChoice = 2,
    Both = Generation | MultipleChoice,
}

/// <summary>Options of <see cref="Evaluator"/>.</summary>
public sealed record EvaluatorOptions
{
    public PromptTemplate Template { get; init; } = PromptTemplate.Alpaca;

    /// <summary>Prepend BOS to prompts (as <see cref="SftTokenizerOptions.AddBos"/> did in training).</summary>
    public bool AddBos { get; init; } = true;

    /// <summary>Stop tokens default to the tokenizer's EOS.</summary>
    public GenerationOptions Generation { get; init; } = new();

    public MultipleChoiceOptions MultipleChoice { get; init; } = new();

    public ResponseScoringOptions Scoring { get; init; } = new();

    /// <summary>Told after every batch: mode ("generation", "multiple_choice", "score"), items done, items in all.</summary>
    public IProgress<EvaluationProgress>? Progress { get; init; }
}

/// <summary>A progress report of <see cref="Evaluator"/>.</summary>
public readonly record struct EvaluationProgress(string Mode, int Done, int Total);

/// <summary>
/// The evaluation entry point (what <c>mola eval</c>, <c>mola score</c> and the demo call).
/// Generation: greedy answer after the prompt, the chosen option read after "The answer is " (a letter with MoLA's
/// regex, or an option's text for items in the choice form: <see cref="MultipleChoiceFormat.ReadAnswer"/>), compared
/// with the gold option. Multiple choice: the
/// choice whose candidate is most likely (<see cref="MultipleChoiceScorer"/>). Accuracy per task (in order of
/// first appearance) and overall, each with a 95% Wilson interval. The model runs in eval mode under no_grad;
/// its train/eval mode is restored afterwards.
/// </summary>
public sealed class Evaluator
{
    private readonly LlamaModel _model;
    private readonly PromptEncoder _encoder;
    private readonly EvaluatorOptions _options;
    private readonly GreedyGenerator _generator;
    private readonly MultipleChoiceScorer _multipleChoice;
    private readonly ResponseScorer _responses;

    public Evaluator(LlamaModel model, ITokenizer tokenizer, EvaluatorOptions? options = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        ArgumentNullException.ThrowIfNull(tokenizer);
        _options = options ?? new EvaluatorOptions();
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocab_size is {model.Config.VocabSize}", nameof(tokenizer));
        _encoder = new PromptEncoder(tokenizer, _options.Template, _options.AddBos);
        var generation = _options.Generation.StopTokenIds is null && tokenizer.EosId is int eos
            ? _options.Generation with { StopTokenIds = [eos] }
            : _options.Generation;
        _generator = new GreedyGenerator(model, generation);
        _multipleChoice = new MultipleChoiceScorer(model, _encoder, _options.MultipleChoice);
        _responses = new ResponseScorer(model, _encoder, _options.Scoring);
    }

    public PromptEncoder Encoder => _encoder;

    /// <summary>Runs the requested modes over <paramref name="items"/>.</summary>
    public EvaluationReport Evaluate(IReadOnlyList<EvaluationItem> items, EvaluationModes modes = EvaluationModes.Both)
    {
        if ((modes & EvaluationModes.Both) == 0 || (modes & ~EvaluationModes.Both) != 0)
            throw new ArgumentOutOfRangeException(nameof(modes), modes, "choose generation, multiple_choice or both");
        CheckItems(items);
        if (modes.HasFlag(EvaluationModes.MultipleChoice)) // fail before a long generation run, not after it
            for (var i = 0; i < items.Count; i++)
                if (items[i].MultipleChoice is null)
                    throw new ArgumentException($"item {i} ({items[i].Task}) has no multiple-choice form (question, choices, answer)", nameof(items));
        return new EvaluationReport(
            modes.HasFlag(EvaluationModes.Generation) ? EvaluateGeneration(items) : null,
            modes.HasFlag(EvaluationModes.MultipleChoice) ? EvaluateMultipleChoice(items) : null);
    }

    /// <summary>Greedy generation + regex answer extraction.</summary>
    public ModeReport EvaluateGeneration(IReadOnlyList<EvaluationItem> items)
    {
        CheckItems(items);
        var clock = Stopwatch.StartNew();
        var examples = items.Select((item, i) => item.Generation ?? item.MultipleChoice?.ToSft()
            ?? throw new ArgumentException($"item {i} ({item.Task}) has neither a generation nor a multiple-choice form", nameof(items))).ToArray();
        var golds = items.Select(GoldLetter).ToArray();
        var prompts = examples.Select(e => (IReadOnlyList<int>)_encoder.EncodePrompt(e)).ToArray();
        IReadOnlyList<GenerationResult> generated;
        try { generated = _generator.Generate(prompts, Reporter("generation", items.Count)); }
        catch (ArgumentException e) when (e.Message.StartsWith("prompt ", StringComparison.Ordinal))
        {
            throw new ArgumentException("item" + e.Message["prompt".Length..], nameof(items), e);
        }

        var predictions = new ItemPrediction[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var text = _encoder.Tokenizer.Decode(generated[i].Tokens);
            var letter = ReadLetter(text, items[i]);
            predictions[i] = new ItemPrediction(i, items[i].Task, golds[i].ToString(), letter?.ToString(), letter == golds[i],
                Output: text, Finish: FinishName(generated[i].Finish), NewTokens: generated[i].Tokens.Count);
        }
        return Summarise("generation", predictions, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Log-likelihood ranking of the choices.</summary>
    public ModeReport EvaluateMultipleChoice(IReadOnlyList<EvaluationItem> items)
    {
        CheckItems(items);
        var clock = Stopwatch.StartNew();
        var mc = items.Select((item, i) => item.MultipleChoice
            ?? throw new ArgumentException($"item {i} ({item.Task}) has no multiple-choice form (question, choices, answer)", nameof(items))).ToArray();
        var scores = _multipleChoice.Score(mc, Reporter("multiple_choice", items.Count));
        var predictions = new ItemPrediction[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var gold = mc[i].AnswerLetter;
            var predicted = scores[i].PredictedLetter;
            predictions[i] = new ItemPrediction(i, items[i].Task, gold.ToString(), predicted.ToString(), predicted == gold, Scores: scores[i].Scores);
        }
        return Summarise("multiple_choice", predictions, clock.Elapsed.TotalSeconds);
    }

    /// <summary>log p(output | prompt) per example (<c>mola score</c>).</summary>
    public IReadOnlyList<ResponseScore> ScoreResponses(IReadOnlyList<SftExample> examples) =>
        _responses.Score(examples, Reporter("score", examples?.Count ?? 0));

    private IProgress<int>? Reporter(string mode, int total) =>
        _options.Progress is { } sink ? new Relay(done => sink.Report(new EvaluationProgress(mode, done, total))) : null;

    /// <summary>Reports synchronously on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Relay(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }

    /// <summary>
    /// The gold letter: "The answer is X." in the generation output, else the multiple-choice answer; an
    /// item that has both must agree.
    /// </summary>
    public static char GoldLetter(EvaluationItem item, int index)
    {
        ArgumentNullException.ThrowIfNull(item);
        var fromOutput = item.Generation is null ? null : ReadLetter(item.Generation.Output, item);
        var fromChoices = item.MultipleChoice?.AnswerLetter;
        if (fromOutput is char a && fromChoices is char b && a != b)
            throw new ArgumentException($"item {index} ({item.Task}): the output says the answer is {a} but the multiple-choice answer is {b}");
        return fromOutput ?? fromChoices ?? throw new ArgumentException(
            $"item {index} ({item.Task}): no gold answer: the output has no \"The answer is X.\" and there is no multiple-choice answer");
    }

    /// <summary>
    /// The letter of the option a text answers: read against the item's options in their answer form when it has them,
    /// else MoLA's regex for "The answer is X.".
    /// </summary>
    private static char? ReadLetter(string text, EvaluationItem item) => item.MultipleChoice is { } mc
        ? MultipleChoiceFormat.ReadAnswer(text, mc) is int c ? (char)('A' + c) : null
        : MultipleChoiceFormat.ExtractAnswer(text);

    private static void CheckItems(IReadOnlyList<EvaluationItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("no items to evaluate", nameof(items));
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is null) throw new ArgumentNullException(nameof(items), $"item {i} is null");
            if (string.IsNullOrWhiteSpace(items[i].Task)) throw new ArgumentException($"item {i} has no task name", nameof(items));
        }
    }

    private static ModeReport Summarise(string mode, ItemPrediction[] predictions, double seconds)
    {
        var tasks = predictions.GroupBy(p => p.Task) // GroupBy keeps first-appearance order
            .Select(g => AccuracySummary.From(g.Key, g.Count(p => p.Correct), g.Count())).ToArray();
        var overall = AccuracySummary.From("overall", predictions.Count(p => p.Correct), predictions.Length);
        return new ModeReport(mode, overall, tasks, predictions, seconds, seconds > 0 ? predictions.Length / seconds : 0);
    }

    /// <summary>How predictions.jsonl names a finish reason (<see cref="ItemPrediction.Finish"/>).</summary>
    public static string FinishName(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.MaxNewTokens => "max_new_tokens",
        FinishReason.MaxPositions => "max_positions",
        _ => reason.ToString(),
    };
}
