using MoLA.Model;
using MoLA.Training.Data;

namespace MoLA.Training.Pretraining;

/// <summary>
/// The pre-training text of the tiny base model: <see cref="EmbeddedCorpus"/> documents (true statements of the
/// benchmark's five families) mixed with worked examples of freshly drawn problems, so the base model knows the
/// benchmark's "language" (questions, worked answers, lettered options, "The answer is X.") before fine-tuning.
/// <para>
/// Worked examples alternate two forms: "question worked-answer" (two in three), and the multiple-choice block
/// (question, lettered options, worked answer, "The answer is X." with X the letter) without the alpaca prompt around it, which
/// fine-tuning still has to learn.
/// </para>
/// <para>
/// No test item leaks in: every problem and document is checked against the TEST split of
/// <paramref name="heldOut"/> (by default the canonical demo benchmark, <see cref="TinyBaseModel.DemoBenchmark"/>):
/// a worked example whose question is a test question, or a document containing a test item's statement, is
/// skipped. Deterministic for a seed; documents come out shuffled.
/// </para>
/// </summary>
public static class PretrainCorpus
{
    public static IReadOnlyList<string> Build(ulong seed, int documents, int workedExamples, BenchmarkSplit? heldOut = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(documents);
        ArgumentOutOfRangeException.ThrowIfNegative(workedExamples);
        heldOut ??= TinyBaseModel.DemoBenchmark().Test;
        var testQuestions = heldOut.Items.Select(i => i.MultipleChoice.Question).ToHashSet(StringComparer.Ordinal);
        var testStatements = heldOut.Items.Select(i => i.Statement).ToList();

        var result = new List<string>(documents + workedExamples);
        // Draw a few more documents than asked to make up for those skipped; stop at the count asked.
        foreach (var doc in EmbeddedCorpus.Generate(seed, documents + documents / 8 + 16))
        {
            if (result.Count == documents) break;
            if (!testStatements.Any(s => doc.Contains(s, StringComparison.Ordinal))) result.Add(doc);
        }

        var rng = new SplitMix64(seed * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL);
        for (int made = 0, attempts = 0; made < workedExamples; attempts++)
        {
            if (attempts > 100 + 4 * workedExamples)
                throw new InvalidOperationException($"could not draw {workedExamples} worked examples outside the held-out split");
            var task = EmbeddedBenchmark.Tasks[rng.NextInt(EmbeddedBenchmark.Tasks.Count)];
            var item = EmbeddedBenchmark.Make(task, ref rng);
            if (testQuestions.Contains(item.MultipleChoice.Question)) continue;
            // The multiple-choice block keeps the letter answer the shipped base was pre-trained on, so this corpus
            // regenerates it byte for byte (the benchmark itself now answers with the option's text).
            result.Add(made % 3 == 2
                ? item.Generation.Instruction + "\n\n" + WorkedAnswer(item) + " " + MultipleChoiceFormat.Answer(item.MultipleChoice.AnswerLetter)
                : item.MultipleChoice.Question + " " + WorkedAnswer(item));
            made++;
        }
        return DeterministicShuffle.Shuffle(result, seed ^ 0x243F6A8885A308D3UL);
    }

    /// <summary>The generation output without its final "The answer is X." (the worked part only).</summary>
    private static string WorkedAnswer(BenchmarkItem item)
    {
        var output = item.Generation.Output;
        var cut = output.LastIndexOf(" The answer is ", StringComparison.Ordinal);
        return cut < 0 ? output : output[..cut];
    }
}
