using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Evaluation;

namespace MoLA.Training.Tests.Evaluation;

public sealed class GreedyGeneratorTests
{
    /// <summary>Prompts of different lengths (so batches are left-padded), ids from the byte range.</summary>
    private static IReadOnlyList<int>[] Prompts(params int[] lengths) =>
        lengths.Select((n, p) => (IReadOnlyList<int>)Enumerable.Range(0, n).Select(i => 3 + (i * 37 + p * 11) % 250).ToArray()).ToArray();

    /// <summary>The oracle: re-run the whole sequence without a cache and take the argmax of the last position.</summary>
    private static GenerationResult PlainLoop(LlamaModel model, IReadOnlyList<int> prompt, int maxNew, ISet<int> stop)
    {
        var seq = prompt.ToList();
        var generated = new List<int>();
        while (true)
        {
            var logits = TinyLlama.FullForwardLogits(model, seq);
            var token = TinyLlama.ArgMax(logits[^1]);
            if (stop.Contains(token)) return new GenerationResult(generated, FinishReason.Stop);
            generated.Add(token);
            seq.Add(token);
            if (generated.Count == maxNew) return new GenerationResult(generated, FinishReason.MaxNewTokens);
            if (seq.Count == model.Config.MaxPositionEmbeddings) return new GenerationResult(generated, FinishReason.MaxPositions);
        }
    }

    private static void AssertSame(GenerationResult expected, GenerationResult actual, int prompt)
    {
        Assert.True(expected.Tokens.SequenceEqual(actual.Tokens),
            $"prompt {prompt}: expected [{string.Join(",", expected.Tokens)}] got [{string.Join(",", actual.Tokens)}]");
        Assert.Equal(expected.Finish, actual.Finish);
    }

    [Fact]
    public void BatchedCachedDecodingMatchesFullForwardLoop()
    {
        using var model = TinyLlama.Build();
        var prompts = Prompts(9, 4, 13, 4, 7);
        var results = new GreedyGenerator(model, new GenerationOptions { MaxNewTokens = 10, BatchSize = 3 }).Generate(prompts);
        for (var p = 0; p < prompts.Length; p++)
            AssertSame(PlainLoop(model, prompts[p], 10, new HashSet<int>()), results[p], p);
        // Not a trivial model: it does not repeat one token.
        Assert.True(results.SelectMany(r => r.Tokens).Distinct().Count() > 5);
    }

    [Fact]
    public void StopTokenEndsEachRowWhereThePlainLoopStops()
    {
        using var model = TinyLlama.Build(seed: 3);
        var prompts = Prompts(6, 11, 8, 3);
        var free = new GreedyGenerator(model, new GenerationOptions { MaxNewTokens = 8, BatchSize = 4 }).Generate(prompts);
        var stopToken = free[1].Tokens[3]; // row 1 must stop after 3 tokens (or earlier if the token came before)
        var stop = new HashSet<int> { stopToken };
        var results = new GreedyGenerator(model, new GenerationOptions { MaxNewTokens = 8, BatchSize = 4, StopTokenIds = [stopToken] }).Generate(prompts);
        for (var p = 0; p < prompts.Length; p++)
            AssertSame(PlainLoop(model, prompts[p], 8, stop), results[p], p);
        Assert.Equal(FinishReason.Stop, results[1].Finish);
        Assert.DoesNotContain(stopToken, results[1].Tokens);
        Assert.Contains(results, r => r.Finish == FinishReason.MaxNewTokens); // rows were dropped while others went on
    }

    [Fact]
    public void StopsAtTheModelsMaxPositions()
    {
        using var model = TinyLlama.Build(maxPositions: 16);
        var prompts = Prompts(12, 5);
        var results = new GreedyGenerator(model, new GenerationOptions { MaxNewTokens = 20, BatchSize = 2 }).Generate(prompts);
        Assert.Equal(FinishReason.MaxPositions, results[0].Finish);
        Assert.Equal(4, results[0].Tokens.Count);
        Assert.Equal(11, results[1].Tokens.Count);
        for (var p = 0; p < prompts.Length; p++)
            AssertSame(PlainLoop(model, prompts[p], 20, new HashSet<int>()), results[p], p);
    }

    [Fact]
    public void Float32BatchOfEqualLengthsMatchesSingleRows()
    {
        // No padding: batching and caching change nothing but GEMM blocking; tokens must agree.
        using var model = TinyLlama.Build(DType.Float32, seed: 5);
        var prompts = Prompts(8, 8, 8);
        var batched = new GreedyGenerator(model, new GenerationOptions { MaxNewTokens = 6, BatchSize = 3 }).Generate(prompts);
        for (var p = 0; p < prompts.Length; p++)
            AssertSame(PlainLoop(model, prompts[p], 6, new HashSet<int>()), batched[p], p);
    }

    [Fact]
    public void RestoresTrainingModeAndGradMode()
    {
        using var model = TinyLlama.Build();
        model.train();
        new GreedyGenerator(model, new GenerationOptions { MaxNewTokens = 2 }).Generate(Prompts(3));
        Assert.True(model.training);
        Assert.True(torch.is_grad_enabled());
    }

    [Fact]
    public void RejectsBadInputsWithClearMessages()
    {
        using var model = TinyLlama.Build(maxPositions: 16);
        var generator = new GreedyGenerator(model);
        Assert.Contains("prompt 1 is empty", Assert.Throws<ArgumentException>(() => generator.Generate([[5], []])).Message);
        Assert.Contains("prompt 0 has 16 tokens", Assert.Throws<ArgumentException>(() => generator.Generate(Prompts(16))).Message);
        Assert.Contains("prompt 0: token 1 has id 259", Assert.Throws<ArgumentException>(() => generator.Generate([[5, 259]])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GreedyGenerator(model, new GenerationOptions { MaxNewTokens = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GreedyGenerator(model, new GenerationOptions { BatchSize = 0 }));
        Assert.Contains("stop token id 300", Assert.Throws<ArgumentOutOfRangeException>(
            () => new GreedyGenerator(model, new GenerationOptions { StopTokenIds = [300] })).Message);
    }
}
