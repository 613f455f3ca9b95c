using MoLA.Training.Data;
using MoLA.Training.Pretraining;
using MoLA.Training.Tokenizers;

namespace MoLA.Training.Tests.Pretraining;

public sealed class PretrainCorpusTests
{
    [Fact]
    public void TheCorpusIsDeterministicMixedAndHoldsNoTestItem()
    {
        var docs = PretrainCorpus.Build(seed: 5, documents: 3000, workedExamples: 3000);
        Assert.Equal(6000, docs.Count);
        Assert.Equal(docs, PretrainCorpus.Build(5, 3000, 3000));
        Assert.NotEqual(docs, PretrainCorpus.Build(6, 3000, 3000));
        Assert.Contains(docs, d => d.Contains("The answer is ", StringComparison.Ordinal));      // lettered form
        Assert.Contains(docs, d => d.StartsWith("What is ", StringComparison.Ordinal) && !d.Contains('\n'));

        var test = TinyBaseModel.DemoBenchmark().Test.Items;
        Assert.Equal(5 * TinyBaseModel.BenchmarkTestPerTask, test.Count);
        foreach (var item in test)
        {
            Assert.DoesNotContain(docs, d => d.StartsWith(item.MultipleChoice.Question, StringComparison.Ordinal));
            Assert.DoesNotContain(docs, d => d.Contains(item.Statement, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void AHeldOutSplitIsLeftOutEvenWhenItsItemsAreCommon()
    {
        // A tiny arithmetic-heavy split: its statements are likely to be drawn, so the filter must act.
        var heldOut = EmbeddedBenchmark.Generate(seed: 1, trainPerTask: 0, testPerTask: 30).Test;
        var docs = PretrainCorpus.Build(2, 4000, 4000, heldOut);
        var questions = heldOut.Items.Select(i => i.MultipleChoice.Question).ToList();
        Assert.DoesNotContain(docs, d => questions.Any(q => d.StartsWith(q, StringComparison.Ordinal)));
        Assert.DoesNotContain(docs, d => heldOut.Items.Any(i => d.Contains(i.Statement, StringComparison.Ordinal)));
    }

    [Fact]
    public void PackingConcatenatesBosTextEosAndCutsFullWindows()
    {
        var docs = new[] { "ab", "", "xyz" };
        var packed = PackedCorpus.Pack(docs, sequenceLength: 3, seed: 1);
        // Plain oracle: the stream is BOS a b EOS BOS EOS BOS x y z EOS (11 tokens) -> 3 windows, 2 dropped.
        int B = ByteLevelTokenizer.Bos, E = ByteLevelTokenizer.Eos;
        int[] stream = [B, 'a', 'b', E, B, E, B, 'x', 'y', 'z', E];
        Assert.Equal(11, packed.Tokens);
        Assert.Equal(3, packed.Windows);
        Assert.Equal(3, packed.Documents);
        for (var w = 0; w < 3; w++) Assert.Equal(stream[(w * 3)..(w * 3 + 3)], packed.Window(w).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => packed.Window(3));
    }

    [Fact]
    public void BatchesVisitEveryWindowOncePerEpochInASeededOrder()
    {
        var docs = Enumerable.Range(0, 40).Select(i => $"document {i}").ToList();
        var packed = PackedCorpus.Pack(docs, 8, seed: 9);
        var n = packed.Windows;
        var epoch0 = packed.Batch(0, n);
        var epoch1 = packed.Batch(n, n);
        var windows = Enumerable.Range(0, n).Select(w => string.Join(',', packed.Window(w).ToArray())).OrderBy(s => s).ToList();
        string[] Rows(long[] ids) => Enumerable.Range(0, n).Select(r => string.Join(',', ids.Skip(r * 8).Take(8))).ToArray();
        Assert.Equal(windows, Rows(epoch0).OrderBy(s => s));
        Assert.Equal(windows, Rows(epoch1).OrderBy(s => s));
        Assert.NotEqual(Rows(epoch0), Rows(epoch1));
        Assert.Equal(epoch0, PackedCorpus.Pack(docs, 8, seed: 9).Batch(0, n));
        Assert.NotEqual(epoch0, PackedCorpus.Pack(docs, 8, seed: 10).Batch(0, n));
        Assert.Equal(epoch0.Skip(3 * 8).Take(2 * 8), packed.Batch(3, 2)); // any start position reads the same order
    }

    [Fact]
    public void ACorpusShorterThanOneWindowIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => PackedCorpus.Pack(["hi"], 64, 0));
        Assert.Contains("fewer than one window of 64", e.Message);
    }

    [Theory]
    [InlineData("steps", 0, 16, 256, 3e-3, 10)]
    [InlineData("batch-size", 10, 0, 256, 3e-3, 10)]
    [InlineData("seq-len", 10, 16, 1, 3e-3, 10)]
    [InlineData("lr", 10, 16, 256, -1.0, 10)]
    [InlineData("lr", 10, 16, 256, double.NaN, 10)]
    [InlineData("documents", 10, 16, 256, 3e-3, -1)]
    public void InvalidOptionsNameTheirField(string field, int steps, int batch, int seqLen, double lr, int documents)
    {
        var o = new PretrainOptions { Steps = steps, BatchSize = batch, SeqLen = seqLen, LearningRate = lr, Documents = documents };
        var e = Assert.Throws<PretrainOptionsException>(o.Validate);
        Assert.Equal(field, e.Field);
        Assert.Contains($"'{field}'", e.Message);
    }

    [Fact]
    public void TheTokenizerMarkerRoundTripsAndRejectsWrongIds()
    {
        var dir = Directory.CreateTempSubdirectory("mola-tokcfg-").FullName;
        try
        {
            Assert.False(ByteLevelTokenizerConfig.IsByteLevel(dir));
            ByteLevelTokenizerConfig.Write(dir);
            Assert.True(ByteLevelTokenizerConfig.IsByteLevel(dir));
            var path = Path.Combine(dir, ByteLevelTokenizerConfig.FileName);
            File.WriteAllText(path, File.ReadAllText(path).Replace("\"eos_token_id\": 258", "\"eos_token_id\": 2"));
            var e = Assert.Throws<TokenizerException>(() => ByteLevelTokenizerConfig.IsByteLevel(dir));
            Assert.Contains("eos_token_id", e.Message);
            File.WriteAllText(path, "{\"tokenizer_class\": \"LlamaTokenizer\"}");
            Assert.False(ByteLevelTokenizerConfig.IsByteLevel(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
