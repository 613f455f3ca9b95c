using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Benchmarks;
using MoLA.Cli.Output;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola bench train-step</c>: tokens/s and MFU of full SFT steps of two MoE-LoRA LLaMA models
/// (<see cref="TrainStepShape.Tiny"/>, <see cref="TrainStepShape.Small"/>), side by side with the same
/// training loop in python3-torch, interleaved in one run.
/// </summary>
internal static class BenchTrainStepCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var threads = CommonOptions.Threads();
        var steps = new Option<int>("--steps") { Description = "timed steps per side and model (interleaved; median reported)", HelpName = "N", DefaultValueFactory = _ => 7 };
        var warmup = new Option<int>("--warmup") { Description = "untimed steps per side and model first", HelpName = "N", DefaultValueFactory = _ => 2 };
        var quick = new Option<bool>("--quick") { Description = "the tiny model on a 2 x 32 batch, small GEMM probe, 1 warm-up and 2 steps unless given (seconds; for tests)" };
        var python = new Option<string>("--python")
        {
            Description = "Python interpreter with torch for the reference side",
            HelpName = "PATH",
            DefaultValueFactory = _ => PythonTorch.DefaultInterpreter,
        };
        var noPython = new Option<bool>("--no-python") { Description = "C# side only" };
        var only = new Option<string?>("--model") { Description = "run only this model: tiny or small (default: both)", HelpName = "NAME" };
        only.AcceptOnlyFromAmong(TrainStepShape.Tiny.Name, TrainStepShape.Small.Name);
        var command = new Command("train-step", "Tokens/s and MFU of full SFT training steps (forward, loss, backward, clip, AdamW), C# side by side with python3-torch")
        {
            json, threads, steps, warmup, quick, python, noPython, only,
        };
        command.SetAction(parse =>
        {
            var q = parse.GetValue(quick);
            var n = parse.GetResult(steps) is { Implicit: false } ? parse.GetValue(steps) : q ? 2 : parse.GetValue(steps);
            var w = parse.GetResult(warmup) is { Implicit: false } ? parse.GetValue(warmup) : q ? 1 : parse.GetValue(warmup);
            if (n < 1) throw new UsageException($"--steps must be at least 1, got {n}");
            if (w < 0) throw new UsageException($"--warmup must not be negative, got {w}");
            var interpreter = parse.GetValue(python);
            if (string.IsNullOrWhiteSpace(interpreter)) throw new UsageException("--python must name an interpreter, e.g. /usr/bin/python3");
            var name = parse.GetValue(only);
            if (q && name is not null) throw new UsageException("--quick runs its own small batch of the tiny model; leave out --model");
            IReadOnlyList<TrainStepShape> models = q ? [TrainStepShape.Quick]
                : new[] { TrainStepShape.Tiny, TrainStepShape.Small }.Where(m => name is null || m.Name == name).ToList();
            var settings = new TrainStepBenchSettings(parse.GetValue(threads), n, w, models,
                parse.GetValue(noPython) ? null : interpreter);
            if (q) settings = settings with { GemmSizes = [512], GemmWarmupRuns = 1, GemmRuns = 3 };
            var asJson = parse.GetValue(json);
            var err = parse.InvocationConfiguration.Error!;
            var report = new TrainStepBenchmark(settings, asJson ? null : m => err.WriteLine($"bench train-step: {m}")).Run();
            var output = parse.InvocationConfiguration.Output!;
            if (asJson)
            {
                Json.Write(output, report);
                if (report.Warning is not null) err.WriteLine($"mola: warning: {report.Warning}");
            }
            else
            {
                WriteTable(output, report);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteTable(TextWriter o, TrainStepReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"libtorch {r.TorchVersion}, {r.Threads} threads on both sides, {r.BuildConfiguration} build, OMP_WAIT_POLICY {r.OmpWaitPolicy ?? "unset"}; " +
            (r.PythonInfo is { } p ? $"Python {p.PythonVersion} torch {p.TorchVersion}" : "no Python side"));
        o.WriteLine(string.Format(inv, "fp32 GEMM peak {0:F1} GFLOP/s ({1} x {1}); {2} warm-up + {3} timed steps per side, interleaved, median", r.GemmPeakGflops, r.GemmPeakN, r.Warmup, r.Steps));
        o.WriteLine();
        var t = new TextTable(("model", false), ("tokens/step", true), ("GFLOP/step", true), ("C# s/step", true), ("Py s/step", true),
            ("C# tok/s", true), ("Py tok/s", true), ("C#/Py", true), ("paired", true), ("CPU Py/C#", true), ("C# MFU", true), ("Py MFU", true));
        foreach (var m in r.Models)
            t.Add(m.Shape.Name, m.TokensPerStep.ToString(inv), m.ModelGflopsPerStep.ToString("F2", inv),
                m.Csharp.MedianSeconds.ToString("F3", inv), m.Python?.MedianSeconds.ToString("F3", inv) ?? "-",
                m.Csharp.TokensPerSecond.ToString("F0", inv), m.Python?.TokensPerSecond.ToString("F0", inv) ?? "-",
                Format.Ratio(m.TokensPerSecondRatio), Format.Ratio(m.PairedRatio), Format.Ratio(m.CpuRatio),
                m.Csharp.Mfu.ToString("P1", inv), m.Python?.Mfu.ToString("P1", inv) ?? "-");
        t.Write(o);
        o.WriteLine();
        var tg = r.Targets;
        o.WriteLine($"C#/Python tokens/s target >= {tg.RatioMin:F1} (goal {tg.RatioGoal:F1}): " +
            (tg.Met is null ? "not judged (no Python side)" : tg.Met.Value ? (tg.GoalMet == true ? "met, goal met" : "met, goal missed") : "MISSED"));
        if (r.Warning is not null) o.WriteLine($"warning: {r.Warning}");
    }
}
