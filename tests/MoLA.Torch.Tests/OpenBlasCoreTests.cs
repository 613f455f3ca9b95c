using MoLA.Torch.Native;

namespace MoLA.Torch.Tests;

/// <summary>The OpenBLAS kernel family chosen from /proc/cpuinfo before libtorch loads.</summary>
public sealed class OpenBlasCoreTests
{
    private static string Cpu(string vendor, string flags) => $"processor\t: 0\nvendor_id\t: {vendor}\nflags\t\t: {flags}\n\nprocessor\t: 1\n";

    [Theory]
    [InlineData("GenuineIntel", "fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_tile", "SkylakeX")] // Sapphire Rapids
    [InlineData("AuthenticAMD", "fpu sse2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16", "SkylakeX")]          // Zen 4/5
    [InlineData("AuthenticAMD", "fpu sse2 avx avx2 fma", "Zen")]
    [InlineData("GenuineIntel", "fpu sse2 avx avx2 fma", "Haswell")]
    [InlineData("GenuineIntel", "fpu sse2 avx avx2 fma avx512f", "Haswell")]                                                  // partial AVX-512: AVX2 kernels
    [InlineData("GenuineIntel", "fpu sse2 avx", null)]
    public void TheBestFamilyFollowsTheFlags(string vendor, string flags, string? expected)
    {
        Assert.Equal(expected, OpenBlasCore.BestFor(Cpu(vendor, flags)));
    }

    [Fact]
    public void TheLoadedLibraryReportsTheCoreItRuns()
    {
        using var x = torch.ones([4, 4]);
        using var y = x.matmul(x); // libtorch (and OpenBLAS with it) is loaded
        var core = OpenBlasCore.InUse();
        Assert.False(string.IsNullOrEmpty(core));
        if (Environment.GetEnvironmentVariable(OpenBlasCore.Variable) is { Length: > 0 } requested)
            Assert.Equal(requested, core, ignoreCase: true);
    }
}
