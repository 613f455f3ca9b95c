using System.Diagnostics;
using MoLA.Torch.Distributed;

namespace MoLA.Torch.Tests.Distributed;

/// <summary>In-process checks with a one-rank Gloo group (collectives are local copies) and rendezvous errors.</summary>
[Collection(DistributedCollection.Name)]
public sealed class SingleRankGroupTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private readonly TcpStore _store = TcpStore.CreateServer(0, Timeout, worldSize: 1);
    private readonly GlooProcessGroup _pg;

    public SingleRankGroupTests()
    {
        _pg = GlooProcessGroup.Create(_store, 0, 1, Timeout, "single-" + Guid.NewGuid().ToString("N"));
    }

    public void Dispose()
    {
        _pg.Dispose();
        _store.Dispose();
    }

    [Fact]
    public void Rank_and_size()
    {
        ICollectives c = _pg;
        Assert.Equal(0, c.Rank);
        Assert.Equal(1, c.Size);
    }

    [Theory]
    [InlineData(ReduceOp.Sum)]
    [InlineData(ReduceOp.Avg)]
    [InlineData(ReduceOp.Max)]
    [InlineData(ReduceOp.Min)]
    [InlineData(ReduceOp.Product)]
    public void AllReduce_is_identity(ReduceOp op)
    {
        using var f = torch.tensor(new float[] { 1.5f, -2, 3 });
        _pg.AllReduce(f, op);
        Assert.Equal([1.5f, -2, 3], f.ToArray<float>());
        using var l = torch.tensor(new long[] { 7, -9 });
        _pg.AllReduce(l, op);
        Assert.Equal([7L, -9L], l.ToArray<long>());
    }

    [Fact]
    public void Broadcast_is_identity_and_checks_the_root()
    {
        using var t = torch.tensor(new double[] { 1, 2, 3, 4 }, 2, 2);
        _pg.Broadcast(t, 0);
        Assert.Equal([1.0, 2, 3, 4], t.ToArray<double>());
        var e = Assert.Throws<CollectiveException>(() => _pg.Broadcast(t, 1));
        Assert.Contains("root 1", e.Message);
        Assert.Contains("rank 0 of 1", e.Message);
        Assert.False(e.IsTimeout);
        _pg.Barrier();  // argument errors leave the group usable
    }

    [Fact]
    public void AllGather_copies_into_the_output()
    {
        using var input = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var output = torch.zeros([1, 2, 3]);
        _pg.AllGather(input, output);
        Assert.Equal([1f, 2, 3, 4, 5, 6], output.ToArray<float>());

        using var tooSmall = torch.zeros([4]);
        var e = Assert.Throws<CollectiveException>(() => _pg.AllGather(input, tooSmall));
        Assert.Contains("AllGather", e.Message);
        Assert.Contains("4 elements", e.Message);
        using var wrongType = torch.zeros([6], DType.Float64);
        Assert.Throws<CollectiveException>(() => _pg.AllGather(input, wrongType));
    }

    [Fact]
    public void AllToAll_copies_rows()
    {
        using var input = torch.tensor(new long[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        using var output = torch.zeros([3, 2], DType.Int64);
        _pg.AllToAll(output, input, [3], [3]);
        Assert.Equal([1L, 2, 3, 4, 5, 6], output.ToArray<long>());

        using var equal = torch.zeros([3, 2], DType.Int64);
        _pg.AllToAll(equal, input, null, null);
        Assert.Equal([1L, 2, 3, 4, 5, 6], equal.ToArray<long>());

        Assert.Throws<ArgumentException>(() => _pg.AllToAll(output, input, [1, 2], [1, 2]));
        Assert.Throws<ArgumentException>(() => _pg.AllToAll(output, input, [3], null));
        var e = Assert.Throws<CollectiveException>(() => _pg.AllToAll(output, input, [3], [2]));
        Assert.Contains("in_splits sum to 2 rows but input has 3 rows", e.Message);
        _pg.Barrier();
    }

    [Fact]
    public void Disposed_group_throws_ObjectDisposedException()
    {
        var pg = GlooProcessGroup.Create(_store, 0, 1, Timeout, "short-lived-" + Guid.NewGuid().ToString("N"));
        pg.Dispose();
        pg.Dispose();
        using var t = torch.zeros([1]);
        Assert.Throws<ObjectDisposedException>(() => pg.AllReduce(t));
    }

    [Fact]
    public void Rendezvous_without_the_other_ranks_times_out()
    {
        using var store = TcpStore.CreateServer(0, Timeout, worldSize: 2);
        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<CollectiveException>(() =>
            GlooProcessGroup.Create(store, 0, 2, TimeSpan.FromMilliseconds(1500), "lonely"));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(1000), TimeSpan.FromSeconds(6));
        Assert.True(e.IsTimeout, e.Message);
        Assert.Equal("Create", e.Op);
        Assert.Contains("timed out", e.Message);
        Assert.Contains("1500 ms", e.Message);
        Assert.Contains("rank 0 of 2", e.Message);
    }

    [Fact]
    public void Invalid_group_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => GlooProcessGroup.Create(_store, 1, 1, Timeout));
        Assert.Throws<ArgumentOutOfRangeException>(() => GlooProcessGroup.Create(_store, 0, 0, Timeout));
        Assert.Throws<ArgumentOutOfRangeException>(() => GlooProcessGroup.Create(_store, 0, 1, TimeSpan.Zero));
        using var t = torch.zeros([1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => _pg.AllReduce(t, (ReduceOp)42));
    }
}
