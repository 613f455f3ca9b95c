namespace MoLA.Parallel.Tests;

public sealed class TopologyAndPlacementTests
{
    [Fact]
    public void GroupsOfTwoByTwo()
    {
        var t = new ParallelTopology(4, 2, 2);
        Assert.Equal([0, 1], t.EpGroupRanks(1));
        Assert.Equal([2, 3], t.EpGroupRanks(2));
        Assert.Equal([1, 3], t.ExpertDataParallelRanks(3));
        Assert.Equal([0, 2], t.ExpertDataParallelRanks(0));
        Assert.Equal(1, t.EpRankOf(3));
        Assert.Equal(1, t.EpGroupOf(2));
    }

    [Fact]
    public void WorldMustBeDpTimesEp()
    {
        var e = Assert.Throws<ParallelConfigException>(() => new ParallelTopology(3, 2, 2));
        Assert.Equal("nproc", e.Field);
        Assert.Contains("2 x 2 = 4", e.Message);
        Assert.Equal(new ParallelTopology(6, 3, 2), ParallelTopology.Infer(6, null, 2));
        Assert.Equal(new ParallelTopology(6, 2, 3), ParallelTopology.Infer(6, 2, null));
        Assert.Contains("not a multiple", Assert.Throws<ParallelConfigException>(() => ParallelTopology.Infer(5, null, 2)).Message);
    }

    [Fact]
    public void ContiguousPlacementGivesTheFirstRanksOneMore()
    {
        var p = ExpertPlacement.Contiguous(3);
        Assert.Equal([(0, 3), (3, 2), (5, 2)], p.RangesFor(0, 7, "m"));
        Assert.Equal([0, 0, 0, 1, 1, 2, 2], ExpertPlacement.Owners(p.RangesFor(0, 7, "m")));
        Assert.Contains("fewer than ep = 3", Assert.Throws<ParallelConfigException>(() => p.RangesFor(2, 2, "layers.2.q")).Message);
    }

    [Fact]
    public void TablesMayBeUnevenAndInAnyRankOrder()
    {
        var p = ExpertPlacement.Parse("""{ "0": [[3], [0, 1, 2]], "*": [[0], [1]] }""", 2);
        Assert.Equal([(3, 1), (0, 3)], p.RangesFor(0, 4, "m"));
        Assert.Equal([(0, 1), (1, 1)], p.RangesFor(5, 2, "m"));
        Assert.Contains("places 2 experts but the layer has 4", Assert.Throws<ParallelConfigException>(() => p.RangesFor(1, 4, "m")).Message);
    }

    [Theory]
    [InlineData("""{ "0": [[0, 1], [1, 2]] }""", "expert 1 is placed twice (EP ranks 0 and 1)")]
    [InlineData("""{ "0": [[0, 1], [3]] }""", "expert 3 is out of range: the layer has 3 experts (0 .. 2), so expert 2 is missing")]
    [InlineData("""{ "0": [[0, 2], [1]] }""", "not a contiguous run")]
    [InlineData("""{ "0": [[0, 1, 2]] }""", "lists 1 EP ranks, but ep is 2")]
    [InlineData("""{ "0": [[0, 1, 2], []] }""", "EP rank 1 holds no experts")]
    [InlineData("""{ "x": [[0], [1]] }""", "keys must be layer indices")]
    [InlineData("""{ "0": [[0], ["a"]] }""", "'a' is not an integer expert id")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    [InlineData("""{ "0": """, "is not valid JSON")]
    public void BadTablesAreRefusedNamingTheLayerAndExpert(string json, string message)
    {
        var e = Assert.Throws<ParallelConfigException>(() => ExpertPlacement.Parse(json, 2, "table.json"));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("table.json", e.Message);
    }

    [Fact]
    public void EnvironmentIsReadAndValidated()
    {
        var env = new Dictionary<string, string?>
        {
            ["RANK"] = "3", ["WORLD_SIZE"] = "4", ["MASTER_ADDR"] = "10.0.0.1", ["MASTER_PORT"] = "29400", ["MOLA_EP"] = "2", ["MOLA_TIMEOUT_MS"] = "1500",
        };
        var info = RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal(3, info.Rank);
        Assert.Equal(new ParallelTopology(4, 2, 2), info.Topology);
        Assert.Equal("10.0.0.1", info.MasterAddress);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), info.Timeout);
        Assert.Equal("3", info.ToEnvironment()["RANK"]);

        env["RANK"] = "4";
        Assert.Contains("RANK: is 4 but WORLD_SIZE is 4", Assert.Throws<ParallelConfigException>(() => RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
        env["RANK"] = "0";
        env["MASTER_PORT"] = "http";
        Assert.Contains("MASTER_PORT: must be an integer", Assert.Throws<ParallelConfigException>(() => RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
        env["MASTER_PORT"] = "1";
        env["MOLA_EP"] = "3";
        Assert.Contains("not a multiple of ep = 3", Assert.Throws<ParallelConfigException>(() => RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
        env.Remove("MASTER_PORT");
        Assert.Contains("MASTER_PORT: environment variable is not set", Assert.Throws<ParallelConfigException>(() => RendezvousInfo.FromEnvironment(k => env.GetValueOrDefault(k))).Message);
    }
}
