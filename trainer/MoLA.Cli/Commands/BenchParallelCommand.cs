using System.CommandLine;
using System.Globalization;
using System.Text;
using MoLA.Cli.Output;
using MoLA.Parallel.Benchmarks;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola bench parallel</c>: step time split into compute and communication for 1 rank, DP = 2 and EP = 2 on
/// the same model and global batch. Each rank is this executable started again with <c>--as-rank</c>.
/// </summary>
internal static class BenchParallelCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var steps = new Option<int>("--steps") { Description = "steps per configuration (the first 2 are not timed)", DefaultValueFactory = _ => 8 };
        var hidden = new Option<int>("--hidden") { Description = "model width", DefaultValueFactory = _ => 256 };
        var experts = new Option<int>("--experts") { Description = "experts per layer (2 layers, top-2)", DefaultValueFactory = _ => 8 };
        var batch = new Option<int>("--batch") { Description = "global batch (rows of 64 tokens)", DefaultValueFactory = _ => 8 };
        var asRank = new Option<bool>("--as-rank") { Description = "internal: run as one rank with the arguments after --", Hidden = true };
        var rest = new Argument<string[]>("rank-args") { Arity = ArgumentArity.ZeroOrMore, Hidden = true };
        var command = new Command("parallel", "Step time split into compute and communication: 1 rank vs DP = 2 vs EP = 2 on the same model")
        {
            json, steps, hidden, experts, batch, asRank, rest,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(asRank))
            {
                var (o, outPath) = RankProgram.Parse(parse.GetValue(rest) ?? []);
                return RankProgram.Run(o, outPath);
            }
            var n = parse.GetValue(steps);
            if (n < 3) throw new UsageException($"--steps must be at least 3 (2 warm-up), got {n}");
            var e = parse.GetValue(experts);
            if (e < 2) throw new UsageException($"--experts must be at least 2 (EP = 2 splits them), got {e}");
            var b = parse.GetValue(batch);
            if (b < 2 || b % 2 != 0) throw new UsageException($"--batch must be an even number >= 2 (DP = 2 splits it), got {b}");
            var model = new TinyRunOptions { Steps = n, Hidden = parse.GetValue(hidden), SeqLen = 64, GlobalBatch = b, Experts = [e, e], TopK = [2, 2] };
            var self = SelfProgram.Get();
            var err = parse.InvocationConfiguration.Error!;
            var samples = ParallelBenchmark.Run(model, 2, self.Program, [.. self.PrefixArguments, "bench", "parallel", "--as-rank", "--"], m => err.WriteLine($"bench parallel: {m}"));
            var output = parse.InvocationConfiguration.Output!;
            if (parse.GetValue(json)) Json.Write(output, new { model, samples });
            else output.Write(Table(samples));
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static string Table(IReadOnlyList<ParallelBenchSample> samples)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| configuration | step | compute | communication | collective bytes / step / rank |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var s in samples)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Name} | {s.StepSeconds * 1e3:0} ms | {s.ComputeSeconds * 1e3:0} ms | {s.CommSeconds * 1e3:0} ms | {s.BytesPerStep / 1024.0:0} KiB |");
        return sb.ToString();
    }
}
