using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MoLA.TestSupport;

namespace MoLA.Cli.Tests;

/// <summary>A real `mola train` process serves /metrics; Debian's Prometheus scrapes it and answers queries.</summary>
public sealed class TrainMetricsPrometheusTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-train-prom-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task PrometheusGetsTokensAndExpertLoadFromATrainingRun()
    {
        var port = LoopbackPorts.Free();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            "exec", Cli.MolaDll, "train", "--base-model", TinyCheckpoint.Path, "--out", Path.Combine(_root, "run"),
            "--embedded-train-per-task", "8", "--batch-size", "4", "--cutoff-len", "256", "--prompt-template", "alpaca-short",
            "--steps", "2000", "--eval-data", "none", "--threads", "1", "--peak-gflops", "100",
            "--metrics-port", port.ToString(CultureInfo.InvariantCulture),
        }) psi.ArgumentList.Add(a);
        using var train = Process.Start(psi)!;
        var stderr = train.StandardError.ReadToEndAsync();
        _ = train.StandardOutput.ReadToEndAsync();
        try
        {
            using var prometheus = PrometheusServer.Start(port);
            var deadline = TimeSpan.FromSeconds(90);
            Assert.True(await prometheus.QueryAsync("mola_tokens_total{job=\"mola\"} > 0", deadline) > 0);
            // Layer 3 of the 4-layer model has 8 experts under the default 2468 shape: one series per expert.
            Assert.Equal(8, await prometheus.QueryAsync("count(mola_expert_tokens_total{layer=\"3\",module=\"down_proj\"})", deadline));
            Assert.True(await prometheus.QueryAsync("sum(mola_expert_tokens_total{layer=\"0\",module=\"q_proj\"})", deadline) > 0);
            Assert.True(await prometheus.QueryAsync("mola_expert_load_imbalance_ratio{layer=\"1\",module=\"v_proj\"}", deadline) >= 1);
            Assert.True(await prometheus.QueryAsync("mola_step_duration_seconds_count", deadline) >= 1);
            Assert.True(await prometheus.QueryAsync("mola_learning_rate", deadline) > 0);
        }
        finally
        {
            if (!train.HasExited)
            {
                using (var kill = Process.Start("kill", ["-INT", train.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
                if (!train.WaitForExit(60_000)) train.Kill(entireProcessTree: true);
            }
        }
        train.WaitForExit();
        var log = await stderr;
        Assert.True(train.ExitCode == 130, $"exit {train.ExitCode}: {log}");
        Assert.Contains($"metrics: http://127.0.0.1:{port}/metrics", log);
    }

    [Fact]
    public void ABusyMetricsPortIsAUsageErrorNamingTheFlagBeforeTheRunDirectoryIsWritten()
    {
        var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        try
        {
            var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
            var run = Path.Combine(_root, "busy");
            var result = Cli.InProcess("train", "--base-model", TinyCheckpoint.Path, "--out", run, "--embedded-train-per-task", "8",
                "--batch-size", "4", "--cutoff-len", "256", "--prompt-template", "alpaca-short", "--steps", "2", "--eval-data", "none",
                "--threads", "1", "--peak-gflops", "100", "--metrics-port", port.ToString(CultureInfo.InvariantCulture));
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains($"--metrics-port: port {port} on 127.0.0.1 is already in use", result.Stderr);
            Assert.False(File.Exists(Path.Combine(run, "run.json")), "the run directory was written before the port was checked");
        }
        finally
        {
            blocker.Stop();
        }
    }
}
