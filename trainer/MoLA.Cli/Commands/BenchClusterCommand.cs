using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MoLA.Cli.Cluster;
using MoLA.Cli.Output;
using MoLA.Parallel;
using MoLA.Silo;

namespace MoLA.Cli.Commands;

/// <summary>
/// <c>mola bench cluster</c>: what the control plane adds before training starts. The same DP=2 job (embedded base,
/// a few steps) runs alternately through an embedded cluster in this process (REST submit -> job grain -> scheduler
/// -> node grain -> agent -> ranks; the clock stops when the job's status first shows step 1) and through
/// <c>mola launch</c> (the clock stops when a rank prints its first step). The difference of the medians is the
/// control plane's cost: scheduling, the agent's poll, the progress report's trip back to the grain.
/// </summary>
internal static class BenchClusterCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var repeats = new Option<int>("--repeats") { Description = "runs of each path (alternating)", DefaultValueFactory = _ => 3 };
        var command = new Command("cluster", "Submit-to-first-step latency: embedded cluster vs mola launch of the same job") { json, repeats };
        command.SetAction(parse =>
        {
            var n = parse.GetValue(repeats);
            if (n < 1 || n > 50) throw new UsageException($"--repeats: must be in [1, 50], got {n}");
            return ClusterBench.Run(parse, json, "cluster", (root, err) => Run(n, root, err), Table);
        });
        return command;
    }

    internal sealed record ClusterBenchResult(IReadOnlyList<double> ClusterSeconds, IReadOnlyList<double> LaunchSeconds, double ClusterMedian, double LaunchMedian)
    {
        public double OverheadSeconds => ClusterMedian - LaunchMedian;
    }

    private static readonly Dictionary<string, string> Job = new(StringComparer.Ordinal)
    {
        ["steps"] = "3", ["embedded-train-per-task"] = "8", ["batch-size"] = "4", ["eval-data"] = "none", ["threads"] = "1",
        ["peak-gflops"] = "100",
    };

    private static ClusterBenchResult Run(int repeats, string root, TextWriter log)
    {
        var cluster = new List<double>();
        var launch = new List<double>();
        using var silo = new InProcessSilo(root, cpuSlots: 2);
        for (var i = 0; i < repeats; i++)
        {
            cluster.Add(ClusterOnce(silo.Client));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench cluster: cluster run {i + 1}: {cluster[^1]:F2} s to the first step"));
            launch.Add(LaunchOnce(Path.Combine(root, $"launch-{i}")));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench cluster: launch run {i + 1}: {launch[^1]:F2} s to the first step"));
        }
        return new ClusterBenchResult(cluster, launch, ClusterBench.Median(cluster), ClusterBench.Median(launch));
    }

    private static double ClusterOnce(ClusterClient client)
    {
        var clock = Stopwatch.StartNew();
        var job = client.Submit(new SubmitJobRequest { Settings = new(Job), Dp = 2 }).GetAwaiter().GetResult();
        double? firstStep = null;
        while (true)
        {
            var status = client.Status(job.JobId).GetAwaiter().GetResult();
            if (firstStep is null && status.Step >= 1) firstStep = clock.Elapsed.TotalSeconds;
            if (status.State is "succeeded") return firstStep ?? clock.Elapsed.TotalSeconds;
            if (status.State is "failed" or "cancelled") throw new InvalidOperationException($"bench job {job.JobId} {status.State}: {status.Reason}");
            Thread.Sleep(50);
        }
    }

    private static double LaunchOnce(string outDir)
    {
        var self = SelfProgram.Get();
        double? firstStep = null;
        var clock = Stopwatch.StartNew();
        Environment.SetEnvironmentVariable(Training.AgentProgress.Variable, "1"); // the ranks print "@mola" step lines
        var result = Launcher.Run(new LaunchOptions
        {
            NProc = 2,
            MasterPort = InProcessSilo.FreePort(),
            Program = self.Program,
            Arguments = [.. self.PrefixArguments, "train", "--out", outDir, .. Job.SelectMany(kv => new[] { "--" + kv.Key, kv.Value })],
            OnOutput = (_, line) =>
            {
                if (line.StartsWith(Training.AgentProgress.Prefix, StringComparison.Ordinal))
                    lock (clock) firstStep ??= clock.Elapsed.TotalSeconds;
            },
        });
        if (result.ExitCode != 0) throw new InvalidOperationException($"bench launch failed: {result.Message}");
        lock (clock) return firstStep ?? throw new InvalidOperationException("bench launch: no rank printed a step");
    }


    internal static string Table(ClusterBenchResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| path (DP = 2, embedded base) | submit to first step, median | runs |");
        sb.AppendLine("| --- | ---: | --- |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| embedded cluster (REST -> grains -> agent) | {r.ClusterMedian:F2} s | {string.Join(", ", r.ClusterSeconds.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| mola launch | {r.LaunchMedian:F2} s | {string.Join(", ", r.LaunchSeconds.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| control plane adds | {r.OverheadSeconds:F2} s | |");
        return sb.ToString();
    }
}
