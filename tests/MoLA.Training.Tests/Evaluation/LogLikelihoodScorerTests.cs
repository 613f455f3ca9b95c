using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Evaluation;

namespace MoLA.Training.Tests.Evaluation;

/// <summary>
/// The scorer (left-padded prefill, KV cache, repeated rows, right-padded suffixes) against one full forward per
/// continuation: the same sums in another order, an equivalence tested on float64 models (TinyLlama's default).
/// </summary>
public sealed class LogLikelihoodScorerTests
{
    /// <summary>
    /// Float64: each sum (n &lt;= 259 terms, the vocabulary's log-sum-exp) is off by ~sqrt(n) 2^-53 ~ 2e-15 relative,
    /// and over the ~21 sums of a 2-layer forward on log-probs of magnitude &lt;= ~20 the scorer and the oracle stay
    /// within ~1e-12 whatever kernels the CPU's BLAS picks; a real error (a pad attended to, a wrong position) moves
    /// log-probs by 1e-2 and more.
    /// </summary>
    private const double Float64Tolerance = 1e-10;

    /// <summary>The oracle: one full forward over context + continuation, log-softmax computed here.</summary>
    private static double[] Reference(LlamaModel model, IReadOnlyList<int> context, IReadOnlyList<int> continuation)
    {
        var ids = context.Concat(continuation).ToArray();
        var logits = TinyLlama.FullForwardLogits(model, ids);
        return continuation.Select((token, j) => TinyLlama.LogSoftmax(logits[context.Count + j - 1])[token]).ToArray();
    }

    /// <summary>|scored - oracle| &lt;= tolerance + perMagnitude * M for every token, M = the largest |log-prob| of the oracle.</summary>
    private static void AssertMatchesReference(LlamaModel model, IReadOnlyList<ContinuationRequest> requests, IReadOnlyList<double[][]> scored,
        double tolerance, double perMagnitude = 0)
    {
        var references = requests.Select(r => r.Continuations.Select(c => Reference(model, r.Context, c)).ToArray()).ToArray();
        tolerance += perMagnitude * references.SelectMany(r => r).SelectMany(e => e).Max(Math.Abs);
        for (var i = 0; i < requests.Count; i++)
            for (var c = 0; c < requests[i].Continuations.Count; c++)
            {
                var expected = references[i][c];
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
        // Left padding shifts absolute positions: exact up to rounding since the RoPE tables are float64 for float64 models.
        AssertMatchesReference(model, requests, scored, Float64Tolerance);
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
        // Both sides round each of the ~21 sums along the forward (2 layers x 9, final norm, head, log-softmax) by up
        // to ~sqrt(n) 2^-24 relative (n = 48, the widest matmul) of values up to the log-probs' magnitude M, whatever
        // kernels the CPU's BLAS picks: |difference| <= 2 x 21 x sqrt(48) 2^-24 M, ~1.8e-4 at M ~ 10 (a worst case:
        // the errors add up like a random walk, ~1e-6 in practice), far below a real error (1e-2 and more).
        AssertMatchesReference(model, requests, scored, 0, 2 * 21 * Math.Sqrt(48) * Math.Pow(2, -24));
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
