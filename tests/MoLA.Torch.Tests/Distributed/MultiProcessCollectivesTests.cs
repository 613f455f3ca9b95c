using System.Text.Json;

namespace MoLA.Torch.Tests.Distributed;

/// <summary>Runs the "collectives" scenario once on two worker processes; the tests check its results.</summary>
public sealed class TwoRankRun : IAsyncLifetime
{
    public const int TimeoutMs = 10_000;

    public JsonElement[] Results { get; private set; } = [];
    public string Failure { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var ranks = WorkerRunner.Start("collectives", 2, TimeoutMs);
        try
        {
            var exited = await Task.WhenAll(ranks.Select(w => w.WaitForExitAsync(TimeSpan.FromSeconds(45))));
            if (exited.Any(e => !e) || ranks.Any(w => w.ExitCode != 0 || w.Result is null))
            {
                Failure = "the two-rank collectives run failed:\n" + WorkerRunner.Describe(ranks);
                return;
            }
            Results = ranks.Select(w => w.Result!.Value).ToArray();
        }
        finally
        {
            foreach (var w in ranks) w.Dispose();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

[Collection(DistributedCollection.Name)]
public sealed class MultiProcessCollectivesTests(TwoRankRun run) : IClassFixture<TwoRankRun>
{
    private JsonElement Rank(int r)
    {
        Assert.True(run.Failure.Length == 0, run.Failure);
        return run.Results[r];
    }

    private static double[] Doubles(JsonElement e, string name) =>
        e.GetProperty(name).EnumerateArray().Select(x => x.GetDouble()).ToArray();

    private static long[] Longs(JsonElement e, string name) =>
        e.GetProperty(name).EnumerateArray().Select(x => x.GetInt64()).ToArray();

    [Fact]
    public void Ranks_rendezvous_through_the_tcp_store()
    {
        for (var r = 0; r < 2; r++)
        {
            var e = Rank(r);
            Assert.Equal(r, e.GetProperty("pgRank").GetInt32());
            Assert.Equal(2, e.GetProperty("pgSize").GetInt32());
            Assert.Equal("hello from rank 0", e.GetProperty("greeting").GetString());
            Assert.Equal(3, e.GetProperty("counter").GetInt64());  // 1 + 2
            Assert.False(e.GetProperty("checkMissing").GetBoolean());
        }
    }

    [Fact]
    public void AllReduce_sum_max_min()
    {
        for (var r = 0; r < 2; r++)
        {
            var e = Rank(r);
            Assert.Equal([3.0, 30.0, -1.0], Doubles(e, "sumF32"));
            Assert.Equal([1.0, 0.0, 5.0], Doubles(e, "maxF32"));
            Assert.Equal([0.0, -1.0, 5.0], Doubles(e, "minF32"));
            Assert.Equal([(1L << 40) * 2, 1L], Longs(e, "sumI64"));
        }
    }

    [Fact]
    public void AllReduce_average()
    {
        for (var r = 0; r < 2; r++)
        {
            var e = Rank(r);
            Assert.Equal([1.5, 1.0], Doubles(e, "avgF32"));
            Assert.Equal([1.5, 0.25], Doubles(e, "avgF64"));
            // Integers: SUM then division truncating toward zero: (1 + 2) / 2 = 1, (10 + 20) / 2 = 15.
            Assert.Equal([1L, 15L], Longs(e, "avgI64"));
        }
    }

    [Fact]
    public void Broadcast_from_the_last_rank()
    {
        for (var r = 0; r < 2; r++)
            Assert.Equal([7.0, 8.0, 9.0], Doubles(Rank(r), "broadcast"));
    }

    [Fact]
    public void AllGather_into_flat_and_stacked_outputs()
    {
        for (var r = 0; r < 2; r++)
        {
            var e = Rank(r);
            Assert.Equal([1.0, 2.0, 11.0, 12.0], Doubles(e, "allgather"));
            Assert.Equal([2L, 2L], Longs(e, "allgather2dShape"));
            Assert.Equal([1.0, 2.0, 11.0, 12.0], Doubles(e, "allgather2d"));
        }
    }

    [Fact]
    public void AllToAll_with_uneven_splits()
    {
        // Rank 0 sends 1 row to itself and 3 to rank 1; rank 1 sends 2 to rank 0 and none to itself.
        // Row values: 1000 * (sender + 1) + 100 * receiver + index.
        var r0 = Rank(0);
        var r1 = Rank(1);
        Assert.Equal([1L, 2L], Longs(r0, "outSplits"));
        Assert.Equal([3L, 0L], Longs(r1, "outSplits"));
        Assert.Equal([1000.0, 2000.0, 2001.0], Doubles(r0, "alltoall"));
        Assert.Equal([1100.0, 1101.0, 1102.0], Doubles(r1, "alltoall"));
        Assert.Equal([1000.0, -1000.0, 2000.0, -2000.0, 2001.0, -2001.0], Doubles(r0, "alltoall2d"));
        Assert.Equal([1100.0, -1100.0, 1101.0, -1101.0, 1102.0, -1102.0], Doubles(r1, "alltoall2d"));
    }

    [Fact]
    public void Second_group_shares_the_store()
    {
        for (var r = 0; r < 2; r++)
            Assert.Equal([1L], Longs(Rank(r), "auxSum"));
    }
}
