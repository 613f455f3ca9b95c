using MoLA.Model.Analysis;
using MoLA.Torch;

namespace MoLA.Model.Tests.Analysis;

public class ExpertRedundancyTests
{
    [Fact]
    public void MatchesDenseDeltaWComputation()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(9);
        const int n = 4, r = 3, din = 7, dout = 5;
        const double s = 2.0;
        var a = torch.randn([n * r, din], DType.Float64);
        var b = torch.randn([dout, n * r], DType.Float64);
        var deltas = Enumerable.Range(0, n)
            .Select(i => b.narrow(1, i * r, r).matmul(a.narrow(0, i * r, r)).mul(s)).ToList();
        double expected = 0;
        for (var i = 0; i < n; i++)
            for (var j = i + 1; j < n; j++) expected += deltas[i].sub(deltas[j]).norm().item();
        expected /= n * (n - 1) / 2;
        Assert.Equal(expected, ExpertRedundancy.MeanPairwiseDistance(a, b, n, s), 1e-9);
    }

    [Fact]
    public void IdenticalExpertsHaveZeroDistanceAndBadShapesAreRefused()
    {
        using var scope = torch.NewDisposeScope();
        var a1 = torch.randn([2, 6]);
        var b1 = torch.randn([4, 2]);
        var a = torch.cat([a1, a1]);
        var b = torch.cat([b1, b1], 1);
        Assert.Equal(0, ExpertRedundancy.MeanPairwiseDistance(a, b, 2, 2.0), 5);
        Assert.Equal(0, ExpertRedundancy.MeanPairwiseDistance(a1, b1, 1, 2.0));
        Assert.Contains("not 3 stacked experts", Assert.Throws<ArgumentException>(() => ExpertRedundancy.MeanPairwiseDistance(a, b, 3, 1)).Message);
    }
}
