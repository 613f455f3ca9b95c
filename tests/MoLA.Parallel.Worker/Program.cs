using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel.Worker;

/// <summary>
/// One rank of a tiny training job. Joins through the environment (RANK, WORLD_SIZE, MASTER_ADDR,
/// MASTER_PORT, MOLA_DP, MOLA_EP, MOLA_PLACEMENT, MOLA_TIMEOUT_MS) when RANK is set, else runs alone.
/// stdout: "STEP i" before each step, then "RESULT {json}" (exit 0) or "ERROR {json}" (exit 3 collective,
/// 4 store, 5 other). Options: --steps N --batch B --micro M --sleep-ms S --out FILE ({rank} is replaced).
/// </summary>
public static class Program
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static int Main(string[] args)
    {
        torch.set_num_threads(1);
        var rank = 0;
        ParallelGroups? groups = null;
        try
        {
            var (options, outPath) = Parse(args);
            ExpertPlacement? placement = null;
            if (RendezvousInfo.IsPresent())
            {
                var info = RendezvousInfo.FromEnvironment();
                rank = info.Rank;
                if (info.PlacementFile is { } file) placement = ExpertPlacement.Load(file, info.Topology.ExpertParallel);
                groups = ParallelGroups.Join(info);
            }
            var result = TinyRun.Run(options, groups, placement, s =>
            {
                Console.Out.WriteLine($"STEP {s}");
                Console.Out.Flush();
            });
            var json = JsonSerializer.Serialize(result, Json);
            if (outPath is not null) File.WriteAllText(outPath.Replace("{rank}", rank.ToString(CultureInfo.InvariantCulture)), json);
            groups?.World.Barrier();
            Console.Out.WriteLine("RESULT " + JsonSerializer.Serialize(new { rank, steps = result.Losses.Count }, Json));
            Console.Out.Flush();
            groups?.Dispose();
            return 0;
        }
        catch (Exception e)
        {
            var (code, isTimeout) = e switch
            {
                CollectiveException c => (3, c.IsTimeout),
                StoreException s => (4, s.IsTimeout),
                _ => (5, false),
            };
            var message = e.Message;
            // Name the rank that caused it when the launcher posted a failure.
            if (code == 3 && groups?.FailureReport(TimeSpan.FromSeconds(3)) is { } report) message += $" (cause: {report})";
            Console.Out.WriteLine("ERROR " + JsonSerializer.Serialize(new { rank, type = e.GetType().Name, message, isTimeout }, Json));
            Console.Out.Flush();
            Console.Error.WriteLine($"rank {rank}: error: {message}");
            Console.Error.Flush();
            Environment.Exit(code);  // without disposing: the groups are broken and peers may be gone
            return code;
        }
    }

    private static (TinyRunOptions, string?) Parse(string[] args)
    {
        var o = new TinyRunOptions();
        string? outPath = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length) throw new ArgumentException($"option '{args[i]}' needs a value");
            var v = args[i + 1];
            int N() => int.Parse(v, CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--steps" => o with { Steps = N() },
                "--batch" => o with { GlobalBatch = N() },
                "--micro" => o with { MicroBatches = N() },
                "--sleep-ms" => o with { SleepMs = N() },
                "--lr" => o with { LearningRate = double.Parse(v, CultureInfo.InvariantCulture) },
                "--hidden" => o with { Hidden = N() },
                "--seq" => o with { SeqLen = N() },
                "--experts" => o with { Experts = v.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() },
                "--topk" => o with { TopK = v.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() },
                "--out" => o,
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
            if (args[i] == "--out") outPath = v;
        }
        return (o, outPath);
    }
}
