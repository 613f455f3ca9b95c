using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NcclSharp;

namespace NcclSharp.Tests;

public class NcclUniqueIdTests
{
    private static byte[] Pattern()
    {
        var bytes = new byte[NcclUniqueId.Size];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i * 37 + 11);
        }

        return bytes;
    }

    [Fact]
    public void SizeMatchesNcclUniqueIdBytes()
    {
        Assert.Equal(128, NcclUniqueId.Size);
        Assert.Equal(128, Marshal.SizeOf<NcclUniqueIdNative>());
        Assert.Equal(128, Unsafe.SizeOf<NcclUniqueIdNative>());
    }

    [Fact]
    public void RoundTripsThroughBytes()
    {
        var original = Pattern();
        var id = NcclUniqueId.FromBytes(original);

        Assert.Equal(original, id.ToBytes());
        Assert.Equal(id, NcclUniqueId.FromBytes(id.ToBytes()));
    }

    [Fact]
    public void IsImmutableAgainstCallerBuffers()
    {
        var original = Pattern();
        var id = NcclUniqueId.FromBytes(original);
        original[0] ^= 0xFF;
        var exported = id.ToBytes();
        exported[1] ^= 0xFF;

        Assert.Equal(Pattern(), id.ToBytes());
    }

    [Fact]
    public void RoundTripsThroughBase64()
    {
        var id = NcclUniqueId.FromBytes(Pattern());
        var text = id.ToBase64();

        Assert.Equal(Convert.ToBase64String(Pattern()), text);
        Assert.Equal(id, NcclUniqueId.FromBase64(text));
        Assert.Equal(Pattern(), NcclUniqueId.FromBase64(text).ToBytes());
    }

    [Fact]
    public void NativeFormCarriesTheSameBytes()
    {
        var native = NcclUniqueId.FromBytes(Pattern()).ToNative();
        var span = MemoryMarshal.AsBytes(MemoryMarshal.CreateReadOnlySpan(ref native, 1));

        Assert.Equal(Pattern(), span.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(127)]
    [InlineData(129)]
    [InlineData(256)]
    public void RejectsWrongLengths(int length)
    {
        var ex = Assert.Throws<ArgumentException>(() => NcclUniqueId.FromBytes(new byte[length]));

        Assert.Contains("exactly 128 bytes", ex.Message);
        Assert.Contains($"got {length} bytes", ex.Message);
    }

    [Fact]
    public void RejectsBase64OfWrongLength()
    {
        var ex = Assert.Throws<ArgumentException>(() => NcclUniqueId.FromBase64(Convert.ToBase64String(new byte[64])));

        Assert.Contains("got 64 bytes", ex.Message);
    }

    [Fact]
    public void RejectsTextThatIsNotBase64()
    {
        var ex = Assert.Throws<ArgumentException>(() => NcclUniqueId.FromBase64("not base64 at all!"));

        Assert.Contains("base64", ex.Message);
        Assert.IsType<FormatException>(ex.InnerException);
    }

    [Fact]
    public void EqualityIsByContent()
    {
        var a = NcclUniqueId.FromBytes(Pattern());
        var b = NcclUniqueId.FromBytes(Pattern());
        var changed = Pattern();
        changed[127] ^= 1;
        var c = NcclUniqueId.FromBytes(changed);

        Assert.True(a.Equals(b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.Equals(c));
        Assert.False(a.Equals(null));
    }
}
