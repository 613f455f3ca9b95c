using MoLA.Torch;
using MoLA.Torch.NN;

namespace MoLA.Torch.Tests;

/// <summary>
/// CPU dropout (native/src/dropout.cpp): a counter-based keep mask seeded by one draw of the default generator.
/// Checked: the keep rate and scaling of torch.dropout, reproducibility under manual_seed, independence from the
/// thread count, fresh masks per call, the gradient (grad times the mask), and the fall-backs.
/// </summary>
public sealed class DropoutTests
{
    [Theory]
    [InlineData(0.05)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void KeepsOneMinusPOfTheElementsScaledByItsInverse(double p)
    {
        using var s = torch.NewDisposeScope();
        torch.manual_seed(1);
        const int n = 1_000_001; // odd: the last element uses half of a 64-bit draw
        var y = F.dropout(torch.ones([n]), p, true).ToArray<float>();
        var scale = (float)(1 / (1 - p));
        Assert.All(y, v => Assert.True(v == 0f || v == scale, $"value {v}"));
        var kept = y.Count(v => v != 0) / (double)n;
        var sigma = Math.Sqrt(p * (1 - p) / n);
        Assert.True(Math.Abs(kept - (1 - p)) < 5 * sigma, $"kept {kept:F5}, expected {1 - p} +- {5 * sigma:F5}");
        // Neighbouring elements (the two halves of one draw, and consecutive draws) are not correlated.
        double both = 0;
        for (var i = 0; i + 1 < n; i++) if (y[i] != 0 && y[i + 1] != 0) both++;
        var pairs = both / (n - 1);
        Assert.True(Math.Abs(pairs - (1 - p) * (1 - p)) < 6 * Math.Sqrt((1 - p) * (1 - p) / (n - 1)), $"adjacent kept pairs {pairs:F5}");
    }

    [Fact]
    public void MasksAreReproducibleFreshPerCallAndIndependentOfTheThreadCount()
    {
        using var s = torch.NewDisposeScope();
        var threads = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            torch.manual_seed(7);
            var one = F.dropout(torch.ones([300_000]), 0.3, true).ToArray<float>();
            var second = F.dropout(torch.ones([300_000]), 0.3, true).ToArray<float>();
            torch.set_num_threads(2);
            torch.manual_seed(7);
            var two = F.dropout(torch.ones([300_000]), 0.3, true).ToArray<float>();
            Assert.Equal(one, two);
            Assert.NotEqual(one, second);
        }
        finally { torch.set_num_threads(threads); }
    }

    [Fact]
    public void TheGradientIsTheOutgoingGradientTimesTheMask()
    {
        using var s = torch.NewDisposeScope();
        torch.manual_seed(3);
        var x = torch.randn([64, 33]).requires_grad_(true);
        var y = F.dropout(x, 0.25, true);
        var upstream = torch.randn([64, 33]);
        y.mul(upstream).sum().backward();
        // The mask holds 0 or (float)(1/(1-p)); y = x * mask tells which (x has no zeros).
        var scale = (float)(1 / (1 - 0.25));
        var mask = y.detach().ToArray<float>().Select(v => v == 0f ? 0f : scale).ToArray();
        // Bitwise: y and the gradient are one float32 product per element (x * mask, upstream * mask), no sums, and
        // IEEE multiplication is correctly rounded, so any kernel gives exactly the product formed here.
        Assert.Equal(x.detach().ToArray<float>().Zip(mask, (v, m) => (float)((double)v * m)), y.detach().ToArray<float>());
        Assert.Equal(upstream.ToArray<float>().Zip(mask, (g, m) => (float)((double)g * m)), x.grad!.ToArray<float>());
        Assert.Contains(mask, m => m == 0f);
    }

    [Fact]
    public void EvalModeAndTheEdgeProbabilitiesKeepTorchsBehaviour()
    {
        using var s = torch.NewDisposeScope();
        var x = torch.randn([100]);
        Assert.Equal(x.ToArray<float>(), F.dropout(x, 0.5, false).ToArray<float>());
        Assert.Equal(x.ToArray<float>(), F.dropout(x, 0, true).ToArray<float>());
        Assert.All(F.dropout(x, 1, true).ToArray<float>(), v => Assert.Equal(0f, v));
        var d = F.dropout(torch.ones([4000], DType.Float64), 0.5, true).ToArray<double>();
        Assert.All(d, v => Assert.True(v == 0 || v == 2));
    }
}
