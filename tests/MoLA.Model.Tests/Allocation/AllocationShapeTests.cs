using MoLA.Model.Allocation;

namespace MoLA.Model.Tests.Allocation;

public class AllocationShapeTests
{
    [Theory]
    [InlineData(32, 4, new[] { 8, 8, 8, 8 })]
    [InlineData(28, 4, new[] { 7, 7, 7, 7 })]
    [InlineData(30, 4, new[] { 8, 8, 7, 7 })]
    [InlineData(31, 4, new[] { 8, 8, 8, 7 })]
    [InlineData(33, 4, new[] { 9, 8, 8, 8 })]
    [InlineData(5, 5, new[] { 1, 1, 1, 1, 1 })]
    [InlineData(7, 1, new[] { 7 })]
    public void BlockSizes_FirstBlocksTakeTheExtraLayers(int layers, int blocks, int[] expected)
    {
        int[] sizes = AllocationShape.BlockSizes(layers, blocks);

        Assert.Equal(expected, sizes);
        Assert.Equal(layers, sizes.Sum());
    }

    [Fact]
    public void BlockSizes_MoreBlocksThanLayers_Throws()
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => AllocationShape.BlockSizes(3, 4));
        Assert.Contains("expected at most 3 blocks", ex.Message);
    }

    [Fact]
    public void DigitString_IsOneDigitPerBlock_LowestBlockFirst()
    {
        int[] counts = AllocationShape.ParseExpertCounts("2468", 32);

        Assert.Equal(Enumerable.Repeat(2, 8).Concat(Enumerable.Repeat(4, 8)).Concat(Enumerable.Repeat(6, 8)).Concat(Enumerable.Repeat(8, 8)), counts);
        Assert.Equal(160, counts.Sum());
    }

    [Theory]
    [InlineData("5555", 160)]
    [InlineData("8888", 256)]
    [InlineData("8228", 160)]
    [InlineData("2882", 160)]
    [InlineData("8642", 160)]
    [InlineData("5", 160)]
    public void MoLaShapes_OnLlama32Layers(string shape, int total)
    {
        Assert.Equal(total, AllocationShape.ParseExpertCounts(shape, 32).Sum());
    }

    [Fact]
    public void DigitString_On30Layers_Uses8_8_7_7()
    {
        int[] counts = AllocationShape.ParseExpertCounts("2468", 30);

        Assert.Equal(new[] { 8, 8, 7, 7 }, counts.GroupBy(c => c).Select(g => g.Count()).ToArray());
        Assert.Equal(2, counts[7]);
        Assert.Equal(4, counts[8]);
        Assert.Equal(4, counts[15]);
        Assert.Equal(6, counts[16]);
        Assert.Equal(6, counts[22]);
        Assert.Equal(8, counts[23]);
    }

    [Fact]
    public void DigitString_On28Layers_Uses7PerBlock()
    {
        int[] counts = AllocationShape.ParseExpertCounts("8228", 28);

        Assert.Equal(new[] { 8, 8, 8, 8, 8, 8, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 8, 8, 8, 8, 8, 8, 8 }, counts);
    }

    [Fact]
    public void AnyNumberOfDigits_IsAccepted()
    {
        Assert.Equal(new[] { 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6 }, AllocationShape.ParseExpertCounts("123456", 12));
        Assert.Equal(new[] { 9, 9, 1 }, AllocationShape.ParseExpertCounts("91", 3));
    }

    [Fact]
    public void CommaList_OfLengthL_IsPerLayer()
    {
        Assert.Equal(new[] { 2, 3, 5, 6 }, AllocationShape.ParseExpertCounts("2,3,5,6", 4));
        Assert.Equal(new[] { 12, 1, 30 }, AllocationShape.ParseExpertCounts(" 12 , 1,30 ", 3));
    }

    [Fact]
    public void CommaList_OfOtherLength_IsPerBlock()
    {
        int[] counts = AllocationShape.ParseExpertCounts("2,3,5,16", 32);

        Assert.Equal(8, counts.Count(c => c == 16));
        Assert.Equal(2, counts[0]);
        Assert.Equal(3, counts[8]);
        Assert.Equal(16, counts[31]);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("24x8", "character 'x' at index 2")]
    [InlineData("24 8", "character ' ' at index 2")]
    [InlineData("2048", "block 1 has 0 experts")]
    [InlineData("2,0,4,8", "item 1: expert count must be positive, got 0")]
    [InlineData("2,-3,4,8", "item 1: expert count must be positive, got -3")]
    [InlineData("2,a,4,8", "item 1: character 'a'")]
    [InlineData("2,,4,8", "item 1 is empty")]
    [InlineData("2,3.5,4,8", "item 1: character '.'")]
    [InlineData("2,99999999999,4", "too large")]
    public void InvalidShapes_NameTheProblemAndPosition(string shape, string expected)
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => AllocationShape.ParseExpertCounts(shape, 32));

        Assert.Contains(expected, ex.Message);
        Assert.Equal("shape", ex.Field);
    }

    [Fact]
    public void TooManyValues_SaysExpectedVersusGot()
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => AllocationShape.ParseExpertCounts("2,2,2,2,2", 4));

        Assert.Contains("got 5 values for 4 layers", ex.Message);
        Assert.Contains("expected exactly 4", ex.Message);
    }

    [Fact]
    public void MoreDigitsThanLayers_Throws()
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => AllocationShape.ParseExpertCounts("2468", 2));
        Assert.Contains("got 4 values for 2 layers", ex.Message);
    }

    [Fact]
    public void NullShape_IsEmptyError()
    {
        Assert.Throws<AllocationException>(() => AllocationShape.ParseExpertCounts(null!, 4));
    }

    [Fact]
    public void LayerValues_SingleIntegerIsBroadcast_EvenMultiDigit()
    {
        Assert.Equal(Enumerable.Repeat(16, 32), AllocationShape.ParseLayerValues("16", 32, "rank"));
        Assert.Equal(new[] { 1, 2, 2, 1 }, AllocationShape.ParseLayerValues("1,2,2,1", 4, "topK"));
        Assert.Equal(new[] { 1, 1, 2, 2 }, AllocationShape.ParseLayerValues("1,2", 4, "topK"));
    }

    [Theory]
    [InlineData("0", "must be positive, got 0")]
    [InlineData("-2", "must be positive, got -2")]
    [InlineData("two", "character 't'")]
    [InlineData("1,2,3,4,5", "got 5 values for 4 layers")]
    public void LayerValues_InvalidInput_NamesTheField(string text, string expected)
    {
        AllocationException ex = Assert.Throws<AllocationException>(() => AllocationShape.ParseLayerValues(text, 4, "topK"));

        Assert.Contains(expected, ex.Message);
        Assert.Equal("topK", ex.Field);
        Assert.StartsWith("topK", ex.Message);
    }

    [Theory]
    [InlineData("2468", 32, "2468")]
    [InlineData("5555", 32, "5")]
    [InlineData("8228", 32, "8228")]
    [InlineData("2468", 30, "2468")]
    [InlineData("22446688", 32, "2468")]
    [InlineData("2,3,5,16", 32, "2,3,5,16")]
    [InlineData("16", 32, "16")]
    public void Format_GivesTheShortestRoundTrippingString(string shape, int layers, string expected)
    {
        int[] counts = AllocationShape.ParseExpertCounts(shape, layers);

        string? formatted = AllocationShape.Format(counts);

        Assert.Equal(expected, formatted);
        Assert.Equal(counts, AllocationShape.ParseExpertCounts(formatted!, layers));
    }

    [Fact]
    public void Format_UniformAboveNine_UsesTwoCommaBlocks()
    {
        int[] counts = Enumerable.Repeat(16, 32).ToArray();

        Assert.Equal("16,16", AllocationShape.Format(counts));
        Assert.Equal(counts, AllocationShape.ParseExpertCounts("16,16", 32));
    }

    [Fact]
    public void Format_SingleLayerAboveNine_IsNotExpressible()
    {
        Assert.Null(AllocationShape.Format(new[] { 12 }));
        Assert.Equal("7", AllocationShape.Format(new[] { 7 }));
    }

    [Fact]
    public void Format_RoundTripsRandomAllocations()
    {
        var random = new Random(42);
        for (int trial = 0; trial < 500; trial++)
        {
            int layers = 1 + random.Next(40);
            int maxCount = trial % 2 == 0 ? 9 : 20;
            int[] counts = Enumerable.Range(0, layers).Select(_ => 1 + random.Next(maxCount)).ToArray();

            string? formatted = AllocationShape.Format(counts);
            if (formatted is null)
            {
                Assert.True(layers == 1 && counts[0] > 9);
                continue;
            }

            Assert.Equal(counts, AllocationShape.ParseExpertCounts(formatted, layers));
        }
    }
}
