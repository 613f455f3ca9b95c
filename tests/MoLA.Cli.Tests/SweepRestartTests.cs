using System.Text.Json;
using MoLA.TestSupport;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// A sweep on a real silo with PostgreSQL (grain state, membership, reminders) survives its coordinator dying mid-trial:
/// the silo and everything it started are SIGKILLed while the first trial trains, a new silo starts on the same
/// database, and the sweep goes on: the interrupted trial continues from its checkpoint (the same job, not a second
/// attempt), the second trial runs, and no trial runs twice. Then `mola sweep report` writes the results.
/// </summary>
public sealed class SweepRestartTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-sweep-restart-").FullName;
    private readonly PostgresServer _postgres = PostgresServer.Start();
    private readonly SiloCluster _cluster;

    public SweepRestartTests() => _cluster = new SiloCluster(_root, "postgres", _postgres.ConnectionString);

    public void Dispose()
    {
        // The database goes even when stopping a silo fails: a test must not leave a server behind.
        try { _cluster.Dispose(); }
        finally { _postgres.Dispose(); }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task ASweepSurvivesACoordinatorKilledMidTrial_AndRunsEachTrialToCompletionOnce()
    {
        var silo = _cluster.StartMigrated(nodes: 1);
        const int steps = 30;
        var file = ClusterJobs.TinySweep(_root, steps, evalItems: 4, "allocation: [{uniform: 2}, {lora: 2}]\nseeds: [1]\nname: restart",
            moreBase: "  checkpoint-every: 5");
        var submit = Cli.ChildProcess(new Dictionary<string, string>(), "sweep", file, "--coordinator", silo.Url, "--token-file", _cluster.TokenFile, "--json");
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var id = JsonDocument.Parse(submit.Stdout).RootElement.GetProperty("sweep_id").GetString()!;

        // The first trial has checkpointed at least once: the coordinator dies with its agent and ranks.
        var sweep = Wait(silo, id, s => Trial(s, "t1").GetProperty("step").GetInt64() >= 6, TimeSpan.FromSeconds(120));
        Assert.Equal("pending", Trial(sweep, "t2").GetProperty("state").GetString()); // one slot: one trial at a time
        silo.KillTree();
        silo = _cluster.Restart("node-a");

        var done = Wait(silo, id, s => s.GetProperty("state").GetString() != "running", TimeSpan.FromSeconds(300));
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done + "\n--- silo ---\n" + silo.Output);
        foreach (var trial in done.GetProperty("trials").EnumerateArray())
        {
            Assert.Equal("succeeded", trial.GetProperty("state").GetString());
            Assert.Equal(1, trial.GetProperty("attempts").GetInt32());
            var run = new RunDirectory(trial.GetProperty("run_directory").GetString()!);
            Assert.Equal(Enumerable.Range(1, steps), run.ReadSteps().Select(s => s.Step)); // every step once: resumed, not redone
            Assert.True(File.Exists(Path.Combine(run.Path, RunFiles.Evaluation)));
        }
        // The cluster ran exactly one job per trial.
        var jobs = _cluster.Get(silo, "/api/jobs").EnumerateArray().Select(j => j.GetProperty("job_id").GetString()!).Where(j => j.StartsWith(id, StringComparison.Ordinal)).Order();
        Assert.Equal([$"{id}-t1-1", $"{id}-t2-1"], jobs);

        // The dashboards' sweep families, served by the silo that hosts the sweep's grain.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"{silo.Url}/metrics");
        // Labels are matched one by one: the exporter orders them its own way.
        var succeeded = metrics.Split('\n').First(l => l.StartsWith("mola_sweep_trials{", StringComparison.Ordinal)
            && l.Contains($"sweep=\"{id}\"", StringComparison.Ordinal) && l.Contains("state=\"succeeded\"", StringComparison.Ordinal));
        Assert.Equal("2", succeeded[(succeeded.LastIndexOf('}') + 2)..].Split(' ')[0]);
        Assert.Equal(2, metrics.Split('\n').Count(l => l.StartsWith("mola_sweep_trial_score{", StringComparison.Ordinal) && l.Contains($"sweep=\"{id}\"", StringComparison.Ordinal)));

        var report = Cli.ChildProcess(new Dictionary<string, string>(), "sweep", "report", id, "--coordinator", silo.Url, "--token-file", _cluster.TokenFile);
        Assert.True(report.ExitCode == 0, report.ToString());
        var directory = done.GetProperty("directory").GetString()!;
        foreach (var name in new[] { "results.json", "leaderboard.csv", "report.html" }) Assert.True(File.Exists(Path.Combine(directory, name)), name);
        Assert.Contains("uniform-2", report.Stdout, StringComparison.Ordinal);
    }

    private static JsonElement Trial(JsonElement sweep, string name) =>
        sweep.GetProperty("trials").EnumerateArray().First(t => t.GetProperty("name").GetString() == name);

    private JsonElement Wait(SiloProcess silo, string id, Func<JsonElement, bool> done, TimeSpan timeout) =>
        _cluster.Poll(silo, $"/api/sweeps/{id}", done, timeout, $"sweep {id}");
}
