using MoLA.Reporting.Sweeps;
using MoLA.Training.Evaluation;
using MoLA.Training.Runs;

namespace MoLA.Reporting.Tests;

/// <summary>
/// A finished sweep written as real trial run directories (run.json, metrics.jsonl, expert_load.json, eval.json and
/// predictions.jsonl the way RunEvaluator writes them). Every trial answers the same 20 generation items (tasks "arith":
/// 0-9, "logic": 10-19); which ones it gets right is chosen so that the statistics can be computed by hand:
/// <code>
/// configuration  allocation  seed: correct items            accuracy
/// lora (base)    1 x 8       1: 0-9        2: 0-10          0.50, 0.55
/// mola-2468      2468        1: 0-15  2: 0-15  3: 0-13      0.80, 0.80, 0.70
/// mola-8642      8642        1: 0-9   2: 0-8 and 12         0.50, 0.50   (seed 3 failed, seed 4 stopped)
/// uniform-5555   5555        1: 0-8 and 10-13               0.65         (one seed: Wilson)
/// </code>
/// </summary>
internal static class SweepFixtures
{
    public const int Items = 20;
    public static readonly int[] Lora = [1, 1, 1, 1, 1, 1, 1, 1];
    public static readonly int[] M2468 = [2, 2, 4, 4, 6, 6, 8, 8];
    public static readonly int[] M8642 = [8, 8, 6, 6, 4, 4, 2, 2];
    public static readonly int[] U5555 = [5, 5, 5, 5, 5, 5, 5, 5];

    public static IEnumerable<int> Range(int first, int last) => Enumerable.Range(first, last - first + 1);
    public static string Gold(int item) => "ABCD"[item % 4].ToString();

    /// <param name="swapMirror">2468 and 8642 trade answers (not allocations): the mirror statement is then contradicted.</param>
    /// <param name="names">Configuration names to use instead of the defaults (lora, mola-2468, mola-8642, uniform-5555), e.g. hostile ones.</param>
    public static SweepInput Write(TempDir tmp, bool swapMirror = false, string[]? names = null)
    {
        names ??= ["lora", "mola-2468", "mola-8642", "uniform-5555"];
        var (lora, m2468, m8642, u5555) = (names[0], names[1], names[2], names[3]);
        int[] Good2468(int seed) => seed == 3 ? Range(0, 13).ToArray() : Range(0, 15).ToArray();
        int[] Good8642(int seed) => seed == 1 ? Range(0, 9).ToArray() : [.. Range(0, 8), 12];
        var trials = new List<SweepTrialInput>
        {
            Trial(tmp, lora, 1, Lora, Range(0, 9), 4_096, "lora", wall: 60),
            Trial(tmp, lora, 2, Lora, Range(0, 10), 4_096, "lora", wall: 80),
        };
        foreach (var seed in new[] { 1, 2, 3 })
            trials.Add(Trial(tmp, m2468, seed, M2468, swapMirror && seed < 3 ? Good8642(seed) : Good2468(seed), 41_984, lossOffset: 0.1));
        foreach (var seed in new[] { 1, 2 })
            trials.Add(Trial(tmp, m8642, seed, M8642, swapMirror ? Good2468(seed) : Good8642(seed), 41_984, lossOffset: 0.1));
        trials.Add(Trial(tmp, u5555, 1, U5555, [.. Range(0, 8), .. Range(10, 13)], 40_960, lossOffset: 0.3));

        // A failed trial whose directory holds a broken run.json: reading it would throw, so the test sees it is skipped.
        var failed = tmp.Sub("trial-failed");
        Directory.CreateDirectory(failed);
        File.WriteAllText(Path.Combine(failed, RunFiles.Manifest), "{ not json");
        trials.Add(new SweepTrialInput("t-8642-3", m8642, 3, "failed", failed, "exit code 137: out of memory (after 2 retries)", null));
        trials.Add(new SweepTrialInput("t-8642-4", m8642, 4, "stopped", null, "asha: rung 40: mean 0.31 over 2 seeds below the top 1/3 cutoff 0.42", null));

        SweepConfigurationInput Config(string name, string entry) => new(name, entry, new Dictionary<string, string> { ["lr"] = "3e-4", ["steps"] = "40" });
        return new SweepInput("sweep-7", "allocation sweep", tmp.Sub("sweep"), lora, "generation",
            [Config(lora, "lora rank 42 (matches mola-2468's 41,984 parameters)"), Config(m2468, "mola 2468"),
             Config(m8642, "mola 8642"), Config(u5555, "uniform 5")],
            trials, [(m2468, m8642)]);
    }

    /// <summary>One succeeded trial: its run directory with the given items right.</summary>
    public static SweepTrialInput Trial(TempDir tmp, string config, int seed, int[] experts, IEnumerable<int> correct, long parameters,
        string method = "moe-lora", double lossOffset = 0, double? wall = null, Func<int, string>? gold = null)
    {
        var dir = tmp.Sub($"trial-{Guid.NewGuid():N}");
        var run = new RunDirectory(dir);
        run.WriteManifest(RunFixtures.Manifest(config, experts, method) with { TrainableParameters = parameters });
        run.ResetSteps();
        foreach (var s in RunFixtures.Steps(40, lossOffset)) run.AppendStep(s);
        if (method != "lora") run.WriteExpertLoad(RunFixtures.Load(experts));
        WriteEvaluation(run, correct.ToHashSet(), gold ?? Gold);
        return new SweepTrialInput($"t-{config}-{seed}", config, seed, "succeeded", dir, null, wall);
    }

    /// <summary>predictions.jsonl (one line per item, as RunEvaluator writes it) and the eval.json rows that agree with it.</summary>
    public static void WriteEvaluation(RunDirectory run, IReadOnlySet<int> correct, Func<int, string> gold)
    {
        var predictions = Enumerable.Range(0, Items).Select(i => new ItemPrediction(i, i < 10 ? "arith" : "logic", gold(i),
            correct.Contains(i) ? gold(i) : "Z", correct.Contains(i), Output: "The answer is X.", Finish: "stop", NewTokens: 5)).ToList();
        MoLA.Torch.IO.AtomicFile.WriteLines(run.File(RunFiles.Predictions),
            predictions.Select(p => EvaluationJson.Serialize(new { mode = "generation", prediction = p }, indented: false)));
        int Right(string? task) => predictions.Count(p => p.Correct && (task is null || p.Task == task));
        run.WriteEvaluation(new EvaluationSummary(
        [
            RunFixtures.Row("bench", "generation", "all", Right(null), Items),
            RunFixtures.Row("bench", "generation", "arith", Right("arith"), 10),
            RunFixtures.Row("bench", "generation", "logic", Right("logic"), 10),
        ], null));
    }
}
