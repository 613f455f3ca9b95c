using System.CommandLine;
using System.Globalization;
using MoLA.Cli.Benchmarks;
using MoLA.Cli.Output;
using MoLA.Torch;

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
        var device = new Option<string>("--device") { Description = "cpu | cuda (both routes run there; results are copied back, which waits for the GPU)", DefaultValueFactory = _ => "cpu" };
        device.AcceptOnlyFromAmong("cpu", "cuda");
        var command = new Command("alpha", "Time PL_Alpha_Hill by float64 Gram eigenvalues against float32 svdvals (4096 x 4096 and 4096 x 14336)")
        {
            json, threads, repeats, quick, device,
        };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(repeats);
            if (n < 1) throw new UsageException($"--repeats must be at least 1, got {n}");
            var asJson = parse.GetValue(json);
            var err = parse.InvocationConfiguration.Error!;
            var onCuda = parse.GetValue(device) == "cuda";
            if (onCuda && !torch.cuda.is_available()) throw new UsageException("--device cuda: no CUDA GPU is available to this build of libmola_torch");
            var report = AlphaBenchmark.Run(parse.GetValue(threads), n, parse.GetValue(quick), asJson ? null : m => err.WriteLine($"bench alpha: {m}"),
                onCuda ? Device.CUDA() : Device.CPU);
            var o = parse.InvocationConfiguration.Output!;
            if (asJson) { Json.Write(o, report); return ExitCodes.Ok; }
            var inv = CultureInfo.InvariantCulture;
            var t = new TextTable(("matrix", false), ("gram s", true), ("svdvals s", true), ("speed-up", true), ("alpha (gram)", true), ("alpha (svdvals)", true), ("|diff|", true));
            foreach (var r in report.Rows)
                t.Add(r.Shape, r.GramSeconds.ToString("F2", inv), r.SvdSeconds.ToString("F2", inv), r.Speedup.ToString("F2", inv) + "x",
                    r.GramAlpha.ToString("F6", inv), r.SvdAlpha.ToString("F6", inv), r.AlphaDifference.ToString("E1", inv));
            t.Write(o);
            o.WriteLine($"libtorch {report.TorchVersion} on {report.Device}, {report.Threads} threads, median of {report.Repeats}; targets: speed-up >= {report.TargetSpeedupMin}x, |diff| <= {report.TargetAlphaDifferenceMax}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
