using System.Diagnostics;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Data;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Evaluation;

/// <summary>What one evaluation speed run uses (defaults: the demo's model and test set).</summary>
public sealed record EvaluationBenchOptions
{
    /// <summary>8 layers, hidden 128, SwiGLU 344, byte-level vocabulary: about 1.6M parameters.</summary>
    public int Layers { get; init; } = 8;
    public int Hidden { get; init; } = 128;
    public int Intermediate { get; init; } = 344;
    public int Heads { get; init; } = 4;
    public int TestPerTask { get; init; } = 50;
    public int MaxNewTokens { get; init; } = 64;
    public int BatchSize { get; init; } = 16;
    public int Threads { get; init; } = 2;
    public ulong Seed { get; init; } = 1;
}

/// <summary>Items per second of each mode on a random model (a random model never emits EOS: every item generates MaxNewTokens).</summary>
public sealed record EvaluationBenchResult(
    long Parameters,
    int Items,
    int MaxNewTokens,
    int BatchSize,
    double GenerationSeconds,
    double GenerationItemsPerSecond,
    double GeneratedTokensPerSecond,
    double MultipleChoiceSeconds,
    double MultipleChoiceItemsPerSecond);

/// <summary>Times <see cref="Evaluator"/> on the embedded benchmark's test split with a freshly initialised model.</summary>
public static class EvaluationBenchmark
{
    public static EvaluationBenchResult Run(EvaluationBenchOptions? options = null)
    {
        var o = options ?? new EvaluationBenchOptions();
        if (o.Threads < 1) throw new ArgumentOutOfRangeException(nameof(options), o.Threads, "threads must be at least 1");
        torch.set_num_threads(o.Threads);
        torch.manual_seed(o.Seed);
        var config = new LlamaConfig(hiddenSize: o.Hidden, intermediateSize: o.Intermediate, numHiddenLayers: o.Layers,
            numAttentionHeads: o.Heads, vocabSize: ByteLevelTokenizer.Size, maxPositionEmbeddings: 512);
        using var model = new LlamaModel(config);
        model.InitializeWeights();
        var items = EmbeddedBenchmark.Generate(o.Seed, trainPerTask: 0, testPerTask: o.TestPerTask).Test.Items.Select(EvaluationItem.From).ToArray();
        var evaluator = new Evaluator(model, new ByteLevelTokenizer(), new EvaluatorOptions
        {
            Generation = new GenerationOptions { MaxNewTokens = o.MaxNewTokens, BatchSize = o.BatchSize },
            MultipleChoice = new MultipleChoiceOptions { BatchSize = o.BatchSize },
        });
        evaluator.EvaluateMultipleChoice(items.Take(2).ToArray()); // warm-up: first native calls, RoPE tables

        var clock = Stopwatch.StartNew();
        var generation = evaluator.EvaluateGeneration(items);
        var genSeconds = clock.Elapsed.TotalSeconds;
        var tokens = generation.Predictions.Sum(p => p.NewTokens ?? 0);
        clock.Restart();
        evaluator.EvaluateMultipleChoice(items);
        var mcSeconds = clock.Elapsed.TotalSeconds;
        return new EvaluationBenchResult(model.parameter_count(), items.Length, o.MaxNewTokens, o.BatchSize,
            genSeconds, items.Length / genSeconds, tokens / genSeconds, mcSeconds, items.Length / mcSeconds);
    }
}
