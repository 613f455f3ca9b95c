using MoLA.Model.Llama;
using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Model.Tests.Llama;

/// <summary>The cache's buffer growth and batch selection, checked against full forwards (float64, no RNG use).</summary>
public sealed class LlamaKvCacheTests
{
    private static LlamaModel Model()
    {
        var config = new LlamaConfig(hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2, numAttentionHeads: 4,
            vocabSize: 50, numKeyValueHeads: 2, maxPositionEmbeddings: 256);
        LlamaModel model;
        using (init.skip_init()) model = new LlamaModel(config, DType.Float64);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var k = 0;
        foreach (var (name, t) in model.BaseParameters())
        {
            var values = new double[t.NumEl];
            for (var i = 0; i < values.Length; i++) values[i] = name.EndsWith("norm.weight", StringComparison.Ordinal) ? 1 : 0.3 * Math.Sin(1.7 * (k++) + 0.3);
            t.copy_(torch.tensor(values, t.Shape));
        }
        return model;
    }

    private static long[] Ids(int n, int salt) => Enumerable.Range(0, n).Select(i => (long)((i * 7 + salt * 13) % 50)).ToArray();

    private static double[] Last(Tensor logits) => logits.select(1, logits.size(1) - 1).contiguous().ToArray<double>();

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-9, $"{what}: element {i} expected {expected[i]} got {actual[i]}");
    }

    [Fact]
    public void GrowingPastTheInitialCapacityMatchesTheFullForward()
    {
        using var model = Model();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = Ids(150, 1);
        using var cache = model.NewKvCache();
        model.forward(torch.tensor(ids[..60], 1, 60), cache, 0);
        for (var pos = 60; pos < 150; pos++) // prefill 60 gets capacity 128; crosses it at 128
        {
            using var step = torch.NewDisposeScope();
            var logits = model.forward(torch.tensor(ids[pos..(pos + 1)], 1, 1), cache, pos);
            if (pos is 60 or 127 or 128 or 129 or 149)
                AssertClose(Last(model.forward(torch.tensor(ids[..(pos + 1)], 1, pos + 1))), Last(logits), $"position {pos}");
        }
        Assert.Equal(new long[] { 1, 2, 150, 4 }, cache.Keys(1)!.Shape);
        cache.Truncate(100);
        AssertClose(Last(model.forward(torch.tensor(ids[..101], 1, 101))), Last(model.forward(torch.tensor(ids[100..101], 1, 1), cache, 100)), "after Truncate");
    }

    [Fact]
    public void SelectBatchKeepsReordersAndRepeatsRows()
    {
        using var model = Model();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        long[] a = Ids(10, 2), b = Ids(10, 3);
        using var cache = model.NewKvCache();
        model.forward(torch.tensor([.. a, .. b], 2, 10), cache, 0);
        cache.SelectBatch([1, 0, 1]);
        Assert.Equal(3, cache.Keys(0)!.size(0));
        var next = model.forward(torch.tensor(new long[] { 5, 6, 7 }, 3, 1), cache, 10);
        long[][] rows = [[.. b, 5], [.. a, 6], [.. b, 7]];
        for (var r = 0; r < 3; r++)
            AssertClose(Last(model.forward(torch.tensor(rows[r], 1, 11))), next.select(0, r).select(0, 0).contiguous().ToArray<double>(), $"row {r}");

        Assert.Throws<ArgumentOutOfRangeException>(() => cache.SelectBatch([3]));
        Assert.Throws<ArgumentException>(() => cache.SelectBatch([]));
        using var empty = model.NewKvCache();
        Assert.Throws<InvalidOperationException>(() => empty.SelectBatch([0]));
    }
}
