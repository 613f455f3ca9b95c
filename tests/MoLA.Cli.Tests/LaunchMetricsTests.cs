using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using MoLA.TestSupport;

namespace MoLA.Cli.Tests;

/// <summary>`mola launch --nproc 2 --dp 1 --ep 2 -- train --metrics-port P`: each rank serves its own /metrics and counts each routed token once.</summary>
public sealed partial class LaunchMetricsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-launch-metrics-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// Rank r serves PORT + r (every rank binding PORT made rank 1 exit). On each rank, the q_proj of layer 0 and of
    /// layer 3 route the same positions with the same top-k (2), so their expert-token counters sum to the same total;
    /// when the expert-parallel dispatcher also counted the rows it received for its own experts, the totals differed.
    /// </summary>
    [Fact]
    public async Task EachRankServesItsPortAndCountsEveryTokenOnce()
    {
        var port = LoopbackPorts.Free();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
                 {
                     "exec", Cli.MolaDll, "launch", "--nproc", "2", "--dp", "1", "--ep", "2",
                     "--master-port", LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture), "--",
                     "train", "--base-model", TinyCheckpoint.Path, "--out", Path.Combine(_root, "run"), "--embedded-train-per-task", "8",
                     "--batch-size", "4", "--cutoff-len", "256", "--prompt-template", "alpaca-short", "--steps", "2000",
                     "--eval-data", "none", "--threads", "1", "--peak-gflops", "100",
                     "--metrics-port", port.ToString(CultureInfo.InvariantCulture),
                 })
            psi.ArgumentList.Add(a);
        using var launch = Process.Start(psi)!;
        var log = new System.Text.StringBuilder();
        launch.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        launch.BeginErrorReadLine();
        _ = launch.StandardOutput.ReadToEndAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            foreach (var rank in new[] { 0, 1 })
            {
                var url = $"http://127.0.0.1:{port + rank}/metrics";
                var deadline = DateTime.UtcNow.AddSeconds(90);
                (long Layer0, long Layer3) totals = (-1, -2);
                // A scrape can fall between two modules' updates of one step: read until the step is complete in it.
                for (var tries = 0; totals.Layer0 != totals.Layer3 && DateTime.UtcNow < deadline; tries++)
                {
                    if (launch.HasExited)
                        lock (log) Assert.Fail($"launch exited with {launch.ExitCode}: {log}");
                    string text;
                    try { text = await http.GetStringAsync(url); }
                    catch (HttpRequestException) { await Task.Delay(200); continue; }
                    totals = (ExpertTokens(text, "0"), ExpertTokens(text, "3"));
                    if (totals.Layer0 <= 0) totals = (-1, -2);
                    if (totals.Layer0 != totals.Layer3) await Task.Delay(100);
                }
                Assert.True(totals.Layer0 > 0 && totals.Layer0 == totals.Layer3,
                    $"rank {rank}: q_proj expert tokens of layer 0 ({totals.Layer0}) and layer 3 ({totals.Layer3}) never agreed");
            }
        }
        finally
        {
            if (!launch.HasExited) launch.Kill(entireProcessTree: true);
            launch.WaitForExit();
        }
    }

    private static long ExpertTokens(string exposition, string layer)
    {
        long sum = 0;
        foreach (Match m in Series().Matches(exposition))
            if (m.Groups["labels"].Value.Contains($"layer=\"{layer}\"", StringComparison.Ordinal)
                && m.Groups["labels"].Value.Contains("module=\"q_proj\"", StringComparison.Ordinal))
                sum += (long)double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        return sum;
    }

    [GeneratedRegex(@"^mola_expert_tokens_total\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Series();
}
