using MoLA.Cli.Configuration;
using MoLA.Cli.Training;
using MoLA.Torch;
using MoLA.Training.Runs;

namespace MoLA.Cli.Demo;

/// <summary>
/// The shipped base without an adapter on the demo's test items: the row that shows what fine-tuning taught. Its
/// predictions and eval.json go to base/ under the demo's directory, as a trial's would.
/// </summary>
internal static class UntunedBase
{
    public static EvaluationSummary Evaluate(string demoDirectory, int testPerTask, int limit, string format, int maxNewTokens, int batchSize,
        int threads, TextWriter log)
    {
        var directory = new RunDirectory(Path.Combine(demoDirectory, "base"));
        Directory.CreateDirectory(directory.Path);
        torch.set_num_threads(threads);
        // The trials' test split: the built-in benchmark with its default 200 training items per task.
        var items = RunData.EmbeddedTest(trainPerTask: 200, testPerTask);
        if (limit > 0) items = items.Take(limit).ToList();
        using var model = AdaptedModel.Load(TrainSettings.Embedded, adapter: null);
        var summary = new RunEvaluator(log, directory.File(RunFiles.Predictions))
            .Evaluate(model.Model, model.Tokenizer, items, format, maxNewTokens, "alpaca-short", "embedded-test", batchSize);
        directory.WriteEvaluation(summary);
        return summary;
    }
}
