using MoLA.Cli.Configuration;
using MoLA.Cli.Training;
using MoLA.Training.Data;

namespace MoLA.Cli.Tests;

/// <summary>The built-in benchmark's training forms (embedded-train-format).</summary>
public sealed class RunDataTests
{
    private static readonly BenchmarkSplit Train = EmbeddedBenchmark.Generate(seed: 5, trainPerTask: 3, testPerTask: 1).Train;

    [Fact]
    public void GenerationFormEndsItsWorkedAnswerWithTheCorrectOptionsText()
    {
        var examples = RunData.EmbeddedTrain(Train, "generation");
        Assert.Equal(Train.Items.Count, examples.Count);
        Assert.All(Train.Items.Zip(examples), p =>
        {
            var mc = p.First.MultipleChoice;
            Assert.EndsWith(MultipleChoiceFormat.Answer(mc.Choices[mc.AnswerIndex]), p.Second.Output);
            Assert.NotEqual(MultipleChoiceFormat.Answer(mc.Choices[mc.AnswerIndex]), p.Second.Output);
        });
    }

    [Fact]
    public void MultipleChoiceFormIsTheAnswerSentenceAloneAfterTheSamePrompt()
    {
        var generation = RunData.EmbeddedTrain(Train, "generation");
        var direct = RunData.EmbeddedTrain(Train, "multiple-choice");
        Assert.Equal(generation.Select(e => e.Instruction), direct.Select(e => e.Instruction));
        Assert.Equal(Train.Items.Select(i => MultipleChoiceFormat.Answer(i.MultipleChoice.Choices[i.MultipleChoice.AnswerIndex])), direct.Select(e => e.Output));
    }

    [Fact]
    public void BothHoldsEveryItemInBothForms()
    {
        var both = RunData.EmbeddedTrain(Train, "both");
        Assert.Equal(2 * Train.Items.Count, both.Count);
        Assert.Equal(RunData.EmbeddedTrain(Train, "generation"), both.Where((_, i) => i % 2 == 0));
        Assert.Equal(RunData.EmbeddedTrain(Train, "multiple-choice"), both.Where((_, i) => i % 2 == 1));
        Assert.Throws<SettingException>(() => RunData.EmbeddedTrain(Train, "mixed"));
    }

    [Fact]
    public void TheDemoGenerationBudgetHoldsEveryReferenceAnswer()
    {
        // Byte-level: one token per UTF-8 byte, plus EOS. A budget below this cuts answers before "The answer is X.".
        var bench = MoLA.Training.Pretraining.TinyBaseModel.DemoBenchmark();
        var longest = bench.Train.Items.Concat(bench.Test.Items).Max(i => System.Text.Encoding.UTF8.GetByteCount(i.Generation.Output) + 1);
        Assert.True(longest + 8 <= MoLA.Cli.Commands.DemoCommand.MaxNewTokens, $"longest answer {longest} tokens, budget {MoLA.Cli.Commands.DemoCommand.MaxNewTokens}");
        Assert.True(longest > 48, $"longest answer {longest} tokens: the old budget of 48 cut it (else this test proves nothing)");
    }
}
