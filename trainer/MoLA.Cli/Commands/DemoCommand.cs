using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MoLA.Cli.Cluster;
using MoLA.Cli.Demo;
using MoLA.Cli.Sweeps;
using MoLA.Cli.Output;
using MoLA.Silo;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola demo</c>, the main job with no arguments: a sweep on an embedded cluster inside this process, on the shipped
/// tiny base and the built-in benchmark: MoLA's inverted triangle 2468 and its mirror 8642, a uniform allocation with
/// the same expert budget, AlphaLoRA from the base's spectra at that budget, MoLA 2468 with MoELoRA's contrastive loss,
/// and a plain LoRA whose rank matches 2468's trainable parameters (the baseline); then the untuned base on the same
/// items, and summary.json. Each trial is a `mola train` process started by the cluster's node agent; the
/// demo follows them live and ends with the leaderboard, the paired comparisons against plain LoRA, MoLA's mirror claim, and the report.
/// The sweep file it ran is written beside the results, to run again with `mola sweep` on a real cluster.
/// </summary>
internal static class DemoCommand
{
    /// <summary>Greedy budget: the benchmark's longest worked answer plus EOS fits with room (a test checks it).</summary>
    internal const int MaxNewTokens = 80;

    public static Command Create()
    {
        var outDir = new Option<string?>("--out") { Description = "Directory for the sweep's trials and results (default: runs/demo-<time>)", HelpName = "DIR" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps per trial", DefaultValueFactory = _ => 120 };
        var quick = new Option<bool>("--quick") { Description = "A few steps and a small eval set (a smoke test of the pipeline, not a comparison)" };
        var threads = CommonOptions.Threads();
        var json = CommonOptions.Json();
        var command = new Command("demo", "Sweep MoLA 2468/8642, uniform, AlphaLoRA, MoLA + contrastive and plain LoRA on the built-in benchmark, with paired comparisons")
        {
            outDir, steps, quick, threads, json,
        };
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
            Directory.CreateDirectory(root);
            var clock = Stopwatch.StartNew();
            var sweepPath = Path.Combine(root, "demo-sweep.yaml");
            File.WriteAllText(sweepPath, SweepYaml(n, isQuick));
            var request = SweepExpansion.Expand(SweepFile.Load(sweepPath), error);

            // One CPU slot with every core: on the 2-core machine one trial on 2 threads trains the tiny base faster than
            // two trials on 1 thread each (0.6 against 0.78 s per step in all; docs/PERFORMANCE.md).
            const int slots = 1;
            var state = Path.Combine(root, ".cluster");
            SweepView final;
            using (var silo = new InProcessSilo(state, slots, runRoot: root, threadsPerSlot: parse.GetValue(threads)))
            {
                var sweep = silo.Client.SubmitSweep(request).GetAwaiter().GetResult();
                error.WriteLine($"demo: {request.Trials!.Count} trials of {n} steps on an embedded cluster of {slots} CPU slot, into {sweep.Directory}");
                final = new SweepProgress(error, SweepProgress.Interactive(error))
                    .Follow(() => silo.Client.Sweep(sweep.SweepId).GetAwaiter().GetResult(), TimeSpan.FromSeconds(1));
            }
            TryDelete(state);
            var outcome = SweepOutcome.Write(final);
            error.WriteLine("demo: the untuned base on the same items");
            var untuned = UntunedBase.Evaluate(root, TestPerTask, isQuick ? 10 : 0, "multiple-choice", MaxNewTokens, EvalBatchSize,
                parse.GetValue(threads), error);
            var summary = DemoSummary.Build(outcome.Results, untuned, outcome.Files["report"], clock.Elapsed.TotalSeconds);
            var summaryPath = DemoSummary.Write(root, summary);
            if (parse.GetValue(json))
            {
                Json.Write(output, new { Directory = root, SweepFile = sweepPath, Report = outcome.Files["report"], Summary = summaryPath,
                    Seconds = clock.Elapsed.TotalSeconds, Sweep = final, outcome.Results, Base = summary.Entries[0] });
            }
            else
            {
                SweepOutcome.Print(output, final, outcome);
                foreach (var a in summary.Entries[0].Accuracy)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"untuned base (no adapter), {a.Format}: {a.Accuracy:P1} [{a.Low:P1}, {a.High:P1}] on {a.Items} items; chance is {summary.Chance:P0}"));
                output.WriteLine($"summary: {summaryPath}");
                output.WriteLine($"sweep file: {sweepPath}   ({ProgressDisplay.Duration(clock.Elapsed.TotalSeconds)} in all)");
            }
            return final.State == "succeeded" ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>Test items per task family: 1,000 in all, so a 95% interval is about +-3 points wide at 70%.</summary>
    internal const int TestPerTask = 200;

    /// <summary>Evaluation batch: on the tiny base, 128 prompts at a time decode 1.7x faster than 16 (docs/PERFORMANCE.md).</summary>
    internal const int EvalBatchSize = 128;

    /// <summary>
    /// The demo's sweep. The items answer with the option's text ("The answer is 82.", graded on the value: the tiny base
    /// computes values but cannot map them to option letters), and training uses that answer right after the prompt,
    /// which is exactly what multiple-choice scoring reads; generation reads the same answer. The settings come from the
    /// grid measured in docs/PERFORMANCE.md (answer form, training form, learning rate, steps).
    /// </summary>
    internal static string SweepYaml(int steps, bool quick) => string.Create(CultureInfo.InvariantCulture, $$"""
        # The sweep `mola demo` ran. Run it on a cluster with: mola sweep demo-sweep.yaml --wait
        name: demo
        base:
          base-model: embedded
          steps: {{steps}}
          batch-size: 16
          lr: 6e-3
          loss-on: answer
          embedded-train-format: multiple-choice
          embedded-test-per-task: {{TestPerTask}}
          prompt-template: alpaca-short
          cutoff-len: 256
          eval-format: both
          max-new-tokens: {{MaxNewTokens}}
          eval-batch-size: {{EvalBatchSize}}
          log-every: 25
        {{(quick ? "  eval-limit: 10\n" : "")}}allocation:
          - 2468              # MoLA's inverted triangle: more experts in the higher layers
          - 8642              # its mirror
          - uniform           # the same expert budget on every layer
          - alphalora         # AlphaLoRA: the same budget, placed by the base's weight spectra
          - name: mola-2468-contrastive
            mola: 2468
            contrastive-loss-coef: 0.1   # MoELoRA's contrastive loss on top of MoLA 2468
          - name: lora        # plain LoRA at 2468's trainable parameters
            lora: {match-parameters-of: mola-2468}
        seeds: [42]
        metric: multiple-choice
        baseline: lora
        trial-retries: 1

        """);

    private static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
