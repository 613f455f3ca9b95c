using MoLA.Torch;
using MoLA.Torch.Distributed;

namespace MoLA.Parallel.Tests;

[Collection(SerialCollection.Name)]
public sealed class GradientBucketsTests
{
    [Fact]
    public void BackwardAccumulatesIntoTheFlatBuffersAndTheyAreSplitBySize()
    {
        using var store = TcpStore.CreateServer(0, TimeSpan.FromSeconds(10));
        using var pg = GlooProcessGroup.Create(store, 0, 1, TimeSpan.FromSeconds(10), "buckets");
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var a = torch.randn([4, 3]).requires_grad_();
        var b = torch.randn([5]).requires_grad_();
        var c = torch.randn([2, 2]).requires_grad_();
        Tensor Loss() => a.sum(0).mul(b.narrow(0, 0, 3)).sum().add(c.square().sum().mul(b.sum()));

        // Oracle: plain backward twice (accumulation), no buckets.
        Loss().backward();
        Loss().backward();
        var expected = new[] { a, b, c }.Select(p => p.grad!.contiguous().ToArray<float>()).ToArray();
        foreach (var p in new[] { a, b, c }) p.grad = null;

        // 12 + 5 floats fit in 80 bytes; c (16 bytes) starts a second bucket.
        using var buckets = new GradientBuckets([a, b, c], pg, bucketBytes: 80);
        Assert.Equal(2, buckets.Count);
        buckets.Attach();
        Loss().backward();
        Loss().backward();
        buckets.AllReduce();
        var flat = buckets.Buffers.SelectMany(t => t.ToArray<float>()).ToArray();
        Assert.Equal(expected.SelectMany(x => x).ToArray(), flat);
        Assert.Equal(expected[0], a.grad!.contiguous().ToArray<float>());
        Assert.Equal(flat.Sum(v => (double)v * v), buckets.SumOfSquares(), 9);

        // Attach again zeroes the buffers (a new step).
        buckets.Attach();
        Assert.All(buckets.Buffers.SelectMany(t => t.ToArray<float>()), v => Assert.Equal(0f, v));
        Assert.Equal(0, buckets.SumOfSquares());
    }
}
