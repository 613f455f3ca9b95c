using MoLA.Reporting.Charts;

namespace MoLA.Reporting.Tests;

public sealed class ChartMathTests
{
    [Fact]
    public void EmaSkipsGapsAndMatchesALoop()
    {
        var y = new[] { 4.0, 2.0, double.NaN, 1.0 };
        var ema = SeriesMath.Ema(y, 0.5);
        // Loop oracle with weight 0.5: acc = (0.5*4), then 0.5*2 + 0.5*2 = 2; norms 0.5, 0.75; NaN skipped; then 0.875.
        Assert.Equal(4.0, ema[0], 12);
        Assert.Equal((0.5 * 0.5 * 4 + 0.5 * 2) / 0.75, ema[1], 12);
        Assert.True(double.IsNaN(ema[2]));
        Assert.Equal((0.5 * (0.5 * 0.5 * 4 + 0.5 * 2) + 0.5 * 1) / 0.875, ema[3], 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => SeriesMath.Ema(y, 1.0));
    }

    [Fact]
    public void DecimationKeepsEverySpikeAndBoundsThePointCount()
    {
        var n = 20_000;
        var x = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        var y = x.Select(v => Math.Sin(v / 300)).ToArray();
        y[12_345] = 50; // a loss spike
        y[777] = -50;
        var (dx, dy) = SeriesMath.Decimate(x, y, 600);
        Assert.True(dx.Length <= 1200, $"{dx.Length} points");
        Assert.Contains(50.0, dy);
        Assert.Contains(-50.0, dy);
        Assert.Equal(12_345, dx[Array.IndexOf(dy, 50.0)]);
        Assert.True(dx.Zip(dx.Skip(1)).All(p => p.First <= p.Second)); // still in step order
        var (sx, _) = SeriesMath.Decimate(x.Take(100).ToArray(), y.Take(100).ToArray(), 600);
        Assert.Equal(100, sx.Length); // short series untouched
    }

    [Fact]
    public void PathDataStartsANewSubpathAfterEachGap()
    {
        var d = LineChart.PathData([1, 2, 3, 4, 5], [1, double.NaN, 3, 4, double.NaN], v => v * 10, v => v);
        Assert.Equal("M10 1h0 M30 3 L40 4", d);
        Assert.Equal("", LineChart.PathData([1], [double.NaN], v => v, v => v));
    }

    [Fact]
    public void TicksAreNiceAndCoverTheRange()
    {
        var (min, max, values) = Ticks.Nice(0.13, 0.92);
        Assert.Equal([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], values.Select(v => Math.Round(v, 12)));
        Assert.Equal((0.0, 1.0), (min, Math.Round(max, 12)));
        var (lo, hi, single) = Ticks.Nice(3, 3);
        Assert.True(lo < 3 && hi > 3 && single.Count >= 2);
    }
}
