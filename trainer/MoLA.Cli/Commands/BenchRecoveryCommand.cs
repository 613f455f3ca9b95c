using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MoLA.Cli.Cluster;
using MoLA.Cli.Output;
using MoLA.Silo;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola bench recovery</c>: how long the cluster takes to recover from a lost rank. One DP=2 job (embedded base,
/// checkpoints every 5 steps) runs on an embedded cluster in this process; every few steps one of its ranks gets
/// SIGKILL, alternating ranks, and the job's restart log says when the agent saw the exit, when the next generation
/// was placed and when it made its first step. Recovery = kill to that first step, split into detection, stopping the
/// survivors and re-placing, and starting the new ranks (process start, checkpoint load, rendezvous, one step).
/// </summary>
internal static class BenchRecoveryCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var kills = new Option<int>("--kills") { Description = "ranks killed, one per generation", DefaultValueFactory = _ => 3 };
        var command = new Command("recovery", "Recovery time after kill -9 of a rank of a DP = 2 job on the embedded cluster") { json, kills };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(kills);
            if (n < 1 || n > 20) throw new UsageException($"--kills: must be in [1, 20], got {n}");
            return ClusterBench.Run(parse, json, "recovery", (root, err) => Run(n, root, err), Table);
        });
        return command;
    }

    internal sealed record RecoverySample(int Generation, int Rank, double DetectSeconds, double ReplaceSeconds, double FirstStepSeconds, double TotalSeconds, long StepsLost);

    internal sealed record RecoveryBenchResult(IReadOnlyList<RecoverySample> Kills, double MedianSeconds, double MaxSeconds);

    private const int CheckpointEvery = 5;
    private const int StepsBetweenKills = 8;

    private static RecoveryBenchResult Run(int kills, string root, TextWriter log)
    {
        using var silo = new InProcessSilo(root, cpuSlots: 2);
        var client = silo.Client;
        var steps = StepsBetweenKills * (kills + 1);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["steps"] = steps.ToString(CultureInfo.InvariantCulture), ["embedded-train-per-task"] = "8", ["batch-size"] = "4",
            ["eval-data"] = "none", ["threads"] = "1", ["peak-gflops"] = "100",
            ["checkpoint-every"] = CheckpointEvery.ToString(CultureInfo.InvariantCulture),
        };
        var job = client.Submit(new SubmitJobRequest { Name = "bench-recovery", Settings = settings, Dp = 2, MaxRestarts = kills }).GetAwaiter().GetResult();
        var samples = new List<RecoverySample>();
        var killedAt = new List<DateTime>();
        for (var k = 0; k < kills; k++)
        {
            var generation = k + 1;
            var target = StepsBetweenKills * (k + 1);
            var status = WaitFor(client, job.JobId, s => s.Generation == generation && s.State == "running" && s.Step >= target, $"step {target}");
            var rank = k % 2;
            var pid = status.Ranks.Single(r => r.Rank == rank).Pid ?? throw new InvalidOperationException($"rank {rank} has no pid");
            killedAt.Add(DateTime.UtcNow);
            using (var p = Process.GetProcessById(pid)) p.Kill(); // SIGKILL
            var recovered = WaitFor(client, job.JobId, s => s.RestartLog.Count > k && s.RestartLog[k].RecoverySeconds is not null, $"recovery {k + 1}");
            var entry = recovered.RestartLog[k];
            var placed = recovered.Transitions.Where(t => t.To == "scheduled" && t.At >= entry.At).Select(t => t.At).First();
            var firstStep = entry.At.AddSeconds(entry.RecoverySeconds!.Value);
            samples.Add(new RecoverySample(generation, rank, (entry.At - killedAt[^1]).TotalSeconds, (placed - entry.At).TotalSeconds,
                (firstStep - placed).TotalSeconds, (firstStep - killedAt[^1]).TotalSeconds, entry.StepsLost ?? 0));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench recovery: kill {k + 1} (rank {rank}, generation {generation}): first step of generation {generation + 1} after {samples[^1].TotalSeconds:F2} s"));
        }
        var final = WaitFor(client, job.JobId, s => s.State is "succeeded" or "failed" or "cancelled", "the end of the job");
        if (final.State != "succeeded") throw new InvalidOperationException($"bench job {job.JobId} {final.State}: {final.Reason}");
        var totals = samples.Select(s => s.TotalSeconds).ToList();
        return new RecoveryBenchResult(samples, ClusterBench.Median(totals), totals.Max());
    }

    private static JobView WaitFor(ClusterClient client, string id, Func<JobView, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = client.Status(id).GetAwaiter().GetResult();
            if (done(status)) return status;
            if (status.State is "succeeded" or "failed" or "cancelled")
                throw new InvalidOperationException($"bench job {id} ended ({status.State}: {status.Reason}) before {what}");
            if (clock.Elapsed > TimeSpan.FromMinutes(5)) throw new InvalidOperationException($"bench recovery: no {what} within 5 minutes");
            Thread.Sleep(20);
        }
    }

    internal static string Table(RecoveryBenchResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| kill -9 | agent saw the exit | survivors stopped, next generation placed | new ranks to their first step | kill to first step | steps redone |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var k in r.Kills)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| rank {k.Rank} of generation {k.Generation} | {k.DetectSeconds:F2} s | {k.ReplaceSeconds:F2} s | {k.FirstStepSeconds:F2} s | {k.TotalSeconds:F2} s | {k.StepsLost} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| median (max) | | | | {r.MedianSeconds:F2} s ({r.MaxSeconds:F2} s) | |");
        return sb.ToString();
    }
}
