using MoLA.Training.Data;
using MoLA.Training.Evaluation;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Evaluation;

public sealed class MultipleChoiceScorerTests
{
    private static readonly MultipleChoiceExample Item = new("What is 2 + 3?", ["4", "5", "16", "6"], 1);

    [Fact]
    public void AnswerSentenceCandidatesScoreAsOneFullForwardAfterTheAlpacaPrompt()
    {
        using var model = TinyLlama.Build();
        var tokenizer = new ByteLevelTokenizer();
        var encoder = new PromptEncoder(tokenizer);
        var score = new MultipleChoiceScorer(model, encoder).Score([Item])[0];

        var prompt = new List<int> { ByteLevelTokenizer.Bos };
        prompt.AddRange(tokenizer.Encode(PromptTemplate.Alpaca.Render(Item.ToSft())));
        var expected = new double[4];
        for (var c = 0; c < 4; c++)
        {
            var candidate = tokenizer.Encode($"The answer is {(char)('A' + c)}.");
            var logits = TinyLlama.FullForwardLogits(model, prompt.Concat(candidate).ToArray());
            for (var j = 0; j < candidate.Count; j++) expected[c] += TinyLlama.LogSoftmax(logits[prompt.Count + j - 1])[candidate[j]];
        }
        for (var c = 0; c < 4; c++) Assert.Equal(expected[c], score.LogLikelihoods[c], 1e-9);
        Assert.Equal(Enumerable.Repeat(16, 4), score.TokenCounts);
        Assert.Equal(TinyLlama.ArgMax(expected), score.Predicted);
    }

    [Fact]
    public void LengthNormalisationRanksByMeanPerToken()
    {
        using var model = TinyLlama.Build(seed: 4);
        var encoder = new PromptEncoder(new ByteLevelTokenizer());
        var item = new MultipleChoiceExample("Longest?", ["a", "abcdefgh", "abc"], 0);
        var sum = new MultipleChoiceScorer(model, encoder, new() { Candidate = ChoiceCandidate.ChoiceText }).Score([item])[0];
        var mean = new MultipleChoiceScorer(model, encoder, new() { Candidate = ChoiceCandidate.ChoiceText, LengthNormalized = true }).Score([item])[0];
        Assert.Equal(new[] { 1, 8, 3 }, sum.TokenCounts);
        Assert.Equal(sum.LogLikelihoods, mean.LogLikelihoods);
        for (var c = 0; c < 3; c++) Assert.Equal(sum.LogLikelihoods[c] / sum.TokenCounts[c], mean.Scores[c], 1e-12);
        Assert.Equal(MultipleChoiceScorer.ArgMaxLowestIndex(mean.Scores), mean.Predicted);
        Assert.Equal(MultipleChoiceScorer.ArgMaxLowestIndex(sum.LogLikelihoods), sum.Predicted);
    }

    [Fact]
    public void TiesGoToTheLowestIndex()
    {
        Assert.Equal(1, MultipleChoiceScorer.ArgMaxLowestIndex([-3.0, -1.0, -1.0, -2.0]));
        Assert.Equal(0, MultipleChoiceScorer.ArgMaxLowestIndex([-1.0, -1.0]));
        Assert.Equal(2, MultipleChoiceScorer.ArgMaxLowestIndex([-5.0, -4.0, -0.5]));
    }

    [Fact]
    public void RejectsEmptyChoicesAndPromptsThatDoNotFit()
    {
        using var model = TinyLlama.Build(maxPositions: 64);
        var encoder = new PromptEncoder(new ByteLevelTokenizer());
        var text = new MultipleChoiceScorer(model, encoder, new() { Candidate = ChoiceCandidate.ChoiceText });
        var empty = new MultipleChoiceExample("Q", ["x", ""], 0);
        Assert.Contains("item 1: choice B is empty", Assert.Throws<ArgumentException>(() => text.Score([Item, empty])).Message);
        var tooLong = new MultipleChoiceScorer(model, encoder);
        Assert.Contains("multiple-choice item 0: context", Assert.Throws<ArgumentException>(() => tooLong.Score([Item])).Message);
    }
}
