using MoLA.TestSupport;
using MoLA.Torch;
using MoLA.Training.Runs;
using MoLA.Torch.IO;

namespace MoLA.Cli.Tests;

/// <summary>The small training job the cluster tests submit, and the adapter comparison against `mola launch`.</summary>
internal static class ClusterJobs
{
    public static string[] TinyJob(params string[] more) => TinyJobOf(4, more);

    /// <summary>
    /// A sweep file of tiny trials (the tiny checkpoint, multiple-choice evaluation on <paramref name="evalItems"/> items)
    /// written into <paramref name="directory"/>; <paramref name="rest"/> is YAML after the base (allocation, seeds, ...).
    /// </summary>
    public static string TinySweep(string directory, int steps, int evalItems, string rest, string moreBase = "")
    {
        var file = Path.Combine(directory, "sweep.yaml");
        File.WriteAllText(file, $"""
            base:
              base-model: {TinyCheckpoint.Path}
              embedded-train-per-task: 8
              batch-size: 4
              cutoff-len: 256
              prompt-template: alpaca-short
              steps: {steps}
              threads: 1
              peak-gflops: 100
              eval-format: multiple-choice
              eval-limit: {evalItems}
            {moreBase}
            metric: multiple-choice
            {rest}
            """);
        return file;
    }

    public static string[] TinyJobOf(int steps, params string[] more) =>
    [
        "--base-model", TinyCheckpoint.Path, "--embedded-train-per-task", "8", "--batch-size", "4", "--cutoff-len", "256",
        "--prompt-template", "alpaca-short", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--threads", "1", "--peak-gflops", "100", "--dropout", "0", "--eval-data", "none", .. more,
    ];

    /// <summary>
    /// Runs <paramref name="job"/> uninterrupted with `mola launch --nproc 2 [launchOptions]` into
    /// <paramref name="launchDir"/> and asserts the adapter in <paramref name="runDir"/> is bitwise its adapter.
    /// </summary>
    public static void AssertAdapterOfLaunch(string launchDir, string runDir, string[] job, params string[] launchOptions)
    {
        var launch = Cli.ChildProcess(new Dictionary<string, string>(),
            ["launch", "--nproc", "2", .. launchOptions, "--master-port", LoopbackPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--", "train", "--out", launchDir, .. job]);
        Assert.True(launch.ExitCode == 0, launch.ToString());
        AssertSameAdapter(Path.Combine(launchDir, RunFiles.AdapterDir), Path.Combine(runDir, RunFiles.AdapterDir));
    }

    /// <summary>
    /// Bitwise: the cluster's ranks and `mola launch`'s are the same programs with the same inputs on the same machine
    /// (same kernels, same thread count, two-rank sums are order-free), so any difference means the agent handed the
    /// ranks a different contract.
    /// </summary>
    public static void AssertSameAdapter(string expectedDir, string actualDir)
    {
        using var scope = torch.NewDisposeScope();
        var expected = SafetensorsIO.Load(Path.Combine(expectedDir, "adapter_model.safetensors"));
        var actual = SafetensorsIO.Load(Path.Combine(actualDir, "adapter_model.safetensors"));
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var name in expected.Keys)
        {
            Assert.Equal(expected[name].Shape, actual[name].Shape);
            Assert.True(expected[name].sub(actual[name]).abs().max().item() == 0, $"{name} differs");
        }
    }
}
