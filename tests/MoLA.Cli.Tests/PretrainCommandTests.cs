using System.Text.Json;
using MoLA.Model.Llama;
using MoLA.Training.Tokenizers;

namespace MoLA.Cli.Tests;

public sealed class PretrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mola-cli-pretrain-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    [Theory]
    [InlineData("--steps", "0")]
    [InlineData("--steps", "many")]
    [InlineData("--batch-size", "0")]
    [InlineData("--seq-len", "1")]
    [InlineData("--seq-len", "4096")]
    [InlineData("--lr", "-0.1")]
    [InlineData("--lr", "NaN")]
    [InlineData("--documents", "-5")]
    [InlineData("--seed", "-1")]
    [InlineData("--threads", "0")]
    public void ABadFlagExitsTwoAndNamesIt(string flag, string value)
    {
        var run = Cli.InProcess("pretrain", "--out", Path.Combine(_dir, "m"), flag, value);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains(flag, run.Stderr);
        Assert.DoesNotContain("(Parameter", run.Stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "m")));
    }

    [Fact]
    public void OutIsRequired()
    {
        var run = Cli.InProcess("pretrain", "--steps", "1");
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains("--out", run.Stderr);
    }

    [Fact]
    public void AnUnrelatedNonEmptyDirectoryIsNotReplaced()
    {
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "keep");
        var run = Cli.InProcess("pretrain", "--out", _dir, "--steps", "1");
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains("--out", run.Stderr);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(_dir, "notes.txt")));
    }

    [Fact]
    public void AShortRunWritesALoadableByteLevelCheckpoint()
    {
        var outDir = Path.Combine(_dir, "base");
        var run = Cli.InProcess("pretrain", "--out", outDir, "--steps", "2", "--batch-size", "2", "--seq-len", "32",
            "--documents", "40", "--worked-examples", "40", "--threads", "1", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var doc = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(2, doc.GetProperty("steps").GetInt32());
        Assert.True(doc.GetProperty("final_loss").GetDouble() is > 4 and < 6.5);
        Assert.Contains("step     2/2", run.Stderr);
        Assert.True(ByteLevelTokenizerConfig.IsByteLevel(outDir));
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "pretrain.json"))).RootElement;
        Assert.StartsWith("mola pretrain --out ", summary.GetProperty("command").GetString());
        using var model = LlamaCheckpoint.Load(outDir);
        Assert.Equal(8, model.Config.NumHiddenLayers);
    }
}
