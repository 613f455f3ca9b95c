using System.Text.Json;
using MoLA.Training.Data;
using MoLA.Training.Evaluation;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Evaluation;

public sealed class ResponseScorerTests
{
    private static readonly SftExample[] Examples =
    [
        new("Add the numbers.", "2 and 3", "2 + 3 = 5. The answer is B."),
        new("Say hi.", "", "hi"),
        new("Reverse 'abc'.", "", "cba"),
    ];

    /// <summary>
    /// The scorer (batched, padded, KV cache) against one full forward per example on a float64 model: the same sums in
    /// another order. Each log-prob is off by ~1e-14 at most (~21 sums of n &lt;= 259 terms, ~sqrt(n) 2^-53 relative,
    /// on magnitudes &lt;= ~20) and a sum of &lt;= ~30 of them by &lt;= ~1e-12 whatever the CPU's kernels; 1e-10 still
    /// catches a token scored at the wrong position (1e-2 and more).
    /// </summary>
    private const double Float64Tolerance = 1e-10;

    [Fact]
    public void SumsTheResponseTokensGivenThePrompt()
    {
        using var model = TinyLlama.Build();
        var tokenizer = new ByteLevelTokenizer();
        var scores = new ResponseScorer(model, new PromptEncoder(tokenizer), new() { BatchSize = 2, IncludeTokenLogProbs = true }).Score(Examples);
        for (var i = 0; i < Examples.Length; i++)
        {
            var prompt = new List<int> { ByteLevelTokenizer.Bos };
            prompt.AddRange(tokenizer.Encode(PromptTemplate.Alpaca.Render(Examples[i])));
            var response = tokenizer.Encode(Examples[i].Output);
            var logits = TinyLlama.FullForwardLogits(model, prompt.Concat(response).ToArray());
            var expected = response.Select((t, j) => TinyLlama.LogSoftmax(logits[prompt.Count + j - 1])[t]).ToArray();
            var s = scores[i];
            Assert.Equal(i, s.Index);
            Assert.Equal(prompt.Count, s.PromptTokens);
            Assert.Equal(response.Count, s.ResponseTokens);
            Assert.Equal(expected.Sum(), s.SumLogProb, Float64Tolerance);
            Assert.Equal(expected.Sum() / response.Count, s.MeanLogProb, Float64Tolerance);
            Assert.Equal(response.Count, s.TokenLogProbs!.Count);
        }
    }

    [Fact]
    public void AppendEosScoresOneMoreTokenAndJsonIsSnakeCase()
    {
        using var model = TinyLlama.Build();
        var encoder = new PromptEncoder(new ByteLevelTokenizer());
        var plain = new ResponseScorer(model, encoder).Score(Examples[1..2])[0];
        var withEos = new ResponseScorer(model, encoder, new() { AppendEos = true }).Score(Examples[1..2])[0];
        Assert.Equal(plain.ResponseTokens + 1, withEos.ResponseTokens);
        Assert.True(withEos.SumLogProb < plain.SumLogProb);
        Assert.Null(plain.TokenLogProbs);

        using var json = JsonDocument.Parse(EvaluationJson.Serialize(plain));
        var root = json.RootElement;
        Assert.Equal(0, root.GetProperty("index").GetInt32());
        Assert.Equal(plain.ResponseTokens, root.GetProperty("response_tokens").GetInt32());
        Assert.Equal(plain.SumLogProb, root.GetProperty("sum_log_prob").GetDouble());
        Assert.Equal(plain.MeanLogProb, root.GetProperty("mean_log_prob").GetDouble());
        Assert.False(root.TryGetProperty("token_log_probs", out _));
    }

    [Fact]
    public void RejectsEmptyOutputsAndPromptsThatDoNotFit()
    {
        using var model = TinyLlama.Build(maxPositions: 100);
        var scorer = new ResponseScorer(model, new PromptEncoder(new ByteLevelTokenizer()));
        Assert.Contains("example 1: the output is empty", Assert.Throws<ArgumentException>(
            () => scorer.Score([Examples[1], Examples[1] with { Output = "" }])).Message);
        Assert.Contains("example 0: context", Assert.Throws<ArgumentException>(() => scorer.Score([Examples[0]])).Message);
    }
}
