using System.Text.Json;

namespace MoLA.Parallel.Benchmarks;

/// <summary>One configuration's per-step times, median over the timed steps, slowest rank per step.</summary>
public sealed record ParallelBenchSample(string Name, int Dp, int Ep, double StepSeconds, double CommSeconds, double ComputeSeconds, long BytesPerStep);

/// <summary>
/// Trains the same model (<see cref="TinyTrainingRun"/>, sized by the options) for the same global batches as
/// 1 rank, DP = 2 and EP = 2, each rank a process started by <see cref="Launcher"/> with one libtorch thread,
/// and reports the step time split into communication (inside collectives) and the rest.
/// </summary>
public static class ParallelBenchmark
{
    public static IReadOnlyList<ParallelBenchSample> Run(TinyRunOptions model, int warmupSteps, string program, IReadOnlyList<string> rankArguments,
        Action<string>? log = null)
    {
        var dir = Directory.CreateTempSubdirectory("mola-bench-parallel-").FullName;
        try
        {
            var samples = new List<ParallelBenchSample>();
            foreach (var (name, dp, ep) in new[] { ("1 rank", 1, 1), ("DP=2", 2, 1), ("EP=2", 1, 2) })
            {
                log?.Invoke($"{name}: {model.Steps} steps");
                var outPath = Path.Combine(dir, $"{dp}x{ep}-rank{{rank}}.json");
                var args = rankArguments.Concat(["--steps", $"{model.Steps}", "--batch", $"{model.GlobalBatch}", "--hidden", $"{model.Hidden}",
                    "--seq", $"{model.SeqLen}", "--experts", string.Join(',', model.Experts), "--topk", string.Join(',', model.TopK), "--out", outPath]).ToList();
                var result = Launcher.Run(new LaunchOptions
                {
                    NProc = dp * ep, DataParallel = dp, ExpertParallel = ep, MasterPort = FreePort(), Program = program, Arguments = args,
                    Timeout = TimeSpan.FromSeconds(120), OnOutput = (r, line) => { if (!line.StartsWith("STEP", StringComparison.Ordinal)) log?.Invoke($"[{name} rank {r}] {line}"); },
                });
                if (result.ExitCode != 0) throw new InvalidOperationException($"{name}: {result.Message}");
                var ranks = Enumerable.Range(0, dp * ep)
                    .Select(r => JsonSerializer.Deserialize<TinyRunResult>(File.ReadAllText(outPath.Replace("{rank}", $"{r}")))!).ToList();
                var steps = Enumerable.Range(warmupSteps, model.Steps - warmupSteps).ToList();
                double Median(IEnumerable<double> v) { var a = v.Order().ToArray(); return a[a.Length / 2]; }
                var step = Median(steps.Select(s => ranks.Max(r => r.StepSeconds[s])));
                var comm = Median(steps.Select(s => ranks.Max(r => r.CommSeconds[s])));
                var bytes = ranks[0].CollectiveBytes.Values.Sum() / model.Steps;
                samples.Add(new ParallelBenchSample(name, dp, ep, step, comm, Math.Max(0, step - comm), bytes));
            }
            return samples;
        }
        finally
        {
            try { Directory.Delete(dir, true); }
            catch (IOException) { }
        }
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
