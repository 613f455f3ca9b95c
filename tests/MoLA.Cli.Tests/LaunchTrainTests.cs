using MoLA.Torch;
using MoLA.Torch.IO;
using MoLA.Training.Runs;

namespace MoLA.Cli.Tests;

/// <summary>
/// `mola launch --nproc 2 [--dp 1 --ep 2] -- train ...`: two data- or expert-parallel ranks equal one process on the same
/// global batch. Run with --dtype float64: the ranks and the single process sum the same terms in another order, so
/// they differ by rounding only, ~1e-16 relative per sum, and AdamW turns a gradient difference dg into at most
/// lr * dg / eps (eps 1e-8) per step: ~1e-10 over these 6 steps at lr 1e-2. The bound 1e-8 on every adapter element and
/// loss holds on any CPU's kernels (in float32, rounding differences on near-zero gradients become AdamW steps of up
/// to lr, so no CPU-independent bound below lr exists) and is far below a real error (a lost rank's share moves
/// elements by 1e-3 and more).
/// </summary>
public sealed class LaunchTrainTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mola-launch-train-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private const double Tolerance = 1e-8;
    private static readonly string[] NoEval = ["--eval-data", "none"];

    private static string[] Train(string outDir, string lr, string[] eval) =>
    [
        "train", "--base-model", TinyCheckpoint.Path, "--out", outDir, "--embedded-train-per-task", "8", "--batch-size", "4",
        "--cutoff-len", "256", "--prompt-template", "alpaca-short", "--steps", "6", "--threads", "1",
        "--peak-gflops", "100", "--dropout", "0", "--lr", lr, "--dtype", "float64", .. eval,
    ];

    // Test classes run in parallel: each launch gets its own store port instead of the default 29500.
    private static string Port() => MoLA.TestSupport.LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void TwoDataParallelRanksTrainTheSameAdapterAsOneProcess() =>
        AssertSameRunAsOneProcess(["launch", "--nproc", "2"], "dp2", "1e-2", NoEval);

    /// <summary>
    /// dp 1 x ep 2: each rank holds half of every module's experts; rank 0 gathers them into the same adapter.
    /// Rank 0 also evaluates mid-run and at the end on an unsharded copy holding the gathered experts.
    /// </summary>
    [Fact]
    public void TwoExpertParallelRanksTrainTheSameAdapterAsOneProcess() =>
        AssertSameRunAsOneProcess(["launch", "--nproc", "2", "--dp", "1", "--ep", "2"], "ep2", "1e-2",
            ["--eval-data", "embedded", "--embedded-test-per-task", "2", "--eval-every", "3", "--eval-format", "multiple-choice"]);

    private void AssertSameRunAsOneProcess(string[] launch, string name, string lr, string[] eval)
    {
        var single = Path.Combine(_root, "single");
        var one = Cli.InProcess(Train(single, lr, eval));
        Assert.True(one.ExitCode == 0, one.ToString());
        var parallel = Path.Combine(_root, name);
        var two = Cli.ChildProcess(new Dictionary<string, string>(), [.. launch, "--master-port", Port(), "--", .. Train(parallel, lr, eval)]);
        Assert.True(two.ExitCode == 0, two.ToString());

        var a = new RunDirectory(single).ReadSteps();
        var b = new RunDirectory(parallel).ReadSteps();
        Assert.Equal(a.Select(x => x.Step), b.Select(x => x.Step));
        for (var i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Tokens, b[i].Tokens); // the step's tokens summed over both ranks
            Assert.Equal(a[i].Loss, b[i].Loss, Tolerance);
            // MFU = tokens x FLOPs/token / seconds / (peak x world): with the same model and --peak-gflops, its ratio to
            // tokens/second is 1/world of the single process's (it was once multiplied by the world size instead).
            var mfuPerTokenRateOne = a[i].Mfu!.Value / (a[i].Tokens / a[i].Seconds);
            var mfuPerTokenRateTwo = b[i].Mfu!.Value / (b[i].Tokens / b[i].Seconds);
            Assert.Equal(mfuPerTokenRateOne / 2, mfuPerTokenRateTwo, mfuPerTokenRateOne * 1e-9);
        }
        Assert.Equal(new RunDirectory(single).ReadManifest().TrainableParameters, new RunDirectory(parallel).ReadManifest().TrainableParameters);
        // expert_load.json counts the whole job's tokens (summed over ranks), not rank 0's share; float64 routing is the
        // single process's, so the counts are equal.
        var loadA = new RunDirectory(single).ReadExpertLoad()!.Modules;
        var loadB = new RunDirectory(parallel).ReadExpertLoad()!.Modules;
        Assert.Equal(loadA.Select(m => (m.Layer, m.Module, string.Join(",", m.Tokens))), loadB.Select(m => (m.Layer, m.Module, string.Join(",", m.Tokens))));
        if (eval != NoEval)
        {
            var evalA = new RunDirectory(single).ReadEvaluation()!.Rows;
            var evalB = new RunDirectory(parallel).ReadEvaluation()!.Rows;
            Assert.Equal(evalA.Select(r => (r.Task, r.Format, r.Correct, r.Total)), evalB.Select(r => (r.Task, r.Format, r.Correct, r.Total)));
            Assert.Contains(evalB, r => r.Task == "all" && r.Total == 10);
            Assert.Contains("eval at step 3", two.Stdout + two.Stderr);
        }
        using var scope = torch.NewDisposeScope();
        var expected = SafetensorsIO.Load(Path.Combine(single, RunFiles.AdapterDir, "adapter_model.safetensors"));
        var actual = SafetensorsIO.Load(Path.Combine(parallel, RunFiles.AdapterDir, "adapter_model.safetensors"));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        var worst = ("", 0.0);
        foreach (var (tensor, t) in expected)
        {
            Assert.Equal(t.Shape, actual[tensor].Shape);
            var diff = t.sub(actual[tensor]).abs().max().item();
            if (diff >= worst.Item2) worst = (tensor, diff);
        }
        Assert.True(worst.Item2 < Tolerance, $"{worst.Item1}: max difference {worst.Item2}");
        // The adapter moved (B starts at 0): the comparison is not between two untrained adapters.
        Assert.True(expected.Where(t => t.Key.Contains("lora_B", StringComparison.Ordinal)).Max(t => t.Value.abs().max().item()) > 1e-3);
    }
}
