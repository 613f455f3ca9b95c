using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Configuration;
using MoLA.Cli.Output;
using MoLA.Cli.Training;
using MoLA.Torch;
using MoLA.Training.Runs;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola eval</c>: accuracy (95% CI) of a base model with an adapter, by greedy generation + MoLA's answer regex
/// and/or multiple-choice log-likelihood. With --run DIR the run's base model, adapter and prompt template are used
/// and the result is written to DIR/eval.json.
/// </summary>
internal static class EvalCommand
{
    public static IReadOnlyList<SettingSpec> Specs { get; } =
    [
        new("run", "Run directory written by `mola train` (its base model, adapter/ and settings; writes eval.json)", "DIR"),
        new("base-model", "Hugging Face checkpoint directory or 'embedded' (default: the run's, else embedded)", "DIR"),
        new("adapter", "Adapter directory, or 'none' for the base model alone (default: the run's adapter/)", "DIR"),
        new("data", "JSONL (alpaca or multiple-choice) or 'embedded' (the built-in benchmark's test split)", "FILE", TrainSettings.Embedded),
        new("eval-format", "generation | multiple-choice | both", "FORMAT", "generation"),
        new("eval-limit", "Evaluate at most N examples (0 = all)", "N", "0"),
        new("eval-batch-size", "Examples decoded or scored together (larger is faster on small models, needs more memory)", "N", "16"),
        new("max-new-tokens", "Greedy generation budget per answer", "N", "64"),
        new("prompt-template", "alpaca | alpaca-short (default: the run's, else alpaca)", "NAME"),
        new("embedded-test-per-task", "Built-in benchmark: test items per task family (default: the run's, else 50)", "N"),
        new("threads", "libtorch intra-op threads (default: logical CPUs)", "N"),
    ];

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "YAML file of settings (keys as the flags, without --)", HelpName = "FILE" };
        var options = Settings.CreateOptions(Specs);
        var json = CommonOptions.Json();
        var command = new Command("eval", "Evaluate a model (with an adapter) on a benchmark: accuracy with a 95% confidence interval") { config, json };
        foreach (var o in options.Values) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var s = Settings.Resolve(Specs, parse.GetValue(config), parse, options);
            var runDir = s.String("run");
            var manifest = runDir is null ? null : AdaptedModel.ReadRun(runDir);
            string? FromRun(string key) => manifest?.Config.TryGetValue(key, out var v) == true ? v : null;
            var format = s.Choice("eval-format", "generation", "multiple-choice", "both");
            var limit = s.Int("eval-limit", 0);
            var batchSize = s.Int("eval-batch-size", 1, 4096);
            var maxNew = s.Int("max-new-tokens", 1, 4096);
            var template = s.String("prompt-template") ?? FromRun("prompt-template") ?? "alpaca";
            if (template is not ("alpaca" or "alpaca-short")) throw s.Invalid("prompt-template", $"must be alpaca or alpaca-short, got '{template}'");
            var perTask = s.IntOrNull("embedded-test-per-task", 1, 100_000)
                ?? int.Parse(FromRun("embedded-test-per-task") ?? "50", CultureInfo.InvariantCulture);
            // The test split depends on the training count it was generated with: take the run's (default 200).
            var trainPerTask = int.Parse(FromRun("embedded-train-per-task") ?? "200", CultureInfo.InvariantCulture);
            torch.set_num_threads(s.IntOrNull("threads", 1, 1024) ?? Environment.ProcessorCount);
            var data = s.RequiredString("data");
            var items = data == TrainSettings.Embedded ? RunData.EmbeddedTest(trainPerTask, perTask) : RunData.ReadFile(data, "auto", "data");
            if (limit > 0 && items.Count > limit) items = items.Take(limit).ToList();
            if (items.Count == 0) throw s.Invalid("data", "holds no examples");
            if (format != "generation" && items.Any(i => i.MultipleChoice is null))
                throw s.Invalid("eval-format", $"{format} needs multiple-choice data, but {data} is alpaca (generation only)");

            var baseModel = s.String("base-model") ?? manifest?.BaseModel ?? TrainSettings.Embedded;
            var adapter = s.String("adapter") ?? (runDir is null ? null : new RunDirectory(runDir).AdapterPath);
            using var model = AdaptedModel.Load(baseModel, adapter);
            var error = parse.InvocationConfiguration.Error;
            var predictions = runDir is null ? null : new RunDirectory(runDir).File(RunFiles.Predictions);
            var summary = new RunEvaluator(error, predictions).Evaluate(model.Model, model.Tokenizer, items, format, maxNew, template,
                data == TrainSettings.Embedded ? "embedded-test" : Path.GetFileName(data), batchSize);
            if (runDir is not null) new RunDirectory(runDir).WriteEvaluation(summary);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) Json.Write(output, summary);
            else WriteTable(output, summary);
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static void WriteTable(TextWriter output, EvaluationSummary summary)
    {
        var table = new TextTable(("format", false), ("task", false), ("correct", true), ("total", true), ("accuracy", true), ("95% CI", false));
        foreach (var r in summary.Rows)
            table.Add(r.Format, r.Task, r.Correct.ToString(CultureInfo.InvariantCulture), r.Total.ToString(CultureInfo.InvariantCulture),
                r.Accuracy.ToString("P1", CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"[{r.CiLow:P1}, {r.CiHigh:P1}]"));
        table.Write(output);
    }
}
