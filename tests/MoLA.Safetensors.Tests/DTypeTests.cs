namespace MoLA.Safetensors.Tests;

public class DTypeTests
{
    [Theory]
    [InlineData(SafetensorsDType.F32, "F32", 4)]
    [InlineData(SafetensorsDType.F16, "F16", 2)]
    [InlineData(SafetensorsDType.BF16, "BF16", 2)]
    [InlineData(SafetensorsDType.F64, "F64", 8)]
    [InlineData(SafetensorsDType.I64, "I64", 8)]
    [InlineData(SafetensorsDType.I32, "I32", 4)]
    [InlineData(SafetensorsDType.I16, "I16", 2)]
    [InlineData(SafetensorsDType.I8, "I8", 1)]
    [InlineData(SafetensorsDType.U8, "U8", 1)]
    [InlineData(SafetensorsDType.BOOL, "BOOL", 1)]
    public void Sizes_and_header_strings(SafetensorsDType dtype, string text, int size)
    {
        Assert.Equal(text, dtype.ToHeaderString());
        Assert.Equal(size, dtype.ElementSize());
        Assert.True(SafetensorsDTypes.TryParse(text, out var parsed));
        Assert.Equal(dtype, parsed);
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("F8_E4M3")]
    [InlineData("U16")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_strings_do_not_parse(string? text) =>
        Assert.False(SafetensorsDTypes.TryParse(text, out _));

    [Fact]
    public void All_lists_every_value() =>
        Assert.Equal(Enum.GetValues<SafetensorsDType>(), SafetensorsDTypes.All);

    [Fact]
    public void Element_counts()
    {
        Assert.Equal(1L, SafetensorsDTypes.TryElementCount([]));
        Assert.Equal(24L, SafetensorsDTypes.TryElementCount([2, 3, 4]));
        Assert.Equal(0L, SafetensorsDTypes.TryElementCount([long.MaxValue, long.MaxValue, 0]));
        Assert.Null(SafetensorsDTypes.TryElementCount([2, -1]));
        Assert.Null(SafetensorsDTypes.TryElementCount([long.MaxValue, 2]));
        Assert.Null(SafetensorsDType.F64.TryByteLength([long.MaxValue / 4]));
        Assert.Equal(48L, SafetensorsDType.F64.TryByteLength([2, 3]));
    }
}
