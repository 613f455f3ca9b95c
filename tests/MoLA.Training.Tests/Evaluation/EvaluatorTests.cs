using System.Text.Json;
using MoLA.Training.Data;
using MoLA.Training.Evaluation;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Evaluation;

public sealed class EvaluatorTests
{
    private static readonly IReadOnlyList<EvaluationItem> Items =
        EmbeddedBenchmark.Generate(seed: 11, trainPerTask: 0, testPerTask: 2).Test.Items.Select(EvaluationItem.From).ToArray();

    private static EvaluatorOptions Options(int maxNew = 6) => new() { Generation = new() { MaxNewTokens = maxNew, BatchSize = 4 } };

    [Fact]
    public void GenerationReportIsTheGeneratorsOutputGradedWithTheRegex()
    {
        using var model = TinyLlama.Build();
        var tokenizer = new ByteLevelTokenizer();
        var evaluator = new Evaluator(model, tokenizer, Options());
        var report = evaluator.EvaluateGeneration(Items);

        var prompts = Items.Select(i => (IReadOnlyList<int>)evaluator.Encoder.EncodePrompt(i.Generation!)).ToArray();
        var expected = new GreedyGenerator(model, new() { MaxNewTokens = 6, StopTokenIds = [ByteLevelTokenizer.Eos] }).Generate(prompts);
        for (var i = 0; i < Items.Count; i++)
        {
            var p = report.Predictions[i];
            Assert.Equal(tokenizer.Decode(expected[i].Tokens), p.Output);
            Assert.Equal(expected[i].Tokens.Count, p.NewTokens);
            Assert.Equal(Items[i].MultipleChoice!.AnswerLetter.ToString(), p.Gold);
            Assert.Equal(MultipleChoiceFormat.ReadAnswer(p.Output!, Items[i].MultipleChoice!) is int c ? ((char)('A' + c)).ToString() : null, p.Predicted);
            Assert.Equal(p.Predicted == p.Gold, p.Correct);
            Assert.Equal(Items[i].Task, p.Task);
        }
        AssertSummaries(report);
    }

    [Fact]
    public void MultipleChoiceReportFollowsTheScorer()
    {
        using var model = TinyLlama.Build(seed: 9);
        var progress = new List<EvaluationProgress>();
        var evaluator = new Evaluator(model, new ByteLevelTokenizer(), Options() with
        {
            MultipleChoice = new() { BatchSize = 4 },
            Progress = new Sink(progress.Add),
        });
        var report = evaluator.EvaluateMultipleChoice(Items);
        Assert.Equal(new[] { 4, 8, 10 }, progress.Select(p => p.Done));
        Assert.All(progress, p => Assert.Equal(("multiple_choice", 10), (p.Mode, p.Total)));
        var scores = new MultipleChoiceScorer(model, evaluator.Encoder, new() { BatchSize = 4 }).Score(Items.Select(i => i.MultipleChoice!).ToArray());
        for (var i = 0; i < Items.Count; i++)
        {
            var p = report.Predictions[i];
            Assert.Equal(scores[i].PredictedLetter.ToString(), p.Predicted);
            Assert.Equal(p.Predicted == p.Gold, p.Correct);
            Assert.Equal(scores[i].Scores, p.Scores!);
        }
        Assert.Contains(report.Predictions, p => p.Predicted != "A"); // not a constant answer
        AssertSummaries(report);
    }

    /// <summary>Per-task and overall counts recomputed with plain loops; intervals from Wilson.</summary>
    private static void AssertSummaries(ModeReport report)
    {
        Assert.Equal(EmbeddedBenchmark.Tasks, report.Tasks.Select(t => t.Task));
        foreach (var t in report.Tasks)
        {
            var mine = report.Predictions.Where(p => p.Task == t.Task).ToArray();
            Assert.Equal(mine.Length, t.Total);
            Assert.Equal(mine.Count(p => p.Correct), t.Correct);
            Assert.Equal((double)t.Correct / t.Total, t.Accuracy);
            Assert.Equal(WilsonInterval.Compute(t.Correct, t.Total), (t.CiLow, t.CiHigh));
        }
        Assert.Equal("overall", report.Overall.Task);
        Assert.Equal(Items.Count, report.Overall.Total);
        Assert.Equal(report.Predictions.Count(p => p.Correct), report.Overall.Correct);
        Assert.True(report.ItemsPerSecond > 0);
    }

    [Fact]
    public void ReportSerialisesWithSnakeCaseNames()
    {
        using var model = TinyLlama.Build();
        var report = new Evaluator(model, new ByteLevelTokenizer(), Options(maxNew: 2)).Evaluate(Items.Take(3).ToArray(), EvaluationModes.Both);
        using var json = JsonDocument.Parse(report.ToJson());
        var mc = json.RootElement.GetProperty("multiple_choice");
        Assert.Equal("multiple_choice", mc.GetProperty("mode").GetString());
        var overall = mc.GetProperty("overall");
        Assert.Equal(3, overall.GetProperty("total").GetInt32());
        Assert.True(overall.TryGetProperty("ci_low", out _) && overall.TryGetProperty("ci_high", out _));
        Assert.True(mc.TryGetProperty("items_per_second", out _));
        Assert.Equal(4, mc.GetProperty("predictions")[0].GetProperty("scores").GetArrayLength());
        var gen = json.RootElement.GetProperty("generation").GetProperty("predictions")[0];
        Assert.Equal("max_new_tokens", gen.GetProperty("finish").GetString());
        Assert.Equal(2, gen.GetProperty("new_tokens").GetInt32());
        Assert.False(gen.TryGetProperty("scores", out _));

        var onlyMc = new Evaluator(model, new ByteLevelTokenizer()).Evaluate(Items.Take(1).ToArray(), EvaluationModes.MultipleChoice);
        Assert.False(JsonDocument.Parse(onlyMc.ToJson()).RootElement.TryGetProperty("generation", out _));
    }

    [Fact]
    public void GoldLetterComesFromTheOutputOrTheChoicesAndMustAgree()
    {
        var mc = new MultipleChoiceExample("Q?", ["a", "b", "c"], 2);
        Assert.Equal('C', Evaluator.GoldLetter(new EvaluationItem("t", MultipleChoice: mc), 0));
        Assert.Equal('B', Evaluator.GoldLetter(new EvaluationItem("t", new SftExample("i", "", "so. The answer is B.")), 0));
        Assert.Contains("item 3 (t): the output says the answer is B but the multiple-choice answer is C", Assert.Throws<ArgumentException>(
            () => Evaluator.GoldLetter(new EvaluationItem("t", new SftExample("i", "", "The answer is B."), mc), 3)).Message);
        Assert.Contains("item 0 (t): no gold answer", Assert.Throws<ArgumentException>(
            () => Evaluator.GoldLetter(new EvaluationItem("t", new SftExample("i", "", "42")), 0)).Message);
    }

    [Fact]
    public void RejectsItemsAModeCannotUse()
    {
        using var model = TinyLlama.Build(maxPositions: 64);
        var evaluator = new Evaluator(model, new ByteLevelTokenizer(), Options());
        var genOnly = new EvaluationItem("t", new SftExample("i", "", "The answer is A."));
        Assert.Contains("item 0 (t) has no multiple-choice form", Assert.Throws<ArgumentException>(
            () => evaluator.EvaluateMultipleChoice([genOnly])).Message);
        // Both modes: caught before generation runs (which would fail on the 64-position limit instead).
        Assert.Contains("item 0 (t) has no multiple-choice form", Assert.Throws<ArgumentException>(
            () => evaluator.Evaluate([genOnly], EvaluationModes.Both)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => evaluator.Evaluate([genOnly], (EvaluationModes)4));
        Assert.Contains("no items", Assert.Throws<ArgumentException>(() => evaluator.EvaluateGeneration([])).Message);
        Assert.Contains("item 1 has no task name", Assert.Throws<ArgumentException>(
            () => evaluator.EvaluateGeneration([genOnly, genOnly with { Task = " " }])).Message);
        Assert.Contains("item 0 has 1", Assert.Throws<ArgumentException>(() => evaluator.EvaluateGeneration([Items[0]])).Message); // prompt > 64 positions
        Assert.Contains("vocab_size", Assert.Throws<ArgumentException>(() => new Evaluator(model, new BigVocab())).Message);
    }

    private sealed class Sink(Action<EvaluationProgress> report) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) => report(value);
    }

    private sealed class BigVocab : ITokenizer
    {
        public int VocabSize => 1000;
        public int? BosId => null;
        public int? EosId => null;
        public int? PadId => null;
        public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false) => [];
        public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) => "";
    }
}
