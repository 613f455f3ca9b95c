using System.CommandLine;
using System.Globalization;
using System.Text;
using MoLA.Cli.Output;
using MoLA.Parallel.Benchmarks;

namespace MoLA.Cli.Commands;

/// <summary><c>mola bench allreduce</c>: Gloo all-reduce bandwidth versus message size over loopback.</summary>
internal static class BenchAllReduceCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var ranks = new Option<int>("--ranks") { Description = "ranks (threads, each with its own Gloo group)", DefaultValueFactory = _ => 2 };
        var iterations = new Option<int>("--iterations") { Description = "timed all-reduces per size (median reported)", DefaultValueFactory = _ => 7 };
        var quick = new Option<bool>("--quick") { Description = "sizes up to 1 MiB and 3 iterations (for tests)" };
        var command = new Command("allreduce", "Gloo all-reduce algorithmic and bus bandwidth versus message size on loopback")
        {
            json, ranks, iterations, quick,
        };
        command.SetAction(parse =>
        {
            var q = parse.GetValue(quick);
            var sizes = q ? AllReduceBenchmark.DefaultSizes.Where(s => s <= 1 << 20).ToArray() : AllReduceBenchmark.DefaultSizes;
            IReadOnlyList<AllReduceSample> result;
            try
            {
                result = AllReduceBenchmark.Run(sizes, parse.GetValue(ranks), q ? 3 : parse.GetValue(iterations));
            }
            catch (MoLA.Parallel.ParallelConfigException e)
            {
                throw new UsageException(e.Message);
            }
            var output = parse.InvocationConfiguration.Output!;
            if (parse.GetValue(json)) Json.Write(output, new { ranks = parse.GetValue(ranks), samples = result });
            else output.Write(Table(result));
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static string Table(IReadOnlyList<AllReduceSample> samples)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| message | median time | algorithmic bandwidth | bus bandwidth |");
        sb.AppendLine("| ---: | ---: | ---: | ---: |");
        foreach (var s in samples)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {Size(s.Bytes)} | {s.MedianSeconds * 1e3:0.###} ms | {s.AlgorithmicGBps:0.###} GB/s | {s.BusGBps:0.###} GB/s |");
        return sb.ToString();
    }

    private static string Size(long b) => b >= 1 << 20 ? $"{b >> 20} MiB" : $"{b >> 10} KiB";
}
