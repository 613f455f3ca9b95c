using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace MoLA.Telemetry.Tests;

/// <summary>Scrapes our endpoint with the real Prometheus server (installed by ./mola's bootstrap) and queries it back.</summary>
public sealed class PrometheusServerIntegrationTests
{
    private const string PrometheusPath = "/usr/bin/prometheus";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Real_prometheus_scrapes_tokens_and_expert_load()
    {
        Assert.True(File.Exists(PrometheusPath),
            $"{PrometheusPath} is missing: run ./mola (its bootstrap installs the Prometheus server) and re-run the tests.");

        string meterName = "MoLA.Training.Prom." + Guid.NewGuid().ToString("N");
        using var metrics = new TrainingMetrics(meterName);
        using var endpoint = MetricsEndpoint.Start(0, meterName);
        metrics.RecordStep(tokens: 1000, seconds: 0.5, loss: 3.0, learningRate: 1e-3, mfu: 0.3);
        metrics.RecordStep(tokens: 2345, seconds: 0.4, loss: 2.9, learningRate: 1e-3, mfu: 0.31);
        metrics.RecordExpertTokens(layer: 2, module: "attn", counts: [5, 15, 40]);

        string dir = Path.Combine(Path.GetTempPath(), "mola-prom-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        int promPort = FreePort();
        string config = Path.Combine(dir, "prometheus.yml");
        File.WriteAllText(config,
            "global:\n" +
            "  scrape_interval: 1s\n" +
            "  scrape_timeout: 1s\n" +
            "  evaluation_interval: 1s\n" +
            "scrape_configs:\n" +
            "  - job_name: mola\n" +
            "    static_configs:\n" +
            $"      - targets: ['127.0.0.1:{endpoint.Port}']\n");

        var log = new StringBuilder();
        var psi = new ProcessStartInfo(PrometheusPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        psi.ArgumentList.Add($"--config.file={config}");
        psi.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(dir, "data")}");
        psi.ArgumentList.Add($"--web.listen-address=127.0.0.1:{promPort}");
        using var server = new Process { StartInfo = psi };
        server.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        server.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        try
        {
            server.Start();
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var api = new Uri($"http://127.0.0.1:{promPort}/api/v1/query");
            var clock = Stopwatch.StartNew();

            double tokens = await PollAsync(http, api, "mola_tokens_total", clock, server, log);
            Assert.Equal(3345, tokens);

            double expert = await PollAsync(http, api,
                "mola_expert_tokens_total{layer=\"2\",module=\"attn\",expert=\"2\",job=\"mola\"}", clock, server, log);
            Assert.Equal(40, expert);

            double imbalance = await PollAsync(http, api, "mola_expert_load_imbalance_ratio{layer=\"2\",module=\"attn\"}", clock, server, log);
            Assert.Equal(2.0, imbalance, 9);

            // A later step shows up in a later scrape.
            metrics.RecordStep(tokens: 655, seconds: 0.4, loss: 2.8, learningRate: 1e-3, mfu: 0.32);
            double updated = await PollAsync(http, api, "mola_tokens_total == 4000", clock, server, log);
            Assert.Equal(4000, updated);
        }
        finally
        {
            try
            {
                if (!server.HasExited) server.Kill(entireProcessTree: true);
                server.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // never started
            }
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Polls an instant query until it returns exactly one sample, within the shared deadline.</summary>
    private static async Task<double> PollAsync(HttpClient http, Uri api, string query, Stopwatch clock, Process server, StringBuilder log)
    {
        string last = "(no answer yet)";
        while (clock.Elapsed < Deadline)
        {
            if (server.HasExited)
                Assert.Fail($"prometheus exited with code {server.ExitCode}:\n{Snapshot(log)}");
            try
            {
                string json = await http.GetStringAsync(new Uri(api, "?query=" + Uri.EscapeDataString(query)));
                last = json;
                using var doc = JsonDocument.Parse(json);
                var result = doc.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() == 1)
                {
                    string value = result[0].GetProperty("value")[1].GetString()!;
                    return double.Parse(value, CultureInfo.InvariantCulture);
                }
            }
            catch (HttpRequestException e)
            {
                last = e.Message; // server still starting
            }
            catch (TaskCanceledException e)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        Assert.Fail($"query {query} returned no single sample within {Deadline.TotalSeconds} s; last answer: {last}\nprometheus log:\n{Snapshot(log)}");
        return double.NaN;
    }

    private static string Snapshot(StringBuilder log)
    {
        lock (log) return log.ToString();
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
