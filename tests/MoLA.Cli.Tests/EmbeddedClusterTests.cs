using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>The embedded cluster as a user runs it (<see cref="EmbeddedCluster"/>): jobs, API, metrics, restarts.</summary>
public sealed class EmbeddedClusterTests : IDisposable
{
    private readonly EmbeddedCluster _cluster = new();
    private string Root => _cluster.Root;
    private string StateDir => _cluster.StateDir;
    private int ApiPort => _cluster.ApiPort;

    public void Dispose() => _cluster.Dispose();

    private static string Inv(int n) => n.ToString(CultureInfo.InvariantCulture);

    private void StartSilo() => _cluster.Start();

    private void StopSilo() => _cluster.Stop();

    private string SiloOutput => _cluster.Output;

    private CliRun Mola(params string[] args) => _cluster.Mola(args);

    /// <summary>
    /// submit --wait of a DP=2 job: both ranks run on the node, the job succeeds and its adapter is bitwise the adapter of
    /// `mola launch --nproc 2` with the same settings (same two processes, same inputs, same machine: the agent must
    /// hand the ranks exactly the launch contract). Then stop and restart the silo: `mola jobs` still lists the job.
    /// </summary>
    [Fact]
    public async Task SubmitWaitRunsTheJobLikeLaunchAndTheJobSurvivesARestart()
    {
        StartSilo();
        var submit = Mola(["submit", .. ClusterJobs.TinyJob(), "--dp", "2", "--name", "tiny-dp2", "--wait", "--json"]);
        Assert.True(submit.ExitCode == 0, submit + "\n--- silo ---\n" + SiloOutput);
        var job = JsonDocument.Parse(submit.Stdout).RootElement;
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal(2, job.GetProperty("world_size").GetInt32());
        Assert.Equal(4, job.GetProperty("step").GetInt64());
        var ranks = job.GetProperty("ranks").EnumerateArray().ToList();
        Assert.Equal([0, 1], ranks.Select(r => r.GetProperty("rank").GetInt32()));
        Assert.All(ranks, r => Assert.Equal("local", r.GetProperty("node").GetString()));
        Assert.All(ranks, r => Assert.True(r.GetProperty("pid").GetInt32() > 0));
        Assert.All(ranks, r => Assert.Equal(0, r.GetProperty("exit_code").GetInt32()));
        var jobId = job.GetProperty("job_id").GetString()!;
        var runDir = job.GetProperty("run_directory").GetString()!;

        ClusterJobs.AssertAdapterOfLaunch(Path.Combine(Root, "launch"), runDir, ClusterJobs.TinyJob());

        // /metrics (Prometheus text, no token): the silo's instruments and Orleans' own.
        using (var http = new HttpClient())
        {
            string metrics = "";
            for (var i = 0; i < 20 && Sample(metrics, "mola_agent_rank_exits_total", "result=\"succeeded\"") != 2; i++)
            {
                await Task.Delay(i == 0 ? 0 : 500); // the exporter caches its answer for 300 ms
                metrics = await http.GetStringAsync($"http://127.0.0.1:{ApiPort}/metrics");
            }
            Assert.Equal(1, Sample(metrics, "mola_cluster_jobs_submitted_total"));
            Assert.Equal(2, Sample(metrics, "mola_agent_ranks_started_total"));
            Assert.Equal(2, Sample(metrics, "mola_agent_rank_exits_total", "result=\"succeeded\""));
            Assert.Equal(0, Sample(metrics, "mola_agent_ranks_running"));
            Assert.True(Sample(metrics, "orleans_app_requests_latency_milliseconds_count") > 0, metrics);
        }

        var logs = Mola("logs", jobId, "--rank", "1");
        Assert.True(logs.ExitCode == 0, logs.ToString());
        Assert.Contains($"rank 1 of {jobId} generation 1 started", logs.Stdout, StringComparison.Ordinal);
        Assert.Contains("exited with code 0", logs.Stdout, StringComparison.Ordinal);

        StopSilo();
        StartSilo();
        var jobs = Mola("jobs", "--json");
        Assert.True(jobs.ExitCode == 0, jobs.ToString());
        var listed = JsonDocument.Parse(jobs.Stdout).RootElement.EnumerateArray().Single(j => j.GetProperty("job_id").GetString() == jobId);
        Assert.Equal("succeeded", listed.GetProperty("state").GetString());
        Assert.Equal("tiny-dp2", listed.GetProperty("name").GetString());
        var table = Mola("jobs");
        Assert.Contains(jobId, table.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Stopping the silo while a job runs (SIGTERM: the agent stops its ranks, which checkpoint) and starting it again
    /// loses no work: the agent starts the job's ranks again from the persisted assignment, they resume from the newest
    /// checkpoint (`--resume auto`), and the job succeeds with every step logged exactly once.
    /// </summary>
    [Fact]
    public void ARunningJobContinuesFromItsCheckpointAfterASiloRestart()
    {
        StartSilo();
        var submit = Mola(["submit", .. ClusterJobs.TinyJobOf(60), "--dp", "2", "--json"]);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var jobId = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("job_id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Status(jobId).GetProperty("step").GetInt64() < 3 && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.True(Status(jobId).GetProperty("step").GetInt64() >= 3, SiloOutput);

        StopSilo();
        var runDir = Path.Combine(StateDir, "runs", jobId, "run"); // RUN_ROOT/JOB/run, read while no silo answers
        Assert.NotEmpty(Directory.GetDirectories(runDir, "checkpoint-*"));
        StartSilo();
        deadline = DateTime.UtcNow.AddSeconds(240); // generous: a busy 2-core machine ran these steps at 1 per second
        JsonElement job;
        while ((job = Status(jobId)).GetProperty("state").GetString() is "running" or "scheduled" or "queued" && DateTime.UtcNow < deadline)
            Thread.Sleep(250);
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job + "\n--- silo ---\n" + SiloOutput);
        Assert.Equal(60, job.GetProperty("step").GetInt64());
        Assert.Equal(Enumerable.Range(1, 60), new RunDirectory(runDir).ReadSteps().Select(s => s.Step));
        Assert.Contains("resumed from", File.ReadAllText(Path.Combine(Path.GetDirectoryName(runDir)!, "logs", "rank-0.log")), StringComparison.Ordinal);
    }

    private JsonElement Status(string jobId) => _cluster.Status(jobId);

    /// <summary>Refused at submit, naming the setting, exit 2; the cluster keeps no trace (no job listed, no run directory).</summary>
    [Fact]
    public void InvalidJobsAreRefusedAtSubmitAndNothingIsScheduled()
    {
        StartSilo();
        var negativeSteps = Path.Combine(Root, "job.yaml");
        File.WriteAllText(negativeSteps, $"base-model: {TinyCheckpoint.Path}\nsteps: -3\n");
        (string[] Args, string Field)[] cases =
        [
            (ClusterJobs.TinyJob("--shape", "24x8"), "shape"),
            (ClusterJobs.TinyJob("--strategy", "explicit", "--experts", "2,x,4"), "experts"),
            ([negativeSteps], "steps"),
            (["--base-model", Path.Combine(Root, "no-such-model"), "--steps", "2"], "base-model"),
            (ClusterJobs.TinyJob("--data", Path.Combine(Root, "missing.jsonl")), "data"),
            ([.. ClusterJobs.TinyJob(), "--dp", "4"], "dp"),
        ];
        foreach (var (args, field) in cases)
        {
            var run = Mola(["submit", .. args]);
            Assert.True(run.ExitCode == 2, $"{field}: {run}");
            Assert.Contains($"mola: error: {field}: ", run.Stderr, StringComparison.Ordinal);
        }
        var jobs = Mola("jobs", "--json");
        Assert.True(jobs.ExitCode == 0, jobs.ToString());
        Assert.Empty(JsonDocument.Parse(jobs.Stdout).RootElement.EnumerateArray());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(StateDir, "runs")));
    }

    /// <summary>The API needs the bearer token: none or a wrong one gets 401 and changes nothing; the client exits 1.</summary>
    [Fact]
    public async Task RequestsWithoutTheTokenGet401()
    {
        StartSilo();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ApiPort}/") };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/jobs")).StatusCode);
        using var post = new HttpRequestMessage(HttpMethod.Post, "api/jobs") { Content = new StringContent("{\"settings\":{}}", System.Text.Encoding.UTF8, "application/json") };
        post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(post)).StatusCode);

        var wrong = Path.Combine(Root, "wrong-token");
        File.WriteAllText(wrong, "not-the-token\n");
        var run = Mola("jobs", "--coordinator", $"http://127.0.0.1:{ApiPort}", "--token-file", wrong);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("401", run.Stderr, StringComparison.Ordinal);

        var token = File.ReadAllText(Path.Combine(StateDir, "token")).Trim();
        using var bad = new HttpRequestMessage(HttpMethod.Post, "api/jobs") { Content = new StringContent("{\"dp\": \"two\"}", System.Text.Encoding.UTF8, "application/json") };
        bad.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await http.SendAsync(bad);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"field\":\"body\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var jobs = Mola("jobs", "--json");
        Assert.Empty(JsonDocument.Parse(jobs.Stdout).RootElement.EnumerateArray());
    }

    private static double Sample(string exposition, string name, string label = "") => EmbeddedCluster.Sample(exposition, name, label);
}
