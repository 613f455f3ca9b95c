using MoLA.Model.Allocation;

namespace MoLA.Model.Tests.Allocation;

public class ExpertAllocationTests
{
    [Fact]
    public void Uniform_HasDefaultsAndProvenance()
    {
        ExpertAllocation a = ExpertAllocation.Uniform(32, 5);

        Assert.Equal(32, a.Layers);
        Assert.Equal(160, a.TotalExperts);
        Assert.All(a.Experts, n => Assert.Equal(5, n));
        Assert.All(a.TopK, k => Assert.Equal(2, k));
        Assert.All(a.Ranks, r => Assert.Equal(8, r));
        Assert.Empty(a.Warnings);
        Assert.Equal(AllocationStrategies.Uniform, a.Provenance.Strategy);
        Assert.Equal("5", a.Provenance.Shape);
        Assert.Equal("5", a.ToShapeString());
    }

    [Fact]
    public void Uniform_AboveNine_RecordsAParseableShape()
    {
        ExpertAllocation a = ExpertAllocation.Uniform(32, 16, topK: 4, rank: 16);

        Assert.Equal("16,16", a.Provenance.Shape);
        Assert.Equal(a.Experts, ExpertAllocation.FromShape(a.Provenance.Shape!, 32).Experts);
        Assert.Equal(4, a.TopKAt(0));
        Assert.Equal(16, a.RankAt(31));
    }

    [Theory]
    [InlineData(0, 5, 2, 8, "layers")]
    [InlineData(32, 0, 2, 8, "experts")]
    [InlineData(32, -1, 2, 8, "experts")]
    [InlineData(32, 5, 0, 8, "topK")]
    [InlineData(32, 5, 2, 0, "rank")]
    public void Uniform_RejectsNonPositiveValues(int layers, int experts, int topK, int rank, string field)
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => ExpertAllocation.Uniform(layers, experts, topK, rank));

        Assert.Equal(field, ex.Field);
        Assert.IsAssignableFrom<ArgumentException>(ex);
    }

    [Fact]
    public void FromShape_Inverted2468_OnLlama()
    {
        ExpertAllocation a = ExpertAllocation.FromShape("2468", 32);

        Assert.Equal(160, a.TotalExperts);
        Assert.Equal(2, a.ExpertsAt(0));
        Assert.Equal(8, a.ExpertsAt(31));
        Assert.Equal("2468", a.ToShapeString());
        Assert.Equal(AllocationStrategies.Shape, a.Provenance.Strategy);
        Assert.Equal("2468", a.Provenance.Shape);
        Assert.Empty(a.Warnings);
    }

    [Fact]
    public void TopKAboveExpertCount_IsClampedWithAWarning()
    {
        ExpertAllocation a = ExpertAllocation.FromShape("1248", 8, topK: 3);

        Assert.Equal(new[] { 1, 1, 2, 2, 3, 3, 3, 3 }, a.TopK);
        string warning = Assert.Single(a.Warnings);
        Assert.Contains("4 layer(s)", warning);
        Assert.Contains("layer 0 (3 -> 1)", warning);
        Assert.Contains("layer 3 (3 -> 2)", warning);
    }

    [Fact]
    public void TopKEqualToExpertCount_IsADenseMixtureWithoutWarning()
    {
        ExpertAllocation a = ExpertAllocation.Uniform(4, 2, topK: 2);

        Assert.Empty(a.Warnings);
        Assert.All(a.TopK, k => Assert.Equal(2, k));
    }

    [Fact]
    public void TopKAboveExpertCount_WithReject_Throws()
    {
        AllocationException ex = Assert.Throws<AllocationException>(
            () => ExpertAllocation.FromShape("1248", 8, topK: 2, overflow: TopKOverflow.Reject));

        Assert.Equal("topK", ex.Field);
        Assert.Contains("layer 0 has top-k 2 but only 1 expert(s)", ex.Message);
    }

    [Fact]
    public void Parse_TakesPerLayerTopKAndRankStrings()
    {
        ExpertAllocation a = ExpertAllocation.Parse("2,2,4,4", 4, topK: "1,2", rank: "16");

        Assert.Equal(new[] { 2, 2, 4, 4 }, a.Experts);
        Assert.Equal(new[] { 1, 1, 2, 2 }, a.TopK);
        Assert.Equal(new[] { 16, 16, 16, 16 }, a.Ranks);
        Assert.Equal("2,2,4,4", a.Provenance.Shape);
        Assert.Equal("24", a.ToShapeString());
    }

    [Fact]
    public void Parse_DefaultsAndClampWarning()
    {
        ExpertAllocation a = ExpertAllocation.Parse("1", 3, topK: "3");

        Assert.Equal(new[] { 1, 1, 1 }, a.TopK);
        Assert.Single(a.Warnings);
        Assert.All(a.Ranks, r => Assert.Equal(ExpertAllocation.DefaultRank, r));
    }

    [Fact]
    public void Parse_BadRank_NamesRank()
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => ExpertAllocation.Parse("2468", 32, rank: "8,x"));
        Assert.Equal("rank", ex.Field);
        Assert.Contains("item 1", ex.Message);
    }

    [Fact]
    public void FromLayers_ExplicitLists()
    {
        ExpertAllocation a = ExpertAllocation.FromLayers(new[] { 3, 1, 12 }, new[] { 2, 1, 4 }, new[] { 8, 4, 16 });

        Assert.Equal(3, a.Layers);
        Assert.Equal(16, a.TotalExperts);
        Assert.Equal(new[] { 2, 1, 4 }, a.TopK);
        Assert.Equal(new[] { 8, 4, 16 }, a.Ranks);
        Assert.Equal(AllocationStrategies.Explicit, a.Provenance.Strategy);
        Assert.Equal("3,1,12", a.ToShapeString());
    }

    [Fact]
    public void FromLayers_WrongLength_SaysExpectedAndGot()
    {
        AllocationException topK = Assert.Throws<AllocationException>(
            () => ExpertAllocation.FromLayers(new[] { 2, 2, 2 }, topK: new[] { 1, 2 }));
        Assert.Equal("topK", topK.Field);
        Assert.Contains("expected 3", topK.Message);
        Assert.Contains("got 2", topK.Message);

        AllocationException ranks = Assert.Throws<AllocationException>(
            () => ExpertAllocation.FromLayers(new[] { 2, 2, 2 }, ranks: new[] { 8, 8, 8, 8 }));
        Assert.Equal("ranks", ranks.Field);
        Assert.Contains("expected 3 (one per layer), got 4", ranks.Message);
    }

    [Fact]
    public void FromLayers_ZeroOrNegative_NamesTheLayer()
    {
        AllocationException zero = Assert.Throws<AllocationException>(() => ExpertAllocation.FromLayers(new[] { 2, 0, 2 }));
        Assert.Contains("layer 1", zero.Message);
        Assert.Contains("got 0", zero.Message);

        AllocationException negative = Assert.Throws<AllocationException>(() => ExpertAllocation.FromLayers(new[] { 2, 2, -4 }));
        Assert.Contains("layer 2", negative.Message);

        AllocationException rank = Assert.Throws<AllocationException>(() => ExpertAllocation.FromLayers(new[] { 2, 2 }, ranks: new[] { 8, 0 }));
        Assert.Equal("ranks", rank.Field);
        Assert.Contains("layer 1: rank must be positive", rank.Message);
    }

    [Fact]
    public void FromLayers_Empty_Throws()
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => ExpertAllocation.FromLayers(Array.Empty<int>()));
        Assert.Contains("empty", ex.Message);
    }

    [Fact]
    public void ListsAreReadOnlyCopies()
    {
        int[] experts = { 2, 4 };
        ExpertAllocation a = ExpertAllocation.FromLayers(experts);
        experts[0] = 99;

        Assert.Equal(2, a.ExpertsAt(0));
        Assert.Throws<NotSupportedException>(() => ((IList<int>)a.Experts)[0] = 5);
    }

    [Fact]
    public void ToString_IsReadable()
    {
        Assert.Equal("ExpertAllocation(shape, 32 layers, 160 experts: 2468)", ExpertAllocation.FromShape("2468", 32).ToString());
    }
}
