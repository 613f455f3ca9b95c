using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MoLA.Cli.Configuration;
using MoLA.Cli.Output;
using MoLA.Cli.Training;
using MoLA.Model.Allocation;
using MoLA.Model.ParameterCounting;
using MoLA.Reporting;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola demo</c>, the main job with no arguments: on the shipped tiny base and the built-in benchmark, fine-tune
/// (1) MoLA's inverted triangle 2468, (2) a uniform allocation with the same expert budget, (3) a plain LoRA whose
/// rank matches the MoE-LoRA's trainable parameters; evaluate all three (generation and multiple choice, 95% CI),
/// print a comparison table and write a comparison report.
/// </summary>
internal static class DemoCommand
{
    /// <summary>Greedy budget: the benchmark's longest worked answer plus EOS fits with room (a test checks it).</summary>
    internal const int MaxNewTokens = 80;

    public static Command Create()
    {
        var outDir = new Option<string?>("--out") { Description = "Directory for the three runs and the report (default: runs/demo-<time>)", HelpName = "DIR" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps per run", DefaultValueFactory = _ => 120 };
        var quick = new Option<bool>("--quick") { Description = "A few steps and a small eval set (a smoke test of the pipeline, not a comparison)" };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var command = new Command("demo", "Fine-tune and compare MoLA 2468, uniform and plain LoRA on the built-in benchmark") { outDir, steps, quick, threads, json };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var isQuick = parse.GetValue(quick);
            var n = isQuick ? 3 : parse.GetValue(steps);
            if (n < 1) throw new UsageException($"--steps must be >= 1, got {n}");
            var root = Path.GetFullPath(parse.GetValue(outDir)
                ?? Path.Combine("runs", "demo-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
            if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
                throw new UsageException($"--out: {root} is not empty; choose a new directory");
            var baseDir = ModelResolver.ResolveBaseModel(TrainSettings.Embedded);
            var shape = MoLA.Model.Llama.LlamaConfig.Load(baseDir).ToShape();
            var layers = shape.NumHiddenLayers;
            var loraRank = MatchingLoraRank(shape, "2468", rank: 8);
            var uniform = (int)Math.Round(AllocationShape.ParseExpertCounts("2468", layers).Average());

            var common = new Dictionary<string, string>
            {
                ["base-model"] = baseDir,
                ["steps"] = n.ToString(CultureInfo.InvariantCulture),
                ["batch-size"] = "16",
                ["lr"] = "3e-3",
                ["loss-on"] = "answer",
                // Each item in both answer forms: the worked answer that generation is judged on, and "The answer is X."
                // right after the prompt, which is exactly what multiple-choice scoring reads (trained on the worked form
                // alone, the model never sees that continuation and multiple choice measures nothing).
                ["embedded-train-format"] = "both",
                ["prompt-template"] = "alpaca-short",
                ["cutoff-len"] = "256",
                ["eval-format"] = "both",
                ["max-new-tokens"] = MaxNewTokens.ToString(CultureInfo.InvariantCulture),
                ["threads"] = parse.GetValue(threads).ToString(CultureInfo.InvariantCulture),
                ["log-every"] = "25",
            };
            if (isQuick) common["eval-limit"] = "10";
            (string Name, Dictionary<string, string> Settings)[] runs =
            [
                ("mola-2468", new() { ["method"] = "moe-lora", ["strategy"] = "mola", ["shape"] = "2468" }),
                ($"uniform-{uniform}", new() { ["method"] = "moe-lora", ["strategy"] = "uniform", ["experts"] = uniform.ToString(CultureInfo.InvariantCulture) }),
                ($"lora-r{loraRank}", new() { ["method"] = "lora", ["rank"] = loraRank.ToString(CultureInfo.InvariantCulture) }),
            ];
            error.WriteLine($"demo: base {baseDir}, {runs.Length} runs of {n} steps into {root}");
            var results = new List<TrainResult>();
            var clock = Stopwatch.StartNew();
            foreach (var (name, extra) in runs)
            {
                var pairs = common.Concat(extra).Append(new("out", Path.Combine(root, name))).Append(new("name", name));
                var settings = TrainSettings.From(Settings.FromPairs(TrainSettings.Specs, pairs));
                error.WriteLine($"== {name}");
                var interactive = ReferenceEquals(error, Console.Error) && ProgressDisplay.StderrIsInteractive;
                results.Add(new TrainRun(settings, error, interactive, new RunEvaluator(error, Path.Combine(settings.Out, MoLA.Training.Runs.RunFiles.Predictions))).Execute());
            }
            var report = HtmlReport.Write(root);
            if (parse.GetValue(json))
            {
                Json.Write(output, new { Directory = root, Report = report.Path, Seconds = clock.Elapsed.TotalSeconds, Runs = results });
                return ExitCodes.Ok;
            }
            WriteComparison(output, results);
            output.WriteLine();
            output.WriteLine($"report: {report.Path}   ({ProgressDisplay.Duration(clock.Elapsed.TotalSeconds)} in all)");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The plain-LoRA rank whose A and B parameters come closest to the MoE-LoRA's routers, A and B.</summary>
    internal static int MatchingLoraRank(LlamaShape shape, string allocation, int rank)
    {
        var moe = TrainableParameterCounter.Count(shape, ExpertAllocation.Parse(allocation, shape.NumHiddenLayers, rank: rank.ToString(CultureInfo.InvariantCulture))).Total;
        var perRank = TrainableParameterCounter.Count(shape, ExpertAllocation.Parse("1", shape.NumHiddenLayers, "1", "1")).Lora;
        return Math.Max(1, (int)Math.Round((double)moe / perRank));
    }

    private static void WriteComparison(TextWriter output, IReadOnlyList<TrainResult> results)
    {
        var inv = CultureInfo.InvariantCulture;
        var table = new TextTable(("run", false), ("experts per layer", false), ("trainable", true), ("final loss", true),
            ("generation acc [95% CI]", false), ("multiple-choice acc [95% CI]", false), ("time", true));
        foreach (var r in results)
        {
            string Acc(string format) => r.Evaluation?.Rows.FirstOrDefault(x => x.Format == format && x.Task == "all") is { } a
                ? string.Create(inv, $"{a.Accuracy:P1} [{a.CiLow:P1}, {a.CiHigh:P1}]") : "-";
            table.Add(r.Name, string.Join(",", r.Allocation.Experts), r.TrainableParameters.ToString("N0", inv), r.FinalLoss.ToString("F3", inv),
                Acc("generation"), Acc("multiple_choice"), ProgressDisplay.Duration(r.Seconds));
        }
        table.Write(output);
    }
}
