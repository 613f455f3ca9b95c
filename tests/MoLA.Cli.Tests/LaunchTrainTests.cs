using MoLA.Torch;
using MoLA.Torch.IO;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>`mola launch --nproc 2 -- train ...`: two data-parallel ranks equal one process on the same global batch.</summary>
public sealed class LaunchTrainTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-launch-train-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private string[] Train(string outDir) =>
    [
        "train", "--base-model", TinyCheckpoint.Path, "--out", outDir, "--embedded-train-per-task", "8", "--batch-size", "4",
        "--cutoff-len", "256", "--prompt-template", "alpaca-short", "--steps", "6", "--eval-data", "none", "--threads", "1",
        "--peak-gflops", "100", "--dropout", "0", "--lr", "1e-2",
    ];

    // Test classes run in parallel: each launch gets its own store port instead of the default 29500.
    private static string Port() => MoLA.TestSupport.LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void TwoDataParallelRanksTrainTheSameAdapterAsOneProcess()
    {
        var single = Path.Combine(_root, "single");
        var one = Cli.InProcess(Train(single));
        Assert.True(one.ExitCode == 0, one.ToString());
        var dp = Path.Combine(_root, "dp2");
        var two = Cli.ChildProcess(new Dictionary<string, string>(), ["launch", "--nproc", "2", "--master-port", Port(), "--", .. Train(dp)]);
        Assert.True(two.ExitCode == 0, two.ToString());

        var a = new RunDirectory(single).ReadSteps();
        var b = new RunDirectory(dp).ReadSteps();
        Assert.Equal(a.Select(x => x.Step), b.Select(x => x.Step));
        for (var i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Tokens, b[i].Tokens); // the step's tokens summed over both ranks
            Assert.Equal(a[i].Loss, b[i].Loss, 5);
        }
        using var scope = torch.NewDisposeScope();
        var expected = SafetensorsIO.Load(Path.Combine(single, RunFiles.AdapterDir, "adapter_model.safetensors"));
        var actual = SafetensorsIO.Load(Path.Combine(dp, RunFiles.AdapterDir, "adapter_model.safetensors"));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, t) in expected)
        {
            var diff = t.sub(actual[name]).abs().max().item();
            Assert.True(diff < 1e-5, $"{name}: max difference {diff}");
        }
    }

    [Fact]
    public void ExpertParallelTrainingIsRefusedWithAReason()
    {
        var run = Cli.ChildProcess(new Dictionary<string, string>(), ["launch", "--nproc", "2", "--dp", "1", "--ep", "2", "--master-port", Port(), "--", .. Train(Path.Combine(_root, "ep"))]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("data-parallel only", run.Stdout + run.Stderr);
    }
}
