using MoLA.Training;
using System.Text.Json;
using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Training.Pretraining;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Pretraining;

/// <summary>
/// Pre-training a tiny LLaMA (hidden 32, 2 layers, GQA 4/2) on packed corpus text. One class so xunit runs the
/// tests one at a time: libtorch's generator is process-wide.
/// </summary>
public sealed class PretrainerTests : IDisposable
{
    private static readonly LlamaConfig Tiny = new(hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4,
        vocabSize: ByteLevelTokenizer.Size, numKeyValueHeads: 2, maxPositionEmbeddings: 64);

    private static readonly PretrainOptions Options = new()
    {
        Steps = 40, BatchSize = 4, SeqLen = 32, LearningRate = 1e-2, Seed = 3, Documents = 200, WorkedExamples = 100,
    };

    private readonly string _root = Directory.CreateTempSubdirectory("mola-pretrain-tests-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    private static PackedCorpus Corpus(PretrainOptions o) =>
        PackedCorpus.Pack(PretrainCorpus.Build(o.Seed, o.Documents, o.WorkedExamples), o.SeqLen, o.Seed);

    private static PretrainSummary Summary(int steps) => new(steps, 1.0, 1.0, 1, 1, 1, 1, "test");

    [Fact]
    public void LossFallsAndTheSavedDirectoryReloadsWithIdenticalLogits()
    {
        var corpus = Corpus(Options);
        using var trainer = new Pretrainer(Tiny, corpus, Options);
        var seen = new List<PretrainStepReport>();
        trainer.Progress = new InlineProgress<PretrainStepReport>(seen.Add);
        var reports = trainer.Train();
        Assert.Equal(Enumerable.Range(1, 40), reports.Select(r => r.Step));
        Assert.Equal(reports, seen);
        Assert.All(reports, r => Assert.True(r.Tokens == 4 * 32 && r.TokensPerSecond > 0 && r.GradNorm > 0));
        var first = reports.Take(5).Average(r => r.Loss);
        var last = reports.TakeLast(5).Average(r => r.Loss);
        Assert.True(first > 5.0, $"a fresh model starts near log(259) = 5.56, got {first}");
        Assert.True(last < first - 2.0, $"loss went from {first} to {last}");

        var dir = Path.Combine(_root, "base");
        PretrainedCheckpoint.Save(trainer.Model, dir, Options, Summary(40));
        Assert.True(ByteLevelTokenizerConfig.IsByteLevel(dir));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, PretrainedCheckpoint.SummaryFileName)));
        Assert.Equal(40, json.RootElement.GetProperty("options").GetProperty("steps").GetInt32());
        Assert.DoesNotContain(Directory.GetDirectories(_root), d => Path.GetFileName(d).StartsWith('.')); // no temp or old directory left

        using var loaded = LlamaCheckpoint.Load(dir);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        trainer.Model.eval();
        loaded.eval();
        var ids = torch.tensor(corpus.Batch(0, 2), 2, 32);
        var expected = trainer.Model.forward(ids).ToArray<float>();
        var actual = loaded.forward(ids).ToArray<float>();
        Assert.Equal(expected, actual);
        Assert.Equal(Pretrainer.Evaluate(trainer.Model, corpus, 8, 4), Pretrainer.Evaluate(loaded, corpus, 8, 4), 12);
    }

    [Fact]
    public void TheSameSeedGivesTheSameRunAndAnotherSeedDoesNot()
    {
        var options = Options with { Steps = 3 };
        var corpus = Corpus(options);
        double[] Losses(PretrainOptions o)
        {
            using var t = new Pretrainer(Tiny, corpus, o);
            return t.Train().Select(r => r.Loss).ToArray();
        }
        var a = Losses(options);
        Assert.Equal(a, Losses(options));
        Assert.NotEqual(a, Losses(options with { Seed = 4 }));
    }

    [Fact]
    public void SavingReplacesACheckpointButNeverAnUnrelatedDirectory()
    {
        using var model = new LlamaModel(Tiny);
        var dir = Path.Combine(_root, "out");
        PretrainedCheckpoint.Save(model, dir, Options, Summary(1));
        PretrainedCheckpoint.Save(model, dir, Options, Summary(2)); // an existing checkpoint is replaced
        Assert.True(File.Exists(Path.Combine(dir, LlamaCheckpoint.WeightsFileName)));

        var unrelated = Path.Combine(_root, "notes");
        Directory.CreateDirectory(unrelated);
        File.WriteAllText(Path.Combine(unrelated, "keep.txt"), "mine");
        var e = Assert.Throws<IOException>(() => PretrainedCheckpoint.Save(model, unrelated, Options, Summary(1)));
        Assert.Contains("refusing to replace", e.Message);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(unrelated, "keep.txt")));
    }

    [Fact]
    public void MismatchedSequenceLengthsAreRefused()
    {
        var corpus = Corpus(Options);
        var e = Assert.Throws<PretrainOptionsException>(() => new Pretrainer(Tiny, corpus, Options with { SeqLen = 16 }));
        Assert.Equal("seq-len", e.Field);
        var longer = PackedCorpus.Pack(PretrainCorpus.Build(1, 200, 0), 128, 1);
        e = Assert.Throws<PretrainOptionsException>(() => new Pretrainer(Tiny, longer, Options with { SeqLen = 128 }));
        Assert.Contains("max_position_embeddings", e.Message);
    }

}
