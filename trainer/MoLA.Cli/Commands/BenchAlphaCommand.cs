using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Benchmarks;
using MoLA.Cli.Output;

namespace MoLA.Cli.Commands;

/// <summary><c>mola bench alpha</c>: the AlphaLoRA analyzer's two ESD routes on LLaMA-sized matrices, side by side.</summary>
internal static class BenchAlphaCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var threads = CommonOptions.Threads();
        var repeats = new Option<int>("--repeats") { Description = "timed runs per route and matrix (median reported)", DefaultValueFactory = _ => 3 };
        var quick = new Option<bool>("--quick") { Description = "small matrices (512 x 512, 512 x 1792): seconds instead of minutes" };
        var command = new Command("alpha", "Time PL_Alpha_Hill by float64 Gram eigenvalues against float32 svdvals (4096 x 4096 and 4096 x 14336)")
        {
            json, threads, repeats, quick,
        };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(repeats);
            if (n < 1) throw new UsageException($"--repeats must be at least 1, got {n}");
            var asJson = parse.GetValue(json);
            var err = parse.InvocationConfiguration.Error!;
            var report = AlphaBenchmark.Run(parse.GetValue(threads), n, parse.GetValue(quick), asJson ? null : m => err.WriteLine($"bench alpha: {m}"));
            var o = parse.InvocationConfiguration.Output!;
            if (asJson) { Json.Write(o, report); return ExitCodes.Ok; }
            var inv = CultureInfo.InvariantCulture;
            var t = new TextTable(("matrix", false), ("gram s", true), ("svdvals s", true), ("speed-up", true), ("alpha (gram)", true), ("alpha (svdvals)", true), ("|diff|", true));
            foreach (var r in report.Rows)
                t.Add(r.Shape, r.GramSeconds.ToString("F2", inv), r.SvdSeconds.ToString("F2", inv), r.Speedup.ToString("F2", inv) + "x",
                    r.GramAlpha.ToString("F6", inv), r.SvdAlpha.ToString("F6", inv), r.AlphaDifference.ToString("E1", inv));
            t.Write(o);
            o.WriteLine($"libtorch {report.TorchVersion}, {report.Threads} threads, median of {report.Repeats}; targets: speed-up >= {report.TargetSpeedupMin}x, |diff| <= {report.TargetAlphaDifferenceMax}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
