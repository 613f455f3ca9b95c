using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel.Benchmarks;

/// <summary>
/// The body of one rank of a <see cref="TinyTrainingRun"/> job (the test worker and `mola bench parallel`).
/// Joins through the environment (<see cref="RendezvousInfo"/>) when RANK is set, else runs alone.
/// stdout: "STEP i" before each step, then "RESULT {json}" (exit 0) or "ERROR {json}" (exit 3 collective,
/// 4 store, 5 other); the full <see cref="TinyRunResult"/> goes to <c>outPath</c> ({rank} replaced).
/// </summary>
public static class RankProgram
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static int Run(TinyRunOptions options, string? outPath)
    {
        torch.set_num_threads(1);
        var rank = 0;
        ParallelGroups? groups = null;
        try
        {
            ExpertPlacement? placement = null;
            if (RendezvousInfo.IsPresent())
            {
                var info = RendezvousInfo.FromEnvironment();
                rank = info.Rank;
                if (info.PlacementFile is { } file) placement = ExpertPlacement.Load(file, info.Topology.ExpertParallel);
                groups = ParallelGroups.Join(info);
            }
            var result = TinyTrainingRun.Run(options, groups, placement, s =>
            {
                Console.Out.WriteLine($"STEP {s}");
                Console.Out.Flush();
            });
            if (outPath is not null)
                File.WriteAllText(outPath.Replace("{rank}", rank.ToString(CultureInfo.InvariantCulture)), JsonSerializer.Serialize(result, Json));
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

    /// <summary>Parses "--steps N --batch B --micro M --sleep-ms S --lr X --hidden H --seq L --experts a,b --topk a,b --dtype float64 --out FILE".</summary>
    public static (TinyRunOptions Options, string? OutPath) Parse(IReadOnlyList<string> args)
    {
        var o = new TinyRunOptions();
        string? outPath = null;
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count) throw new ArgumentException($"option '{args[i]}' needs a value");
            var v = args[i + 1];
            int N() => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                : throw new ArgumentException($"{args[i]}: '{v}' is not a non-negative integer");
            int[] List() => v.Split(',').Select(x => int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                : throw new ArgumentException($"{args[i]}: '{x}' is not a non-negative integer")).ToArray();
            o = args[i] switch
            {
                "--steps" => o with { Steps = N() },
                "--batch" => o with { GlobalBatch = N() },
                "--micro" => o with { MicroBatches = N() },
                "--sleep-ms" => o with { SleepMs = N() },
                "--lr" => o with { LearningRate = double.Parse(v, CultureInfo.InvariantCulture) },
                "--hidden" => o with { Hidden = N() },
                "--seq" => o with { SeqLen = N() },
                "--experts" => o with { Experts = List() },
                "--topk" => o with { TopK = List() },
                "--checkpoint-every" => o with { CheckpointEvery = N() },
                "--output-dir" => o with { OutputDir = v },
                "--stop-at" => o with { StopAtStep = N() },
                "--resume" => o with { Resume = v == "1" },
                "--dtype" => o with { DType = v switch { "float64" => DType.Float64, "float32" => DType.Float32, _ => throw new ArgumentException($"--dtype: '{v}' is not float32 or float64") } },
                "--out" => o,
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
            if (args[i] == "--out") outPath = v;
        }
        return (o, outPath);
    }
}
