using System.Diagnostics;
using System.Text.Json;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

public sealed class TrainCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-train-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private string[] Args(string outDir, params string[] extra) =>
    [
        "train", "--base-model", TinyCheckpoint.Path, "--out", outDir, "--embedded-train-per-task", "8", "--embedded-test-per-task", "2",
        "--batch-size", "4", "--cutoff-len", "256", "--prompt-template", "alpaca-short", "--max-new-tokens", "6", "--threads", "2", "--peak-gflops", "100", .. extra,
    ];

    /// <summary>
    /// Under a node agent (MOLA_PROGRESS=1) rank 0 prints each evaluation as an "@mola" line: at the eval-at steps (a
    /// sweep's ASHA rungs) and at the end, with the whole set's accuracy per format.
    /// </summary>
    [Fact]
    public void UnderAnAgent_EachEvaluationIsPrintedForTheJobGrain()
    {
        var run = Cli.ChildProcess(new Dictionary<string, string> { ["MOLA_PROGRESS"] = "1" },
            Args(Path.Combine(_root, "evals"), "--steps", "4", "--eval-at", "1,3", "--eval-format", "both", "--eval-data", "embedded"));
        Assert.True(run.ExitCode == 0, run.ToString());
        var evaluations = run.Stdout.Split('\n').Where(l => l.StartsWith("@mola {\"eval_step\"", StringComparison.Ordinal))
            .Select(l => System.Text.Json.JsonDocument.Parse(l["@mola ".Length..]).RootElement).ToList();
        Assert.Equal([1L, 3L, 4L], evaluations.Select(e => e.GetProperty("eval_step").GetInt64()));
        Assert.All(evaluations, e => Assert.Equal(["generation", "multiple_choice"], e.GetProperty("accuracy").EnumerateObject().Select(p => p.Name)));
        Assert.All(evaluations, e => Assert.InRange(e.GetProperty("accuracy").GetProperty("generation").GetDouble(), 0, 1));
    }

    [Fact]
    public void ATrainRunWritesItsDirectoryAndPrintsJson()
    {
        var dir = Path.Combine(_root, "run");
        var run = Cli.InProcess(Args(dir, "--steps", "4", "--shape", "1234", "--micro-batch-size", "2", "--aux-loss-coef", "0.01", "--json"));
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal(4, json.RootElement.GetProperty("steps").GetInt32());
        Assert.False(json.RootElement.GetProperty("interrupted").GetBoolean());

        var rd = new RunDirectory(dir);
        var manifest = rd.ReadManifest();
        Assert.Equal([1, 2, 3, 4], manifest.Allocation.Experts);
        Assert.Equal("1234", manifest.Allocation.Shape);
        Assert.Equal("0.01", manifest.Config["aux-loss-coef"]);
        var steps = rd.ReadSteps(tolerateTruncatedTail: false);
        Assert.Equal([1, 2, 3, 4], steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.True(s.Loss > 0 && s.TokensPerSecond > 0 && s.AuxLoss > 0 && s.Mfu > 0));
        var load = rd.ReadExpertLoad()!;
        Assert.Equal(4 * 7, load.Modules.Count);
        Assert.Equal(4, load.Modules.Single(m => m.Layer == 3 && m.Module == "q_proj").Tokens.Length);
        var eval = rd.ReadEvaluation()!;
        var all = eval.Rows.Single(r => r.Task == "all" && r.Format == "generation");
        Assert.Equal(10, all.Total); // 5 task families x 2 test items
        Assert.True(all.CiLow <= all.Accuracy && all.Accuracy <= all.CiHigh);
        Assert.True(File.Exists(Path.Combine(rd.AdapterPath, "adapter_model.safetensors")));

        // eval reuses the run's base model, adapter and template, and rewrites eval.json.
        var eval2 = Cli.InProcess("eval", "--run", dir, "--eval-format", "both", "--max-new-tokens", "4", "--threads", "2", "--json");
        Assert.True(eval2.ExitCode == 0, eval2.ToString());
        var rows = rd.ReadEvaluation()!.Rows;
        Assert.Contains(rows, r => r.Format == "multiple_choice" && r.Task == "all" && r.Total == 10);
        Assert.Contains(rows, r => r.Format == "generation" && r.Task == "arithmetic" && r.Total == 2);

        var data = Path.Combine(_root, "score.jsonl");
        File.WriteAllText(data, "{\"instruction\": \"Say hi.\", \"output\": \"hi\"}\n{\"instruction\": \"Count.\", \"input\": \"1 2\", \"output\": \"1 2 3\"}\n");
        var score = Cli.InProcess("score", "--run", dir, "--data", data, "--json");
        Assert.True(score.ExitCode == 0, score.ToString());
        using var scores = JsonDocument.Parse(score.Stdout);
        Assert.Equal(2, scores.RootElement.GetArrayLength());
        Assert.All(scores.RootElement.EnumerateArray(), e => Assert.True(e.GetProperty("sum_log_prob").GetDouble() < 0));
        Assert.Equal(5, scores.RootElement[1].GetProperty("response_tokens").GetInt32()); // "1 2 3" in bytes
    }

    [Fact]
    public void YamlSettingsApplyAndFlagsWin()
    {
        var yaml = Path.Combine(_root, "run.yaml");
        File.WriteAllText(yaml, "steps: 3\nlearning_rate_typo: 1\n");
        var bad = Cli.InProcess(Args(Path.Combine(_root, "a"), "--config", yaml));
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
        Assert.Contains($"{yaml}:2: unknown setting 'learning-rate-typo'", bad.Stderr);

        File.WriteAllText(yaml, "steps: 3\nlr: fast\n");
        bad = Cli.InProcess(Args(Path.Combine(_root, "b"), "--config", yaml));
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
        Assert.Contains($"{yaml}:2: lr: must be a finite number, got 'fast'", bad.Stderr);
        Assert.False(Directory.Exists(Path.Combine(_root, "b")), "a refused run must not create its directory");

        File.WriteAllText(yaml, "steps: 3\nlr: 0.001\neval_data: none\ntarget_modules: [q, v]\n");
        var ok = Cli.InProcess(Args(Path.Combine(_root, "c"), "--config", yaml, "--steps", "2", "--json"));
        Assert.True(ok.ExitCode == 0, ok.ToString());
        var manifest = new RunDirectory(Path.Combine(_root, "c")).ReadManifest();
        Assert.Equal(2, manifest.TotalSteps);
        Assert.Equal("q,v", manifest.Config["target-modules"]);
        Assert.Equal(4 * 2, new RunDirectory(Path.Combine(_root, "c")).ReadExpertLoad()!.Modules.Count);
    }

    [Theory]
    [InlineData("--steps", "0", "--steps: must be in [1, 100000000], got 0")]
    [InlineData("--micro-batch-size", "3", "--micro-batch-size: must divide batch-size 4, got 3")]
    [InlineData("--shape", "2x", "--shape: '2x': character 'x' at index 1 is not a digit")]
    [InlineData("--top-k", "0", "--top-k: '0': value must be positive, got 0.")]
    [InlineData("--method", "qlora", "--method: must be one of moe-lora, lora, got 'qlora'")]
    [InlineData("--bf16", "true", "--bf16: bf16 autocast needs --device cuda")]
    [InlineData("--target-modules", "q,wq", "--target-modules: 'wq' is not a projection")]
    [InlineData("--eval-at", "3,2", "--eval-at: steps must be ascending, got 3 then 2")]
    [InlineData("--eval-at", "0", "--eval-at: '0' is not a step >= 1")]
    public void BadSettingsAreRefusedNamingTheSetting(string flag, string value, string expected)
    {
        var dir = Path.Combine(_root, "bad");
        var run = Cli.InProcess(Args(dir, flag, value));
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(expected, run.Stderr);
        Assert.DoesNotContain("(Parameter '", run.Stderr); // .NET's ArgumentException suffix is not for users
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void BrokenJsonNamesTheLineAndColumnOnce()
    {
        var data = Path.Combine(_root, "broken.jsonl");
        File.WriteAllText(data, "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\", \"output\": b}\n");
        var run = Cli.InProcess(Args(Path.Combine(_root, "j"), "--data", data, "--steps", "1"));
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains($"{data}:2: invalid JSON at column 32: 'b' is an invalid start of a value.", run.Stderr);
        Assert.DoesNotContain("LineNumber", run.Stderr);
    }

    [Fact]
    public void MalformedDataNamesTheFileAndLineAndAnExistingRunIsNotOverwritten()
    {
        var data = Path.Combine(_root, "data.jsonl");
        File.WriteAllText(data, "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\"}\n");
        var run = Cli.InProcess(Args(Path.Combine(_root, "m"), "--data", data, "--steps", "1"));
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains($"{data}:2", run.Stderr);
        Assert.Contains("output", run.Stderr);

        var dir = Path.Combine(_root, "existing");
        Assert.Equal(0, Cli.InProcess(Args(dir, "--steps", "1", "--eval-data", "none")).ExitCode);
        var before = File.ReadAllText(Path.Combine(dir, RunFiles.Manifest));
        var again = Cli.InProcess(Args(dir, "--steps", "1", "--eval-data", "none"));
        Assert.Equal(ExitCodes.Usage, again.ExitCode);
        Assert.Contains("already holds a run", again.Stderr);
        Assert.Equal(before, File.ReadAllText(Path.Combine(dir, RunFiles.Manifest)));
    }

    [Fact]
    public async Task SigintWritesACheckpointAndResumeFinishesTheRun()
    {
        var dir = Path.Combine(_root, "interrupted");
        var args = Args(dir, "--steps", "60", "--eval-data", "none", "--checkpoint-every", "0");
        args[Array.IndexOf(args, "--batch-size") + 1] = "16";
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Cli.MolaDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var steps = Path.Combine(dir, RunFiles.Steps);
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline && !(File.Exists(steps) && File.ReadAllLines(steps).Length >= 3)) Thread.Sleep(50);
        if (!File.Exists(steps))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"the run did not start within 120 s:\n{await stderr}");
        }
        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.True(p.WaitForExit(60_000), "the interrupted run did not exit");
        p.WaitForExit();
        var err = await stderr;
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}\n{await stdout}\n{err}");
        Assert.Contains("checkpoint written to", err);
        var stoppedAt = new RunDirectory(dir).ReadSteps().Count;
        Assert.True(stoppedAt is >= 3 and < 60);
        Assert.True(Directory.Exists(Path.Combine(dir, $"checkpoint-{stoppedAt}")));

        // A resume under other trajectory settings is refused; with the same settings it runs to the end.
        var refused = Cli.InProcess([.. args, "--resume", "true", "--lr", "0.01"]);
        Assert.Equal(ExitCodes.Failure, refused.ExitCode);
        Assert.Contains("different trainer options", refused.Stderr);
        var resumed = Cli.InProcess([.. args, "--resume", "true"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"resumed from", resumed.Stderr);
        Assert.Equal(Enumerable.Range(1, 60), new RunDirectory(dir).ReadSteps(tolerateTruncatedTail: false).Select(s => s.Step));
        Assert.True(File.Exists(Path.Combine(dir, RunFiles.AdapterDir, "adapter_model.safetensors")));
    }
}
