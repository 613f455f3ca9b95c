using MoLA.Cli.Configuration;
using MoLA.Model.Llama;
using MoLA.Training.Evaluation;
using MoLA.Training.Runs;
using MoLA.Training.Tokenizers;

namespace MoLA.Cli.Training;

/// <summary>
/// Evaluation of a run with <see cref="Evaluator"/>: greedy generation with MoLA's answer regex and/or multiple-choice
/// log-likelihood, per task and overall, as eval.json's accuracy rows.
/// </summary>
public sealed class RunEvaluator(TextWriter log, string? predictionsPath = null) : IRunEvaluator
{
    public EvaluationSummary Evaluate(LlamaModel model, ITokenizer tokenizer, IReadOnlyList<EvalItem> items, TrainSettings settings) =>
        Evaluate(model, tokenizer, items, settings.EvalFormat, settings.MaxNewTokens, settings.PromptTemplate,
            settings.EvalData == TrainSettings.Embedded ? "embedded-test" : Path.GetFileName(settings.EvalData), settings.EvalBatchSize);

    /// <param name="format">generation | multiple-choice | both.</param>
    /// <param name="batchSize">Prompts decoded, and items scored, together.</param>
    public EvaluationSummary Evaluate(LlamaModel model, ITokenizer tokenizer, IReadOnlyList<EvalItem> items, string format,
        int maxNewTokens, string promptTemplate, string dataset, int batchSize = 16)
    {
        var modes = format switch
        {
            "generation" => EvaluationModes.Generation,
            "multiple-choice" => EvaluationModes.MultipleChoice,
            _ => EvaluationModes.Both,
        };
        var evaluator = new Evaluator(model, tokenizer, new EvaluatorOptions
        {
            Template = MoLA.Training.Data.PromptTemplate.Named(promptTemplate),
            Generation = new GenerationOptions { MaxNewTokens = maxNewTokens, BatchSize = batchSize },
            MultipleChoice = new MultipleChoiceOptions { BatchSize = batchSize },
        });
        var report = evaluator.Evaluate(items.Select(i => new EvaluationItem(i.Task, i.Generation, i.MultipleChoice)).ToList(), modes);
        var rows = new List<AccuracyRow>();
        foreach (var mode in new[] { report.Generation, report.MultipleChoice })
        {
            if (mode is null) continue;
            rows.Add(Row(dataset, mode.Mode, "all", mode.Overall));
            rows.AddRange(mode.Tasks.Where(t => t.Task != "all").Select(t => Row(dataset, mode.Mode, t.Task, t)));
            log.WriteLine($"eval {mode.Mode}: {mode.Overall.Correct}/{mode.Overall.Total} in {mode.Seconds:F1} s");
        }
        // A cut-off answer has no "The answer is X." and counts as wrong: say so rather than report a silently low score.
        var cut = report.Generation?.Predictions.Count(p => p.Finish == Evaluator.FinishName(FinishReason.MaxNewTokens)) ?? 0;
        if (cut > 0)
            log.WriteLine($"warning: {cut} of {report.Generation!.Predictions.Count} generations stopped at max-new-tokens {maxNewTokens} " +
                "(counted wrong unless they already held the answer); raise --max-new-tokens if the answers are longer");
        // Every item's output and verdict, one JSON line each, for looking at what the model actually answers.
        if (predictionsPath is not null)
            MoLA.Torch.IO.AtomicFile.WriteLines(predictionsPath, new[] { report.Generation, report.MultipleChoice }
                .Where(m => m is not null).SelectMany(m => m!.Predictions.Select(p => EvaluationJson.Serialize(new { mode = m.Mode, prediction = p }, indented: false))));
        return new EvaluationSummary(rows, null);
    }

    private static AccuracyRow Row(string dataset, string format, string task, AccuracySummary a) =>
        new(dataset, format, task, a.Correct, a.Total, a.Accuracy, a.CiLow, a.CiHigh);
}
