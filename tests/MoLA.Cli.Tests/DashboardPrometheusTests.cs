using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using MoLA.TestSupport;

namespace MoLA.Cli.Tests;

/// <summary>
/// Every panel of the shipped Grafana dashboards returns data from a real Prometheus (Debian's) scraping a 2-silo
/// loopback cluster (Redis) that runs a short job, a one-trial sweep and a job whose rank is killed and replaced, and
/// the two ranks of a `mola launch` expert-parallel training run serving --metrics-port. Grafana cannot run here; its
/// queries can.
/// </summary>
public sealed partial class DashboardPrometheusTests : IDisposable
{
    /// <summary>
    /// The only panels allowed to return no series: served only by ranks training on a CUDA device (NVML), and this
    /// test's runs train on CPU.
    /// </summary>
    private static readonly HashSet<string> CudaOnly = ["mola_gpu_memory_used_bytes", "mola_gpu_memory_total_bytes"];

    private const string RunName = "dash-run";

    private readonly string _root = Directory.CreateTempSubdirectory("mola-dashboards-").FullName;
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task EveryPanelQueryReturnsSeriesFromAClusterJobAndALaunchedRun()
    {
        var queries = GrafanaDashboards.Queries(new Dictionary<string, string>
        {
            ["__rate_interval"] = "10s",
            ["run"] = RunName,
            ["module"] = ".*",
        });
        Assert.True(queries.Count >= 30, $"only {queries.Count} panel queries found in {GrafanaDashboards.Directory}");

        // The expert-parallel run starts first: it takes longest to reach its first steps.
        var metricsPort = LoopbackPorts.Free();
        var launch = StartLaunch(metricsPort);
        var redis = RedisServer.Start();
        _owned.Add(redis);
        var cluster = new SiloCluster(_root, "redis", redis.ConnectionString);
        _owned.Add(cluster);
        var a = cluster.Start();
        var submit = Cli.ChildProcess(new Dictionary<string, string>(),
            ["submit", "--coordinator", a.Url, "--token-file", cluster.TokenFile, .. ClusterJobs.TinyJobOf(1), "--dp", "1", "--ep", "1"]);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        await RefuseABadSubmission(a, cluster.TokenFile); // the refused-submissions series
        // The sweep panels: a one-trial sweep, evaluated and ended.
        var sweep = Cli.ChildProcess(new Dictionary<string, string>(), "sweep", ClusterJobs.TinySweep(_root, steps: 2, evalItems: 2, "allocation: [{uniform: 2}]"), "--coordinator", a.Url, "--token-file", cluster.TokenFile);
        Assert.True(sweep.ExitCode == 0, sweep.ToString());
        // The recovery panels: a job whose rank is SIGKILLed after a checkpoint, replaced by its next generation.
        var recovering = Cli.ChildProcess(new Dictionary<string, string>(),
            ["submit", "--coordinator", a.Url, "--token-file", cluster.TokenFile, .. ClusterJobs.TinyJobOf(400, "--checkpoint-every", "2"), "--json"]);
        Assert.True(recovering.ExitCode == 0, recovering.ToString());
        await KillItsRankAfterACheckpoint(cluster, a, System.Text.Json.JsonDocument.Parse(recovering.Stdout).RootElement.GetProperty("job_id").GetString()!);

        var prometheus = PrometheusServer.Start([metricsPort, metricsPort + 1, .. cluster.Silos.Select(s => s.ApiPort)]);
        _owned.Add(prometheus);
        var allowedEmpty = queries.Where(q => Metrics(q.Expr).Any(CudaOnly.Contains)).ToHashSet();
        Assert.All(CudaOnly, name => Assert.Contains(queries, q => Metrics(q.Expr).Contains(name))); // the set names real panels

        var deadline = Stopwatch.StartNew();
        var waiting = queries.Except(allowedEmpty).ToList();
        while (waiting.Count > 0 && deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (launch.Process.HasExited) Assert.Fail($"mola launch exited with {launch.Process.ExitCode}:\n{launch.Log}");
            var answered = new List<PanelQuery>();
            foreach (var q in waiting)
                if (await prometheus.SeriesAsync(q.Expr) > 0) answered.Add(q);
            waiting.RemoveAll(answered.Contains);
            if (waiting.Count > 0) await Task.Delay(1000);
        }
        Assert.True(waiting.Count == 0,
            $"{waiting.Count} panel queries returned no series within {deadline.Elapsed.TotalSeconds:F0} s:\n{string.Join('\n', waiting)}\n"
            + $"--- launch (end) ---\n{Tail(launch.Log)}\n--- silo a (end) ---\n{Tail(a.Output)}");
        // The CUDA-only panels are still valid PromQL (Prometheus refuses a malformed query with an error).
        foreach (var q in allowedEmpty) Assert.NotNull(await prometheus.SeriesAsync(q.Expr));
    }

    private static string Tail(string log) => log.Length <= 4000 ? log : log[^4000..];

    /// <summary>Metric names a query mentions (identifiers followed by '{', '(' is a function, '[' or a space).</summary>
    private static HashSet<string> Metrics(string expr) =>
        MetricName().Matches(expr).Select(m => m.Value).Where(n => n.StartsWith("mola_", StringComparison.Ordinal) || n.StartsWith("orleans_", StringComparison.Ordinal)).ToHashSet();

    [GeneratedRegex(@"\b[a-z_][a-z0-9_]*\b")]
    private static partial Regex MetricName();

    private sealed record LaunchProcess(Process Process, StringBuilder Output) : IDisposable
    {
        public string Log { get { lock (Output) return Output.ToString(); } }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
            Process.Dispose();
        }
    }

    private LaunchProcess StartLaunch(int metricsPort)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
                 {
                     "exec", Cli.MolaDll, "launch", "--nproc", "2", "--dp", "1", "--ep", "2",
                     "--master-port", LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture), "--",
                     "train", "--base-model", TinyCheckpoint.Path, "--out", Path.Combine(_root, RunName), "--embedded-train-per-task", "8",
                     "--batch-size", "4", "--cutoff-len", "256", "--prompt-template", "alpaca-short", "--steps", "2000",
                     "--eval-data", "none", "--threads", "1", "--peak-gflops", "100",
                     "--aux-loss-coef", "0.01", "--contrastive-loss-coef", "0.01", "--z-loss-coef", "0.001",
                     "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture),
                 })
            psi.ArgumentList.Add(arg);
        var launch = new LaunchProcess(Process.Start(psi)!, new StringBuilder());
        _owned.Add(launch);
        launch.Process.OutputDataReceived += (_, e) => { lock (launch.Output) launch.Output.AppendLine(e.Data); };
        launch.Process.ErrorDataReceived += (_, e) => { lock (launch.Output) launch.Output.AppendLine(e.Data); };
        launch.Process.BeginOutputReadLine();
        launch.Process.BeginErrorReadLine();
        return launch;
    }

    private static async Task KillItsRankAfterACheckpoint(SiloCluster cluster, SiloProcess silo, string job)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var status = cluster.Get(silo, $"/api/jobs/{job}");
            // Queued jobs have no ranks yet.
            if (status.GetProperty("step").GetInt64() >= 3 && status.GetProperty("ranks").EnumerateArray().FirstOrDefault() is { ValueKind: System.Text.Json.JsonValueKind.Object } rank
                && rank.TryGetProperty("pid", out var pid))
            {
                using var process = Process.GetProcessById(pid.GetInt32());
                process.Kill(); // SIGKILL
                return;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(120), $"job {job} did not reach step 3: {status}");
            await Task.Delay(200);
        }
    }

    private static async Task RefuseABadSubmission(SiloProcess silo, string tokenFile)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{silo.Url}/api/jobs") { Content = new StringContent("not json", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile)).Trim());
        using var response = await http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
    }
}
