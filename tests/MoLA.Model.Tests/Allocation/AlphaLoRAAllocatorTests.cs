using MoLA.Model.Allocation;

namespace MoLA.Model.Tests.Allocation;

public class AlphaLoRAAllocatorTests
{
    [Theory]
    [InlineData(10, new[] { 1, 1, 3, 5 })]
    [InlineData(12, new[] { 1, 2, 4, 5 })]
    [InlineData(16, new[] { 1, 2, 5, 8 })]
    public void ReferenceRounding_MatchesMethodsTable(int budget, int[] expected)
    {
        double[] alphas = { 2, 3, 4, 5 };

        Assert.Equal(expected, AlphaLoRAAllocator.RoundReference(alphas, budget, 2.5));

        ExpertAllocation a = AlphaLoRAAllocator.AllocateFromQualities(alphas, budget);
        Assert.Equal(expected, a.Experts);
        Assert.Equal(budget, a.TotalExperts);
    }

    [Fact]
    public void ReferenceRounding_UnnormalisedFixupQuirk_GivesFourTwoTwoTwo()
    {
        // 2.5 each rounds half-even to 2; the fix-up compares v = 3^2.5 (not shares) with s,
        // so it keeps feeding layer 0.
        Assert.Equal(new[] { 4, 2, 2, 2 }, AlphaLoRAAllocator.RoundReference(new double[] { 3, 3, 3, 3 }, 10, 2.5));
    }

    [Fact]
    public void TopK_IsTwoAboveOneExpert_ElseOne()
    {
        ExpertAllocation a = AlphaLoRAAllocator.AllocateFromQualities(new double[] { 2, 3, 4, 5 }, 10);

        Assert.Equal(new[] { 1, 1, 2, 2 }, a.TopK);
        Assert.All(a.Ranks, r => Assert.Equal(8, r));
        Assert.Empty(a.Warnings);
    }

    [Fact]
    public void Provenance_RecordsQualitiesBetaBudgetRounding()
    {
        ExpertAllocation a = AlphaLoRAAllocator.AllocateFromQualities(new double[] { 2, 3, 4, 5 }, 12, new AlphaLoRAOptions { Rank = 4 });

        Assert.Equal(AllocationStrategies.AlphaLoRA, a.Provenance.Strategy);
        Assert.Equal(new double[] { 2, 3, 4, 5 }, a.Provenance.Alphas);
        Assert.Equal(2.5, a.Provenance.Beta);
        Assert.Equal(12, a.Provenance.Budget);
        Assert.Equal("reference", a.Provenance.Rounding);
        Assert.Null(a.Provenance.MinPerLayer);
        Assert.All(a.Ranks, r => Assert.Equal(4, r));
    }

    [Fact]
    public void MatrixAlphas_AreAveragedPerLayer()
    {
        var perMatrix = new[]
        {
            new double[] { 1.5, 2.5 },
            new double[] { 3, 3, 3 },
            new double[] { 3.5, 4.5, 4, 4, 4, 4, 4 },
            new double[] { 5 },
        };

        ExpertAllocation a = AlphaLoRAAllocator.Allocate(perMatrix, 16);

        Assert.Equal(new[] { 1, 2, 5, 8 }, a.Experts);
        Assert.Equal(new double[] { 2, 3, 4, 5 }, a.Provenance.Alphas);
        Assert.Equal(4.0, AlphaLoRAAllocator.LayerQuality(new[] { 3.5, 4.5, 4, 4, 4, 4, 4 }), 1e-15);
    }

    [Fact]
    public void ReferenceZeroLayer_IsAnErrorNamingTheLayer()
    {
        // Shares 0.31, 0.86, 1.76, 3.07 of T = 6 round to [0, 1, 2, 3]: layer 0 gets none.
        AllocationException ex = Assert.Throws<AllocationException>(
            () => AlphaLoRAAllocator.AllocateFromQualities(new double[] { 2, 3, 4, 5 }, 6));

        Assert.Equal(0, AlphaLoRAAllocator.RoundReference(new double[] { 2, 3, 4, 5 }, 6, 2.5)[0]);
        Assert.Contains("layer 0", ex.Message);
        Assert.Contains("0 experts", ex.Message);
        Assert.Equal("budget", ex.Field);
    }

    [Fact]
    public void ReferenceWithMinimum_RaisesAndTakesFromTheLargest()
    {
        int[] raw = AlphaLoRAAllocator.RoundReference(new double[] { 2, 3, 4, 5 }, 6, 2.5);
        Assert.Equal(6, raw.Sum());

        ExpertAllocation a = AlphaLoRAAllocator.AllocateFromQualities(
            new double[] { 2, 3, 4, 5 },
            6,
            new AlphaLoRAOptions { MinPerLayer = 1 });

        Assert.Equal(6, a.TotalExperts);
        Assert.All(a.Experts, n => Assert.True(n >= 1));
        int largest = Array.IndexOf(raw, raw.Max());
        Assert.Equal(raw[largest] - raw.Count(x => x < 1), a.ExpertsAt(largest));
        Assert.Equal(1, a.Provenance.MinPerLayer);
    }

    [Fact]
    public void ReferenceWithMinimum_RaiseOrderIsDeterministic()
    {
        // Reference on q = [1, 1, 1, 9], T = 8 gives [0, 0, 0, 8]; raising layers 0..2 takes from layer 3.
        Assert.Equal(new[] { 0, 0, 0, 8 }, AlphaLoRAAllocator.RoundReference(new double[] { 1, 1, 1, 9 }, 8, 2.5));

        ExpertAllocation a = AlphaLoRAAllocator.AllocateFromQualities(new double[] { 1, 1, 1, 9 }, 8, new AlphaLoRAOptions { MinPerLayer = 1 });

        Assert.Equal(new[] { 1, 1, 1, 5 }, a.Experts);
        Assert.Equal(new[] { 1, 1, 1, 2 }, a.TopK);
    }

    [Fact]
    public void LargestRemainder_DefaultsToMinimumOne()
    {
        ExpertAllocation a = AlphaLoRAAllocator.AllocateFromQualities(
            new double[] { 2, 3, 4, 5 },
            6,
            new AlphaLoRAOptions { Rounding = ExpertRounding.LargestRemainder });

        Assert.Equal(6, a.TotalExperts);
        Assert.All(a.Experts, n => Assert.True(n >= 1));
        Assert.Equal("largest-remainder", a.Provenance.Rounding);
        Assert.Equal(1, a.Provenance.MinPerLayer);
    }

    [Fact]
    public void LargestRemainder_KnownValues()
    {
        // v = q^2.5 = 5.657, 15.588, 32, 55.902 (sum 109.147). T = 16 quotas 0.829, 2.285, 4.691, 8.195:
        // layer 0 is pinned at 1, the other 15 are re-apportioned over 103.49: 2.259, 4.638, 8.102
        // -> floors 2, 4, 8 (14) + 1 to the largest remainder (layer 2's 0.638).
        Assert.Equal(new[] { 1, 2, 5, 8 }, AlphaLoRAAllocator.RoundLargestRemainder(new double[] { 2, 3, 4, 5 }, 16, 2.5));

        // Equal qualities: 10 over 4 -> 2.5 each; floors 2 and the 2 leftovers go to the first layers on ties.
        Assert.Equal(new[] { 3, 3, 2, 2 }, AlphaLoRAAllocator.RoundLargestRemainder(new double[] { 3, 3, 3, 3 }, 10, 2.5));

        // Minimum 2 pins layers 0 and 1.
        Assert.Equal(new[] { 2, 2, 3, 5 }, AlphaLoRAAllocator.RoundLargestRemainder(new double[] { 2, 3, 4, 5 }, 12, 2.5, minPerLayer: 2));
    }

    [Fact]
    public void LargestRemainder_AlwaysSumsToBudgetAndRespectsMinimum()
    {
        var random = new Random(3);
        for (int trial = 0; trial < 300; trial++)
        {
            int layers = 1 + random.Next(40);
            int min = 1 + random.Next(3);
            int budget = (layers * min) + random.Next(200);
            double[] q = Enumerable.Range(0, layers).Select(_ => 1.5 + (random.NextDouble() * 6)).ToArray();

            int[] s = AlphaLoRAAllocator.RoundLargestRemainder(q, budget, 2.5, min);

            Assert.Equal(budget, s.Sum());
            Assert.All(s, x => Assert.True(x >= min));

            // Monotone: a layer with larger q never gets fewer experts.
            for (int i = 0; i < layers; i++)
            {
                for (int j = 0; j < layers; j++)
                {
                    if (q[i] > q[j])
                    {
                        Assert.True(s[i] >= s[j]);
                    }
                }
            }
        }
    }

    [Fact]
    public void ReferenceRounding_AlwaysSumsToBudget()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 300; trial++)
        {
            int layers = 1 + random.Next(40);
            int budget = 1 + random.Next(300);
            double[] q = Enumerable.Range(0, layers).Select(_ => 1.5 + (random.NextDouble() * 6)).ToArray();

            Assert.Equal(budget, AlphaLoRAAllocator.RoundReference(q, budget, 2.5).Sum());
        }
    }

    [Fact]
    public void Budget160_Over32Layers_GivesAValidAllocation()
    {
        double[] q = Enumerable.Range(0, 32).Select(l => 2.0 + (0.1 * (l % 9))).ToArray();

        ExpertAllocation a = AlphaLoRAAllocator.AllocateFromQualities(q, 160);

        Assert.Equal(160, a.TotalExperts);
        Assert.Equal(32, a.Layers);
    }

    [Theory]
    [InlineData(0, "budget")]
    [InlineData(-5, "budget")]
    public void NonPositiveBudget_Throws(int budget, string field)
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => AlphaLoRAAllocator.AllocateFromQualities(new double[] { 2, 3 }, budget));
        Assert.Equal(field, ex.Field);
    }

    [Fact]
    public void BudgetBelowMinimumTotal_Throws()
    {
        AllocationException ex = Assert.Throws<AllocationException>(
            () => AlphaLoRAAllocator.AllocateFromQualities(new double[] { 2, 3, 4 }, 5, new AlphaLoRAOptions { MinPerLayer = 2 }));
        Assert.Contains("need 6", ex.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    [InlineData(double.PositiveInfinity)]
    public void BadQuality_NamesTheLayer(double bad)
    {
        AllocationException ex = Assert.Throws<AllocationException>(
            () => AlphaLoRAAllocator.AllocateFromQualities(new[] { 2, 3, bad, 5 }, 16));

        Assert.Equal("alphas", ex.Field);
        Assert.Contains("layer 2", ex.Message);
    }

    [Fact]
    public void BadMatrixAlpha_NamesLayerAndMatrix()
    {
        var perMatrix = new[] { new double[] { 2, 2 }, new double[] { 3, double.NaN } };

        AllocationException ex = Assert.Throws<AllocationException>(() => AlphaLoRAAllocator.Allocate(perMatrix, 4));

        Assert.Contains("layer 1: matrix 1", ex.Message);
    }

    [Fact]
    public void EmptyInputs_Throw()
    {
        Assert.Throws<AllocationException>(() => AlphaLoRAAllocator.AllocateFromQualities(Array.Empty<double>(), 4));
        Assert.Throws<AllocationException>(() => AlphaLoRAAllocator.Allocate(new[] { Array.Empty<double>() }, 4));
        Assert.Throws<AllocationException>(() => AlphaLoRAAllocator.LayerQuality(ReadOnlySpan<double>.Empty));
    }

    [Fact]
    public void NonFiniteBetaOrRank_Throw()
    {
        Assert.Equal("beta", Assert.Throws<AllocationException>(
            () => AlphaLoRAAllocator.AllocateFromQualities(new double[] { 2, 3 }, 4, new AlphaLoRAOptions { Beta = double.NaN })).Field);
        Assert.Equal("rank", Assert.Throws<AllocationException>(
            () => AlphaLoRAAllocator.AllocateFromQualities(new double[] { 2, 3 }, 4, new AlphaLoRAOptions { Rank = 0 })).Field);
    }

    [Fact]
    public void BetaZero_IsUniformUpToRounding()
    {
        Assert.Equal(new[] { 5, 5, 5, 5 }, AlphaLoRAAllocator.RoundReference(new double[] { 2, 3, 4, 5 }, 20, 0));
    }
}
