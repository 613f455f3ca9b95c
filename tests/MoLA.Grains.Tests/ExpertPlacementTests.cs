namespace MoLA.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ExpertPlacementTests(ClusterFixture fixture)
{
    [Fact]
    public void Contiguous_SplitsEveryLayerInOrder()
    {
        var t = ExpertBalancer.Contiguous(1, [2, 4, 5], 2);
        Assert.Equal([[0], [1]], t.Layers[0]);
        Assert.Equal([[0, 1], [2, 3]], t.Layers[1]);
        Assert.Equal([[0, 1], [2, 3, 4]], t.Layers[2]);
    }

    [Fact]
    public async Task LoadAware_BalancesASkewedLoadTable_AndIsPersisted()
    {
        // Layer 0: two hot experts that contiguous placement puts on the same rank.
        List<List<long>> tokens = [[500, 450, 20, 10, 10, 10], [100, 100, 100, 100]];
        var grain = fixture.Grains.GetGrain<IExpertPlacementGrain>(GrainTestKit.Unique("job"));
        var contiguous = await grain.Contiguous(1, [6, 4], 2);
        var balanced = await grain.Balance(2, tokens, 2);

        // By hand: 0->r0 (500), 1->r1 (450), 2,3->r1 (480, now full), 4,5->r0 (520).
        Assert.Equal([[0, 4, 5], [1, 2, 3]], balanced.Layers[0]);
        var before = ExpertBalancer.Imbalance(tokens[0], contiguous.Layers[0].ToArray<IReadOnlyList<int>>());
        var after = ExpertBalancer.Imbalance(tokens[0], balanced.Layers[0].ToArray<IReadOnlyList<int>>());
        Assert.Equal(970.0 / 500, before, 12);
        Assert.Equal(520.0 / 500, after, 12);
        // Every expert placed exactly once, and each rank holds n/E experts.
        foreach (var (layer, n) in balanced.Layers.Zip([6, 4]))
        {
            Assert.Equal(Enumerable.Range(0, n), layer.SelectMany(r => r).Order());
            Assert.All(layer, r => Assert.Equal(n / 2, r.Count));
        }
        var stored = (await grain.Current())!;
        Assert.Equal(balanced.Layers, stored.Layers);
        Assert.Equal((2, "load-aware"), (stored.Generation, stored.Strategy));
    }

    [Fact]
    public void FewerExpertsThanRanks_IsRefusedNamingTheLayer()
    {
        var e = Assert.Throws<ArgumentException>(() => ExpertBalancer.Contiguous(1, [4, 1], 2));
        Assert.Contains("layer 1 has 1 experts", e.Message);
    }
}
