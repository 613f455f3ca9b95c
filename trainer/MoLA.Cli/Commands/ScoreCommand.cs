using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Configuration;
using MoLA.Cli.Training;
using MoLA.Torch;
using MoLA.Training.Data;
using MoLA.Training.Evaluation;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola score</c>: per-example log-likelihood of each response given its prompt (sum over the response's tokens,
/// token count, mean), under a base model with an optional adapter. <c>--json</c> prints one record per example.
/// </summary>
internal static class ScoreCommand
{
    public static IReadOnlyList<SettingSpec> Specs { get; } =
    [
        new("data", "JSONL to score: alpaca (scores 'output') or multiple-choice (scores the gold 'The answer is X.')", "FILE"),
        new("run", "Run directory: use its base model, adapter/ and prompt template", "DIR"),
        new("base-model", "Hugging Face checkpoint directory or 'embedded' (default: the run's, else embedded)", "DIR"),
        new("adapter", "Adapter directory, or 'none' (default: the run's adapter/)", "DIR"),
        new("prompt-template", "alpaca | alpaca-short (default: the run's, else alpaca)", "NAME"),
        new("threads", "libtorch intra-op threads (default: logical CPUs)", "N"),
    ];

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "YAML file of settings (keys as the flags, without --)", HelpName = "FILE" };
        var options = Settings.CreateOptions(Specs);
        var json = CommonOptions.Json();
        var command = new Command("score", "Log-likelihood of each example's response given its prompt") { config, json };
        foreach (var o in options.Values) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var s = Settings.Resolve(Specs, parse.GetValue(config), parse, options);
            var runDir = s.String("run");
            var manifest = runDir is null ? null : AdaptedModel.ReadRun(runDir);
            var template = s.String("prompt-template") ?? (manifest?.Config.TryGetValue("prompt-template", out var t) == true ? t : "alpaca");
            if (template is not ("alpaca" or "alpaca-short")) throw s.Invalid("prompt-template", $"must be alpaca or alpaca-short, got '{template}'");
            torch.set_num_threads(s.IntOrNull("threads", 1, 1024) ?? Environment.ProcessorCount);
            var examples = RunData.ReadFile(s.RequiredString("data"), "auto", "data").Select(i => i.Generation).ToList();
            var adapter = s.String("adapter") ?? (runDir is null ? null : Path.Combine(runDir, MoLA.Training.Runs.RunFiles.AdapterDir));
            using var model = AdaptedModel.Load(s.String("base-model") ?? manifest?.BaseModel ?? TrainSettings.Embedded, adapter);
            var evaluator = new Evaluator(model.Model, model.Tokenizer, new EvaluatorOptions { Template = PromptTemplate.Named(template) });
            var scores = evaluator.ScoreResponses(examples);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                output.WriteLine(EvaluationJson.Serialize(scores));
                return ExitCodes.Ok;
            }
            foreach (var sc in scores)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sc.Index,6}  {sc.SumLogProb,12:F4}  {sc.ResponseTokens,6} tokens  mean {sc.MeanLogProb,9:F4}"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
