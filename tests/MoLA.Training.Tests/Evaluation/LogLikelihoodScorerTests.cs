using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Evaluation;

namespace MoLA.Training.Tests.Evaluation;

public sealed class LogLikelihoodScorerTests
{
    /// <summary>The oracle: one full forward over context + continuation, log-softmax computed here.</summary>
    private static double[] Reference(LlamaModel model, IReadOnlyList<int> context, IReadOnlyList<int> continuation)
    {
        var ids = context.Concat(continuation).ToArray();
        var logits = TinyLlama.FullForwardLogits(model, ids);
        return continuation.Select((token, j) => TinyLlama.LogSoftmax(logits[context.Count + j - 1])[token]).ToArray();
    }

    private static void AssertMatchesReference(LlamaModel model, IReadOnlyList<ContinuationRequest> requests, IReadOnlyList<double[][]> scored, double tolerance)
    {
        for (var i = 0; i < requests.Count; i++)
            for (var c = 0; c < requests[i].Continuations.Count; c++)
            {
                var expected = Reference(model, requests[i].Context, requests[i].Continuations[c]);
                Assert.Equal(expected.Length, scored[i][c].Length);
                for (var t = 0; t < expected.Length; t++)
                    Assert.True(Math.Abs(expected[t] - scored[i][c][t]) <= tolerance,
                        $"request {i} continuation {c} token {t}: expected {expected[t]} got {scored[i][c][t]}");
            }
    }

    private static int[] Ids(string s) => s.Select(ch => (int)ch + 3).ToArray();

    [Fact]
    public void MatchesOneFullForwardPerContinuation()
    {
        using var model = TinyLlama.Build();
        ContinuationRequest[] requests =
        [
            // shared prefix "The answer is " then different letters
            new(Ids("Q: 1+1?\n"), [Ids("The answer is A."), Ids("The answer is B."), Ids("The answer is C.")]),
            // different lengths, one a prefix of another, single-token candidate
            new(Ids("Pick:"), [Ids("12"), Ids("1"), Ids("123x")]),
            // a single continuation (response scoring), short context
            new(Ids("x"), [Ids("hello world")]),
            // no shared prefix at all
            new(Ids("Long context for the batch padding test ..."), [Ids("ab"), Ids("cde")]),
        ];
        var scored = new LogLikelihoodScorer(model, batchSize: 3).Score(requests);
        AssertMatchesReference(model, requests, scored, 1e-6); // RoPE tables are float32: left padding shifts positions, ~1e-8 here
        Assert.Equal(0, LogLikelihoodScorer.SharedPrefix(requests[1].Continuations)); // "1" must keep a token of its own
        Assert.Equal(14, LogLikelihoodScorer.SharedPrefix(requests[0].Continuations));
    }

    [Fact]
    public void Float32AgreesWithTheFullForwardWithinRounding()
    {
        using var model = TinyLlama.Build(DType.Float32, seed: 2);
        ContinuationRequest[] requests =
        [
            new(Ids("prompt one\n"), [Ids("The answer is A."), Ids("The answer is D.")]),
            new(Ids("p2"), [Ids("yes"), Ids("no")]),
        ];
        var scored = new LogLikelihoodScorer(model, batchSize: 2).Score(requests);
        AssertMatchesReference(model, requests, scored, 2e-4);
    }

    [Fact]
    public void RejectsBadRequests()
    {
        using var model = TinyLlama.Build(maxPositions: 12);
        var scorer = new LogLikelihoodScorer(model);
        Assert.Contains("request 0: the context is empty", Assert.Throws<ArgumentException>(() => scorer.Score([new([], [Ids("a")])])).Message);
        Assert.Contains("request 0: no continuations", Assert.Throws<ArgumentException>(() => scorer.Score([new(Ids("a"), [])])).Message);
        Assert.Contains("request 1: continuation 1 is empty", Assert.Throws<ArgumentException>(
            () => scorer.Score([new(Ids("a"), [Ids("b")]), new(Ids("a"), [Ids("b"), []])])).Message);
        Assert.Contains("exceed the model's max_position_embeddings 12", Assert.Throws<ArgumentException>(
            () => scorer.Score([new(Ids("abcdefghij"), [Ids("xyz")])])).Message);
        Assert.Contains("id 400", Assert.Throws<ArgumentException>(() => scorer.Score([new(Ids("a"), [[400]])])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogLikelihoodScorer(model, 0));
    }
}
