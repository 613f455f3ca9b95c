using MoLA.Training.Runs;

namespace MoLA.Reporting.Tests;

/// <summary>A temporary folder removed at the end of the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mola-report-" + Guid.NewGuid().ToString("N"));
    public string Sub(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } // best effort
    }
}

/// <summary>Hand-written run directories, written with RunDirectory's own writers.</summary>
internal static class RunFixtures
{
    public static readonly int[] Experts2468 = [2, 2, 4, 4, 6, 6, 8, 8];
    public static readonly string[] Modules = ["q_proj", "v_proj", "down_proj"];

    public static RunManifest Manifest(string name, int[] experts, string method = "moe-lora", int totalSteps = 40) => new(
        name, method, "2026-11-22T10:00:00Z", "/models/tiny-llama",
        new AllocationSummary("mola", "2468", experts, experts.Select(e => Math.Min(2, e)).ToArray(), experts.Select(_ => 8).ToArray()),
        TrainableParameters: 1_234_567, TotalSteps: totalSteps,
        Config: new Dictionary<string, string> { ["lr"] = "3e-4", ["seed"] = "7" });

    /// <summary>Loss that falls with a wiggle, so raw and smoothed lines differ.</summary>
    public static double Loss(int step, double offset = 0) => 3.0 * Math.Exp(-step / 15.0) + 0.5 + 0.2 * Math.Sin(step * 1.7) + offset;

    public static IReadOnlyList<StepRecord> Steps(int count, double offset = 0, double aux = 0) => Enumerable.Range(1, count)
        .Select(s => new StepRecord(s, Loss(s, offset), aux == 0 ? 0 : aux + 0.01 * Math.Cos(s), 3e-4 * Math.Min(1, s / 5.0), 1000 + s,
            2500.5, 1.25, 0.4, s % 2 == 0 ? 0.31 : null))
        .ToList();

    /// <summary>Token counts that differ per (layer, module, expert): (layer + 1) * (expert + 1) + module index * 3.</summary>
    public static ExpertLoadReport Load(int[] experts) => new(40,
        experts.SelectMany((n, l) => Modules.Select((m, mi) =>
            new ModuleExpertLoad(l, m, Enumerable.Range(0, n).Select(e => (long)((l + 1) * (e + 1) + mi * 3)).ToArray()))).ToList());

    public static EvaluationSummary Eval(double shift = 0, ContinualSummary? continual = null) => new(
    [
        Row("bench", "generation", "arith", 60 + (int)(shift * 100), 100),
        Row("bench", "generation", "all", 120 + (int)(shift * 200), 200),
        Row("bench", "multiple_choice", "all", 150, 200),
    ], continual);

    public static AccuracyRow Row(string dataset, string format, string task, int correct, int total)
    {
        var p = correct / (double)total;
        var half = 1.96 * Math.Sqrt(p * (1 - p) / total);
        return new AccuracyRow(dataset, format, task, correct, total, p, Math.Max(0, p - half), Math.Min(1, p + half));
    }

    /// <summary>A complete run: manifest, steps, expert load and evaluation (each optional).</summary>
    public static RunDirectory Write(string dir, string name, int[]? experts = null, int steps = 40, bool load = true, bool eval = true,
        double lossOffset = 0, double aux = 0, double evalShift = 0)
    {
        experts ??= Experts2468;
        var run = new RunDirectory(dir);
        run.WriteManifest(Manifest(name, experts));
        run.ResetSteps();
        foreach (var s in Steps(steps, lossOffset, aux)) run.AppendStep(s);
        if (load) run.WriteExpertLoad(Load(experts));
        if (eval) run.WriteEvaluation(Eval(evalShift));
        return run;
    }
}
