using MoLA.Model;
using MoLA.Training.Data;

namespace MoLA.Training.Tests.Data;

public sealed class ShufflingBatchingTests
{
    [Fact]
    public void SplitMix64_matches_reference_output()
    {
        var r = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, r.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, r.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, r.NextUInt64());
    }

    [Fact]
    public void NextInt_stays_in_range()
    {
        var r = new SplitMix64(7);
        for (int i = 0; i < 1000; i++)
        {
            var v = r.NextInt(3, 5);
            Assert.InRange(v, 3, 5);
        }
    }

    [Fact]
    public void Shuffle_is_a_fixed_permutation_for_a_fixed_seed()
    {
        var a = DeterministicShuffle.Shuffle(Enumerable.Range(0, 10), 42);
        Assert.Equal(new[] { 0, 9, 5, 8, 6, 4, 7, 2, 1, 3 }, a);
        Assert.Equal(a, DeterministicShuffle.Shuffle(Enumerable.Range(0, 10), 42));
        Assert.NotEqual(a, DeterministicShuffle.Shuffle(Enumerable.Range(0, 10), 43));
        Assert.Equal(Enumerable.Range(0, 10), a.Order());
    }

    [Fact]
    public void Epoch_permutations_differ_but_are_reproducible()
    {
        var e0 = DeterministicShuffle.Permutation(20, 1, epoch: 0);
        var e1 = DeterministicShuffle.Permutation(20, 1, epoch: 1);
        Assert.NotEqual(e0, e1);
        Assert.Equal(e1, DeterministicShuffle.Permutation(20, 1, epoch: 1));
        Assert.Equal(Enumerable.Range(0, 20), e1.Order());
    }

    private static TokenizedExample Ex(params int[] ids) => new(ids, ids.Select(i => i + 100).ToArray(), 0, false);

    [Fact]
    public void Batches_are_right_padded_with_masked_labels_and_attention_mask()
    {
        var xs = new[] { Ex(5, 6, 7), Ex(8), Ex(9, 10), Ex(11, 12, 13, 14, 15) };
        var batches = Batcher.MakeBatches(xs, batchSize: 3, padId: 0).ToList();
        Assert.Equal(2, batches.Count);
        var b = batches[0];
        Assert.Equal((3, 3), (b.BatchSize, b.SequenceLength));
        Assert.Equal([5, 6, 7, 8, 0, 0, 9, 10, 0], b.InputIds);
        Assert.Equal([105, 106, 107, 108, -100, -100, 109, 110, -100], b.Labels);
        Assert.Equal([1, 1, 1, 1, 0, 0, 1, 1, 0], b.AttentionMask);
        Assert.Equal(10, b[2, 1]);
        Assert.Equal(6, b.LabelledTokens);
        Assert.Equal((1, 5), (batches[1].BatchSize, batches[1].SequenceLength));
    }

    [Fact]
    public void Batching_honours_pad_id_drop_last_and_multiple()
    {
        var xs = new[] { Ex(5, 6, 7), Ex(8), Ex(9) };
        var batches = Batcher.MakeBatches(xs, 2, padId: 99, dropLast: true, padToMultipleOf: 4).ToList();
        var b = Assert.Single(batches);
        Assert.Equal(4, b.SequenceLength);
        Assert.Equal([5, 6, 7, 99, 8, 99, 99, 99], b.InputIds);
        Assert.Equal([1, 1, 1, 0, 1, 0, 0, 0], b.AttentionMask);
    }
}
