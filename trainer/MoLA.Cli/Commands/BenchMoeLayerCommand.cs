using System.CommandLine;
using MoLA.Cli.Output;
using MoLA.Model.MoeLora;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola bench moe-layer</c>: forward+backward of one MoE-LoRA linear (1024 x 1024, 2048 tokens,
/// r 8, k 2) for each execution path and N, against plain LoRA and the frozen base, in one run.
/// </summary>
internal static class BenchMoeLayerCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var threads = CommonOptions.Threads();
        var rounds = new Option<int>("--rounds") { Description = "timed rounds (every variant once per round, order rotated)", DefaultValueFactory = _ => 9 };
        var quick = new Option<bool>("--quick") { Description = "256 tokens and 3 rounds (seconds; for tests)" };
        var command = new Command("moe-layer", "Time the MoE-LoRA layer's loop, dense-gated, grouped and automatic paths against plain LoRA and the base")
        {
            json, threads, rounds, quick,
        };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(rounds);
            if (n < 1) throw new UsageException($"--rounds must be at least 1, got {n}");
            var options = new MoeLayerBenchOptions { Threads = parse.GetValue(threads), Rounds = n };
            if (parse.GetValue(quick)) options = options with { Tokens = 256, Rounds = 3, WarmupRounds = 1 };
            var asJson = parse.GetValue(json);
            var err = parse.InvocationConfiguration.Error!;
            var result = MoeLayerBenchmark.Run(options, asJson ? null : m => err.WriteLine($"bench moe-layer: {m}"));
            var output = parse.InvocationConfiguration.Output!;
            if (asJson) Json.Write(output, result);
            else output.Write(MoeLayerBenchmark.FormatTable(result));
            return ExitCodes.Ok;
        });
        return command;
    }
}
