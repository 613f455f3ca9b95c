using System.CommandLine;
using MoLA.Cli.Benchmarks;
using MoLA.Cli.Output;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola bench ops</c>: per-call overhead of small MoLA.Torch ops and large-GEMM throughput, each
/// measured side by side with the same ops in Debian's python3-torch (the same libtorch 1.13),
/// interleaved in one run. Without python3-torch it reports the C# side and a warning.
/// </summary>
internal static class BenchOpsCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var threads = CommonOptions.Threads();
        var quick = new Option<bool>("--quick") { Description = "A fifth of the iterations, 3 rounds instead of 15 (a few seconds; for tests)" };
        var python = new Option<string>("--python")
        {
            Description = "Python interpreter with torch for the reference side",
            HelpName = "PATH",
            DefaultValueFactory = _ => PythonTorch.DefaultInterpreter,
        };
        python.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
                result.AddError("--python must name an interpreter, e.g. /usr/bin/python3");
        });

        var clock = new Option<string>("--clock")
        {
            Description = "What small-op timings count: wall (elapsed time) or thread-cpu (CPU time of the calling thread, steadier on a busy machine)",
            DefaultValueFactory = _ => BenchClock.Wall.Name(),
        };
        clock.AcceptOnlyFromAmong(BenchClock.Wall.Name(), BenchClock.ThreadCpu.Name());

        var command = new Command("ops", "Per-call overhead of small ops and fp32 GEMM GFLOP/s, C# (MoLA.Torch) side by side with PyTorch")
        {
            json,
            threads,
            quick,
            python,
            clock,
        };
        command.SetAction(parse =>
        {
            var settings = new OpsBenchSettings(parse.GetValue(threads), parse.GetValue(quick))
            {
                Clock = BenchClocks.Parse(parse.GetValue(clock)!),
            };
            var asJson = parse.GetValue(json);
            var err = parse.InvocationConfiguration.Error;
            Action<string>? progress = asJson ? null : m => err.WriteLine($"bench ops: {m}");
            var report = new OpsBenchmark(settings, parse.GetValue(python)!, progress).Run();
            var output = parse.InvocationConfiguration.Output;
            if (asJson) Json.Write(output, report);
            else WriteTable(output, report);
            if (report.Warning is not null && asJson) err.WriteLine($"mola: warning: {report.Warning}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteTable(TextWriter o, BenchOpsReport r)
    {
        o.WriteLine($"libtorch {r.TorchVersion}, {r.Threads} intra-op threads on both sides, {r.BuildConfiguration} build, {r.Clock} clock" +
            (r.Python is { } p ? $"; Python {p.PythonVersion} torch {p.TorchVersion} ({p.Executable})" : "; no Python side"));
        o.WriteLine();
        var t = new TextTable(("op", false), ("what", false), ("calls", true), ("C# ns/call", true), ("Python ns/call", true), ("C#/Python", true), ("best/best", true), ("C# B/call", true));
        foreach (var op in r.Ops)
            t.Add(op.Name, op.Description, op.Iterations.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                Format.Ns(op.CsharpNsPerCall), Format.Ns(op.PythonNsPerCall), Format.Ratio(op.Ratio), Format.Ratio(op.RatioOfBest),
                Format.Number(op.CsharpBytesPerCall, "0"));
        t.Write(o);
        o.WriteLine();
        o.WriteLine($"median C#/Python over small ops: {Format.Ratio(r.MedianSmallOpRatio)} (target <= {Format.Ratio(r.Targets.MedianSmallOpRatioMax)}); " +
            $"of best rounds: {Format.Ratio(r.MedianSmallOpRatioOfBest)}");
        o.WriteLine($"(ns/call: median of {r.Rounds} interleaved rounds per side; best/best: fastest round of each side)");
        o.WriteLine();
        var g = new TextTable(("fp32 GEMM", false), ("C# GFLOP/s", true), ("Python GFLOP/s", true), ("C#/Python", true));
        foreach (var x in r.Gemm)
            g.Add($"{x.N}x{x.N}", Format.Gflops(x.CsharpBestGflops), Format.Gflops(x.PythonBestGflops), Format.Ratio(x.GflopsRatio));
        g.Write(o);
        o.WriteLine($"(GFLOP/s: best of {r.Gemm.FirstOrDefault()?.Runs} products per side; target C#/Python >= {Format.Ratio(r.Targets.GemmGflopsRatioMin)})");
        o.WriteLine();
        o.WriteLine(r.Targets.Met switch
        {
            true => "targets met",
            false => "TARGETS NOT MET",
            null => "targets not evaluated (no Python side)",
        });
        if (r.Warning is not null) o.WriteLine($"WARNING: {r.Warning}");
    }
}
